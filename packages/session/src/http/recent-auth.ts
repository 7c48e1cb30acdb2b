/**
 * Step-up authentication at the HTTP edge, framework-neutral (ASVS 7.5.1/7.5.3): a sensitive
 * action needs a session whose user signed in (or re-authenticated) within the last
 * `maxAgeSeconds`, measured from the session's `authAt` by the session manager's clock.
 * No signed-in session: 401 `unauthorized`; a sign-in older than that (or of unknown age):
 * 403 `reauth_required`, and the way back is signing in again (`login` rotates the session
 * ID and sets `authAt`). With a `level`, the session's authentication level (ASVS 5.0 7.5,
 * `session.authLevel`, set by `login` and `stepUp`) must reach it too, else 403
 * `reauth_required` names the level (`"level": 2`) so the client knows which factor to ask for.
 * Each adapter's `requireRecentAuth` turns the verdict into a response.
 */
import { TesseraError } from '../shared/errors.js';

/** What the check needs to know about the request's session. */
export interface RecentAuthFacts {
  /** The signed-in user, or null (anonymous or no session). */
  userId: string | null;
  /** When the user last authenticated in this session (ms since the epoch), or null. */
  authAt: number | null;
  /** The session's authentication level (null or absent: unknown, counts as 1 when signed in). */
  authLevel?: number | null;
  /** The session manager's clock now (ms since the epoch). */
  now: number;
}

/** Options of {@link createRecentAuthCheck} and every adapter's `requireRecentAuth`. */
export interface RecentAuthOptions {
  /**
   * The authentication level the session must have reached (a positive integer on the
   * app's ladder, e.g. 2 = a second factor), at its sign-in or step-up within the window.
   * @defaultValue 1 (any signed-in session)
   */
  level?: number;
}

/** The JSON body of a refusal. */
export interface RecentAuthRefusalBody {
  error: 'unauthorized' | 'reauth_required';
  message: string;
  /** The level the action needs (in a `reauth_required` answer of a check with a level). */
  level?: number;
}

/** The verdict: go on, or the status and JSON body to answer with. */
export type RecentAuthResult =
  | { ok: true }
  | {
      ok: false;
      /** 401 without a signed-in session, 403 when the sign-in is too old. */
      status: 401 | 403;
      body: RecentAuthRefusalBody;
    };

/** A check configured with its window. */
export interface RecentAuthCheck {
  /** The window in seconds. */
  readonly maxAgeSeconds: number;
  /** The level required (1 unless configured). */
  readonly level: number;
  /** Decides one request. */
  check(facts: RecentAuthFacts): RecentAuthResult;
}

/** Headers every refusal carries: an answer about a credential is never cached. */
export const RECENT_AUTH_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'cache-control': 'no-store',
});

/**
 * Creates the check; throws `ERR_CONFIG` unless `maxAgeSeconds` is a positive finite number
 * and `level`, when given, a positive integer.
 * @example
 * const recent = createRecentAuthCheck(300, { level: 2 });
 * recent.check({ userId: 'alice', authAt: session.authAt, authLevel: session.authLevel, now: Date.now() });
 * // { ok: true } within 5 minutes of a second factor
 */
export function createRecentAuthCheck(
  maxAgeSeconds: number,
  options: RecentAuthOptions = {},
): RecentAuthCheck {
  const level = requiredLevel(options);
  if (typeof maxAgeSeconds !== 'number' || !Number.isFinite(maxAgeSeconds) || maxAgeSeconds <= 0) {
    throw new TesseraError(
      'ERR_CONFIG',
      'requireRecentAuth: maxAgeSeconds must be a positive finite number of seconds',
    );
  }
  const maxAgeMs = maxAgeSeconds * 1000;
  return {
    maxAgeSeconds,
    level,
    check({ userId, authAt, authLevel, now }) {
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
            ...(level > 1 ? { level } : {}),
          },
        };
      }
      // A signed-in session that records no level (stored before levels existed) is level 1.
      const reached = typeof authLevel === 'number' && Number.isFinite(authLevel) ? authLevel : 1;
      if (reached < level) {
        return {
          ok: false,
          status: 403,
          body: {
            error: 'reauth_required',
            message: `this action needs a stronger sign-in (level ${level}); confirm it is you with that level and retry`,
            level,
          },
        };
      }
      return { ok: true };
    },
  };
}

function requiredLevel(options: RecentAuthOptions): number {
  if (options === null || typeof options !== 'object') {
    throw new TesseraError(
      'ERR_CONFIG',
      'requireRecentAuth: options must be an object, e.g. { level: 2 }',
    );
  }
  for (const name of Object.keys(options)) {
    if (name !== 'level') {
      throw new TesseraError(
        'ERR_CONFIG',
        `requireRecentAuth: unknown option '${name}' (only 'level')`,
      );
    }
  }
  const level = options.level === undefined ? 1 : options.level;
  if (typeof level !== 'number' || !Number.isSafeInteger(level) || level < 1) {
    throw new TesseraError(
      'ERR_CONFIG',
      'requireRecentAuth: level must be a positive integer (the authentication level the action needs)',
    );
  }
  return level;
}
