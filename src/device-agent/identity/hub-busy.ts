/**
 * The hub (or its broker) said "not now": an HTTP 429 on the join path, or CONNACK 3 "server
 * unavailable" (the hub is starting, or too many joins from this address). Not a failure of
 * this device: it waits `retryAfterMs` when the hub named a time, plus its own jittered backoff.
 */
export class HubBusyError extends Error {
  readonly code = 'hub-busy';
  constructor(
    message: string,
    /** The hub's Retry-After in ms; undefined when it named no time (MQTT 3.1.1 CONNACKs cannot). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}
