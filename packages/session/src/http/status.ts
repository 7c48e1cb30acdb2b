/**
 * The one error → HTTP status table of Tessera. Every adapter, the token guard and the
 * reference service answer a `TesseraError` met during a request with the status listed
 * here, so the same failure never means 409 in one place and 401 in another. A missing or
 * expired session in a request is 401 (authenticate again), a CSRF refusal 403, a store
 * outage 503; misconfiguration and internal failures stay 500.
 */
import { isTesseraError, TesseraError, type TesseraErrorCode } from '../shared/errors.js';

/**
 * The HTTP status of every error code, when the error reaches a client during a request.
 * @example HTTP_STATUS_BY_CODE.ERR_SESSION_NOT_FOUND // 401
 */
export const HTTP_STATUS_BY_CODE: Readonly<Record<TesseraErrorCode, number>> = Object.freeze({
  ERR_CONFIG: 500,
  ERR_KEY_WEAK: 500,
  ERR_INVALID_ARGUMENT: 400,
  ERR_SESSION_LIMIT: 409,
  ERR_SESSION_NOT_FOUND: 401,
  ERR_STORE_UNAVAILABLE: 503,
  ERR_STORE_CLOSED: 503,
  ERR_STORE_CONFLICT: 409,
  ERR_STORE_DATA: 500,
  ERR_COOKIE_TOO_LARGE: 500,
  ERR_TOKEN_MALFORMED: 401,
  ERR_TOKEN_TOO_LARGE: 401,
  ERR_TOKEN_ALG: 401,
  ERR_TOKEN_KEY_UNKNOWN: 401,
  ERR_TOKEN_SIGNATURE: 401,
  ERR_TOKEN_TYPE: 401,
  ERR_TOKEN_CLAIM: 401,
  ERR_TOKEN_EXPIRED: 401,
  ERR_TOKEN_NOT_YET_VALID: 401,
  ERR_TOKEN_REVOKED: 401,
  ERR_DPOP_PROOF: 401,
  ERR_DPOP_MISMATCH: 401,
  ERR_DPOP_STALE: 401,
  ERR_DPOP_REPLAY: 401,
  ERR_DPOP_NONCE: 401,
  ERR_DPOP_BINDING: 401,
  ERR_REFRESH_INVALID: 401,
  ERR_REFRESH_REUSED: 401,
  ERR_SEALED_TOO_LARGE: 500,
  ERR_CSRF: 403,
  ERR_DBSC_MALFORMED: 400,
  ERR_DBSC_PROOF: 401,
  ERR_DBSC_CHALLENGE: 403,
});

/**
 * The HTTP status for an error met during a request: the table's entry for a
 * `TesseraError`, 500 for anything else.
 * @example httpStatusOf(new TesseraError('ERR_CSRF', 'x')) // 403
 */
export function httpStatusOf(error: unknown): number {
  return isTesseraError(error) ? (HTTP_STATUS_BY_CODE[error.code] ?? 500) : 500;
}

/**
 * Adds the status from the table to a lifecycle error, for frameworks whose error handlers
 * read `status`/`statusCode` (Express, Fastify); `expose` lets them show the message for
 * client errors and outages. A foreign error here comes from the store, so it becomes
 * `ERR_STORE_UNAVAILABLE` (503).
 * @example next(withHttpStatus(error));
 */
export function withHttpStatus(error: unknown): TesseraError {
  const tessera =
    error instanceof TesseraError
      ? error
      : new TesseraError('ERR_STORE_UNAVAILABLE', 'session store failed', { cause: error });
  const status = httpStatusOf(tessera);
  Object.assign(tessera, { status, statusCode: status, expose: status < 500 || status === 503 });
  return tessera;
}

/**
 * Rethrows a `TesseraError` with its HTTP status attached ({@link withHttpStatus}) and any
 * other error unchanged: for the adapters' session helpers, whose errors reach the
 * framework's own error handler (400 for a bad argument, 503 for a store outage, not 500).
 * @example await lifecycle.login(userId, options).catch(rethrowWithStatus);
 */
export function rethrowWithStatus(error: unknown): never {
  throw error instanceof TesseraError ? withHttpStatus(error) : error;
}
