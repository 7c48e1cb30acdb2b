/**
 * Step-up authentication: sensitive actions (signing out everywhere, ending another session,
 * deleting the account) need a sign-in within the last `reauthMaxAge` seconds. The decision
 * is the library's own (`createRecentAuthCheck` from `tessera-session`, the check behind
 * every adapter's `requireRecentAuth`), so the service and apps built on the library refuse
 * the same sessions; this module only turns a refusal into the service's error, 403
 * `reauth_required`, whose message names the way back: signing in again (which gives the
 * session a new ID and a fresh sign-in time).
 */
import { createRecentAuthCheck, type RecentAuthCheck } from 'tessera-session';
import { ApiError } from '../errors.js';

/** The error code of a step-up refusal. */
export const REAUTH_REQUIRED = 'reauth_required';

/** What the check needs to know about the caller's session. */
export interface StepUpFacts {
  userId: string | null;
  authAt: number | null;
  /** The session's authentication level (null: not recorded, counts as 1). */
  authLevel: number | null;
}

const checks = new Map<number, RecentAuthCheck>();

function checkFor(maxAgeSeconds: number): RecentAuthCheck {
  let check = checks.get(maxAgeSeconds);
  if (check === undefined) {
    check = createRecentAuthCheck(maxAgeSeconds);
    checks.set(maxAgeSeconds, check);
  }
  return check;
}

/**
 * Throws 403 `reauth_required` unless the session signed in within `maxAgeSeconds` (401
 * `unauthorized` when nobody is signed in).
 * @example requireRecentAuth(current, config.reauthMaxAge, deps.now());
 */
export function requireRecentAuth(facts: StepUpFacts, maxAgeSeconds: number, now: number): void {
  const result = checkFor(maxAgeSeconds).check({ ...facts, now });
  if (result.ok) return;
  if (result.status === 401) throw new ApiError(401, 'unauthorized', result.body.message);
  throw new ApiError(
    403,
    REAUTH_REQUIRED,
    'This needs a recent sign-in: sign in again (POST /login, or POST /api/token for token clients) and retry.',
  );
}
