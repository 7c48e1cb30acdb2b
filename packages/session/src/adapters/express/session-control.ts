/**
 * `req.sessionControl`: Tessera's helpers for the request's session, kept off `req.session`
 * so every key of the session is the app's data. The same identity shape as the fetch
 * adapter's `ctx.session` (`handle`, `userId`, `login`, `sessions`, `revoke`,
 * `signOutEverywhere`, `setCookieLifetime`). Needs a Tessera store: with an
 * express-session store the methods reject with `ERR_CONFIG`.
 */
import type { StepUpOptions } from '../../core/manager.js';
import type { RequestSessionInfo } from '../../http/request-session.js';
import { rethrowWithStatus } from '../../http/status.js';

/** Options of `req.sessionControl.login`. */
export interface ExpressLoginOptions {
  /**
   * Keep the cookie across browser restarts ("remember me").
   * @defaultValue false
   */
  remember?: boolean;
  /**
   * Lifetime of the remembered cookie in seconds (capped by an absolute timeout, if configured).
   * @defaultValue the cookie's `maxAge`, else the session's remaining absolute lifetime
   */
  rememberSeconds?: number;
  /**
   * How strongly the user authenticated: a positive integer on the app's ladder (e.g. 1 = a
   * password, 2 = a second factor), what `requireRecentAuth(maxAge, { level })` checks.
   * @defaultValue 1
   */
  level?: number;
  /**
   * The methods used, like OpenID Connect's `amr` (e.g. `['pwd', 'otp']`).
   * @defaultValue [] (none recorded)
   */
  methods?: string[];
}

/** Tessera's helpers for one request's session. */
export interface SessionControl {
  /** The public handle (stable for the session's life, safe to show and log); null when none. */
  readonly handle: string | null;
  /** The signed-in user, or null. */
  readonly userId: string | null;
  /**
   * When the user last authenticated in this session (ms since the epoch; set by `login`),
   * or null: what `requireRecentAuth` compares with the manager's clock.
   */
  readonly authAt: number | null;
  /**
   * How strongly the user authenticated at `authAt` (set by `login` and `stepUp`; 1 when
   * they named no level), or null when nobody is signed in.
   */
  readonly authLevel: number | null;
  /** The authentication methods recorded with the level (e.g. `['pwd', 'otp']`), or []. */
  readonly authMethods: string[];
  /** The session manager's clock (ms since the epoch; its `now` option). */
  now(): number;
  /**
   * Signs `userId` in with a new session ID (data kept), so a session fixed by an attacker
   * before login is worthless. `req.session` and `req.sessionID` follow.
   */
  login(userId: string, options?: ExpressLoginOptions): Promise<void>;
  /**
   * Records a new authentication of the signed-in user (a second factor, a password typed
   * again): `authAt` becomes now, the level and methods those given, and the session gets a
   * new ID with its data kept (`req.session` and `req.sessionID` follow). `ERR_INVALID_ARGUMENT` without a signed-in session or with a
   * bad level.
   */
  stepUp(options: StepUpOptions): Promise<void>;
  /** The signed-in user's sessions (devices), this one flagged `current`. */
  sessions(): Promise<RequestSessionInfo[]>;
  /** Ends one of the signed-in user's sessions by handle. */
  revoke(handle: string): Promise<boolean>;
  /** Ends the user's sessions: all, or all but this one with `keepCurrent`. */
  signOutEverywhere(options?: { keepCurrent?: boolean }): Promise<number>;
}

/** What the helpers need from the middleware's per-request controller. */
export interface SessionControlBackend {
  readonly handle: string | null;
  readonly userId: string | null;
  readonly authAt: number | null;
  readonly authLevel: number | null;
  readonly authMethods: string[];
  now(): number;
  login(userId: string, options: ExpressLoginOptions): Promise<void>;
  stepUp(options: StepUpOptions): Promise<void>;
  sessions(): Promise<RequestSessionInfo[]>;
  revoke(handle: string): Promise<boolean>;
  signOutEverywhere(options: { keepCurrent?: boolean }): Promise<number>;
}

/**
 * The `req.sessionControl` of one request.
 * @example
 * await req.sessionControl.login(user.id, { remember: true });
 * res.json(await req.sessionControl.sessions());
 */
export function createSessionControl(backend: SessionControlBackend): SessionControl {
  return {
    get handle() {
      return backend.handle;
    },
    get userId() {
      return backend.userId;
    },
    get authAt() {
      return backend.authAt;
    },
    get authLevel() {
      return backend.authLevel;
    },
    get authMethods() {
      return backend.authMethods;
    },
    now: () => backend.now(),
    login: (userId, options = {}) => backend.login(userId, options).catch(rethrowWithStatus),
    stepUp: (options) => backend.stepUp(options).catch(rethrowWithStatus),
    sessions: () => backend.sessions().catch(rethrowWithStatus),
    revoke: (handle) => backend.revoke(handle).catch(rethrowWithStatus),
    signOutEverywhere: (options = {}) =>
      backend.signOutEverywhere(options).catch(rethrowWithStatus),
  };
}
