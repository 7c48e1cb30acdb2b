/**
 * Step-up authentication: sensitive actions (signing out everywhere, ending another session,
 * deleting the account) need a sign-in within the last `reauthMaxAge` seconds. Otherwise the
 * answer is 403 `reauth_required`; signing in again (which gives the session a new ID and a
 * fresh sign-in time) is the way back.
 */
import { ApiError } from '../errors.js';

/** The error code of a step-up refusal. */
export const REAUTH_REQUIRED = 'reauth_required';

/**
 * Throws 403 `reauth_required` unless the session signed in within `maxAgeSeconds`.
 * @example requireRecentAuth(current.authAt, config.reauthMaxAge, Date.now());
 */
export function requireRecentAuth(authAt: number | null, maxAgeSeconds: number, now: number): void {
  if (authAt !== null && now - authAt <= maxAgeSeconds * 1000) return;
  throw new ApiError(
    403,
    REAUTH_REQUIRED,
    'This needs a recent sign-in: sign in again (POST /login, or POST /api/token for token clients) and retry.',
  );
}
