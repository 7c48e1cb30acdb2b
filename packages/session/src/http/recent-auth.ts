/**
 * Step-up authentication at the HTTP edge, framework-neutral (ASVS 7.5.1/7.5.3): a sensitive
 * action needs a session whose user signed in (or re-authenticated) within the last
 * `maxAgeSeconds`, measured from the session's `authAt` by the session manager's clock.
 * No signed-in session: 401 `unauthorized`; a sign-in older than that (or of unknown age):
 * 403 `reauth_required`, and the way back is signing in again (`login` rotates the session
 * ID and sets `authAt`). Each adapter's `requireRecentAuth` turns the verdict into a response.
 */
import { TesseraError } from '../shared/errors.js';

/** What the check needs to know about the request's session. */
export interface RecentAuthFacts {
  /** The signed-in user, or null (anonymous or no session). */
  userId: string | null;
  /** When the user last authenticated in this session (ms since the epoch), or null. */
  authAt: number | null;
  /** The session manager's clock now (ms since the epoch). */
  now: number;
}

/** The verdict: go on, or the status and JSON body to answer with. */
export type RecentAuthResult =
  | { ok: true }
  | {
      ok: false;
      /** 401 without a signed-in session, 403 when the sign-in is too old. */
      status: 401 | 403;
      body: { error: 'unauthorized' | 'reauth_required'; message: string };
    };

/** A check configured with its window. */
export interface RecentAuthCheck {
  /** The window in seconds. */
  readonly maxAgeSeconds: number;
  /** Decides one request. */
  check(facts: RecentAuthFacts): RecentAuthResult;
}

/** Headers every refusal carries: an answer about a credential is never cached. */
export const RECENT_AUTH_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'cache-control': 'no-store',
});

/**
 * Creates the check; throws `ERR_CONFIG` unless `maxAgeSeconds` is a positive finite number.
 * @example
 * const recent = createRecentAuthCheck(300);
 * recent.check({ userId: 'alice', authAt: session.authAt, now: Date.now() }); // { ok: true } within 5 minutes
 */
export function createRecentAuthCheck(maxAgeSeconds: number): RecentAuthCheck {
  if (typeof maxAgeSeconds !== 'number' || !Number.isFinite(maxAgeSeconds) || maxAgeSeconds <= 0) {
    throw new TesseraError(
      'ERR_CONFIG',
      'requireRecentAuth: maxAgeSeconds must be a positive finite number of seconds',
    );
  }
  const maxAgeMs = maxAgeSeconds * 1000;
  return {
    maxAgeSeconds,
    check({ userId, authAt, now }) {
      if (userId === null || userId === '') {
        return {
          ok: false,
          status: 401,
          body: { error: 'unauthorized', message: 'sign in to continue' },
        };
      }
      // An unknown sign-in time counts as too old; a clock step backwards does not lock anyone out.
      if (authAt === null || !Number.isFinite(authAt) || now - authAt > maxAgeMs) {
        return {
          ok: false,
          status: 403,
          body: {
            error: 'reauth_required',
            message: 'sign in again to confirm it is you before this action',
          },
        };
      }
      return { ok: true };
    },
  };
}
