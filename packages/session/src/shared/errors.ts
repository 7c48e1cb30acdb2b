/**
 * Tessera's one error class. Every failure a caller may want to branch on carries a stable
 * string `code`; the list below is the whole vocabulary and `docs/errors.md` documents each
 * code (a test keeps the two in step).
 */

export const ERROR_CODES = [
  // configuration and misuse
  'ERR_CONFIG',
  'ERR_KEY_WEAK',
  'ERR_INVALID_ARGUMENT',
  // sessions
  'ERR_SESSION_LIMIT',
  'ERR_SESSION_NOT_FOUND',
  // stores
  'ERR_STORE_UNAVAILABLE',
  'ERR_STORE_CLOSED',
  'ERR_STORE_CONFLICT',
  'ERR_STORE_DATA',
  // cookies
  'ERR_COOKIE_TOO_LARGE',
  // access tokens (tessera-session/tokens)
  'ERR_TOKEN_MALFORMED',
  'ERR_TOKEN_TOO_LARGE',
  'ERR_TOKEN_ALG',
  'ERR_TOKEN_KEY_UNKNOWN',
  'ERR_TOKEN_SIGNATURE',
  'ERR_TOKEN_TYPE',
  'ERR_TOKEN_CLAIM',
  'ERR_TOKEN_EXPIRED',
  'ERR_TOKEN_NOT_YET_VALID',
  'ERR_TOKEN_REVOKED',
  // DPoP proofs and sender-constrained tokens (RFC 9449)
  'ERR_DPOP_PROOF',
  'ERR_DPOP_MISMATCH',
  'ERR_DPOP_STALE',
  'ERR_DPOP_REPLAY',
  'ERR_DPOP_NONCE',
  'ERR_DPOP_BINDING',
  // refresh tokens and sealed cookies
  'ERR_REFRESH_INVALID',
  'ERR_REFRESH_REUSED',
  'ERR_SEALED_TOO_LARGE',
  // CSRF
  'ERR_CSRF',
  // device-bound sessions (DBSC)
  'ERR_DBSC_MALFORMED',
  'ERR_DBSC_PROOF',
  'ERR_DBSC_CHALLENGE',
] as const;

export type TesseraErrorCode = (typeof ERROR_CODES)[number];

/**
 * @example
 * try { await tokens.verify(token) } catch (e) {
 *   if (e instanceof TesseraError && e.code === 'ERR_TOKEN_EXPIRED') refresh();
 * }
 */
export class TesseraError extends Error {
  readonly code: TesseraErrorCode;

  constructor(code: TesseraErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** True when `error` is a TesseraError, optionally with the given code. */
export function isTesseraError(error: unknown, code?: TesseraErrorCode): error is TesseraError {
  return error instanceof TesseraError && (code === undefined || error.code === code);
}
