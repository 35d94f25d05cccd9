// The rollout controller's typed refusals (the API maps each to its status).

/** A refused rollout request, with the API status it maps to. */
export class RolloutRequestError extends Error {
  constructor(
    readonly code: 'ReleaseNotFound' | 'RolloutNotFound' | 'RolloutConflict' | 'RolloutCommandRefused' | 'RolloutImmutable',
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
  }
}
