/**
 * `request.sessionControl`: Tessera's own helpers beside the session data (the data
 * namespace, `request.session`, is the app's): the public handle, the signed-in user,
 * login with a new ID, the device list, revoke, sign-out-everywhere. They need a Tessera
 * store (a user index and handles); with a @fastify/session store they throw `ERR_CONFIG`.
 */
import type { StepUpOptions } from '../../core/manager.js';
import type { RequestSession, RequestSessionInfo } from '../../http/request-session.js';
import { rethrowWithStatus } from '../../http/status.js';

/** Options of `request.sessionControl.login`. */
export interface FastifyLoginOptions {
  /**
   * Keep the cookie across browser restarts ("remember me").
   * @defaultValue false
   */
  remember?: boolean;
  /**
   * Lifetime of the remembered cookie in seconds (capped by the absolute lifetime).
   * @defaultValue the session's remaining absolute lifetime
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

/** Tessera's helpers for the request's session. */
export interface FastifySessionControl {
  /** The public handle (stable for the session's life, safe to show and log), or null. */
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
  /** Signs `userId` in with a new session ID (data kept); the old ID stops working. */
  login(userId: string, options?: FastifyLoginOptions): Promise<void>;
  /**
   * Records a new authentication of the signed-in user (a second factor, a password typed
   * again): `authAt` becomes now, the level and methods those given, and the session gets a
   * new ID with its data kept. `ERR_INVALID_ARGUMENT` without a signed-in session or with a
   * bad level.
   */
  stepUp(options: StepUpOptions): Promise<void>;
  /** The signed-in user's sessions, this one flagged `current`. */
  sessions(): Promise<RequestSessionInfo[]>;
  /** Ends one of the signed-in user's sessions by public handle. */
  revoke(handle: string): Promise<boolean>;
  /** Ends the user's sessions: all of them, or all but this one with `keepCurrent`. */
  signOutEverywhere(options?: { keepCurrent?: boolean }): Promise<number>;
}

/** What the plugin does when the control changes the request's session. */
export interface SessionControlHooks {
  /** The current session was ended (the plugin sets `request.session` to null). */
  onEnded(): void;
  /** A login gave the session a new ID (its cookie must be sent). */
  onLogin(): void;
}

class SessionControl implements FastifySessionControl {
  readonly #lifecycle: RequestSession;
  readonly #hooks: SessionControlHooks;

  constructor(lifecycle: RequestSession, hooks: SessionControlHooks) {
    this.#lifecycle = lifecycle;
    this.#hooks = hooks;
  }

  get handle(): string | null {
    return this.#lifecycle.current?.handle || null;
  }

  get userId(): string | null {
    return this.#lifecycle.current?.userId ?? null;
  }

  get authAt(): number | null {
    return this.#lifecycle.current?.authAt ?? null;
  }

  get authLevel(): number | null {
    return this.#lifecycle.current?.authLevel ?? null;
  }

  get authMethods(): string[] {
    return this.#lifecycle.current?.authMethods ?? [];
  }

  now(): number {
    return this.#lifecycle.now();
  }

  async login(userId: string, options: FastifyLoginOptions = {}): Promise<void> {
    await this.#lifecycle.login(userId, options).catch(rethrowWithStatus);
    this.#hooks.onLogin();
  }

  async stepUp(options: StepUpOptions): Promise<void> {
    await this.#lifecycle.stepUp(options).catch(rethrowWithStatus);
    this.#hooks.onLogin();
  }

  sessions(): Promise<RequestSessionInfo[]> {
    return this.#lifecycle.sessions().catch(rethrowWithStatus);
  }

  async revoke(handle: string): Promise<boolean> {
    const revoked = await this.#lifecycle.revoke(handle).catch(rethrowWithStatus);
    if (this.#lifecycle.destroyed) this.#hooks.onEnded();
    return revoked;
  }

  async signOutEverywhere(options: { keepCurrent?: boolean } = {}): Promise<number> {
    const count = await this.#lifecycle.signOutEverywhere(options).catch(rethrowWithStatus);
    if (this.#lifecycle.destroyed) this.#hooks.onEnded();
    return count;
  }
}

/**
 * Creates `request.sessionControl` for one request.
 * @example createSessionControl(lifecycle, { onEnded: () => { request.session = null }, onLogin })
 */
export function createSessionControl(
  lifecycle: RequestSession,
  hooks: SessionControlHooks,
): FastifySessionControl {
  return new SessionControl(lifecycle, hooks);
}
