/** An error the API turns into a status code and a one-line message for the CLI. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (what: string): HttpError => new HttpError(404, 'NotFound', `${what} not found`);
export const badRequest = (message: string): HttpError => new HttpError(400, 'BadRequest', message);
