// The one error type of the client: every failure the service reports arrives as a HutchError
// carrying the service's error code ("not_found", "state", …, the Errc names of
// server/openapi.json) and its message, plus the HTTP status when there was one.
import type { components } from './generated/openapi.js';

export type ErrorCode = components['schemas']['Error']['error']['code'] | 'protocol' | 'aborted';

export class HutchError extends Error {
  override readonly name = 'HutchError';
  constructor(
    /** The service's error code, or 'protocol' for an answer the client could not understand. */
    readonly code: ErrorCode,
    message: string,
    /** The HTTP status of the answer, when the error came from one. */
    readonly status?: number,
  ) {
    super(message);
  }
}

// The error a body of an error answer stands for; `what` names the request for messages that
// are not the service's own.
export function errorFromBody(status: number, body: string, what: string): HutchError {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: string; message?: string } };
    if (parsed.error?.code && typeof parsed.error.message === 'string')
      return new HutchError(parsed.error.code as ErrorCode, parsed.error.message, status);
  } catch {
    // not JSON: fall through
  }
  return new HutchError('protocol', `${what}: HTTP ${status}: ${body.slice(0, 200)}`, status);
}

export function abortError(what: string): HutchError {
  return new HutchError('aborted', `${what}: aborted`);
}
