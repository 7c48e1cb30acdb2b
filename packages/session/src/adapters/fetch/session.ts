/**
 * `ctx.session` of the fetch adapter: synchronous data access (`get`, `set`, `delete`) over
 * the session the wrapper loaded before the handler ran, and the async operations
 * (`regenerate`, `login`, `destroy`, `reload`, `save`, device list, sign-out-everywhere),
 * all delegated to the core request lifecycle.
 */

import type { StepUpOptions } from '../../core/manager.js';
import type { Session } from '../../core/session.js';
import type { RequestSession, RequestSessionInfo } from '../../http/request-session.js';
import { TesseraError } from '../../shared/errors.js';

/** Options of {@link FetchSession.login}. */
export interface FetchLoginOptions {
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

/** The session of one request, as the handler sees it. */
export interface FetchSession {
  /** The public handle (stable for the session's life, safe to show and log); null after destroy. */
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
  /** True while the session is not in the store (nothing saved yet). */
  readonly isNew: boolean;
  /** True after `destroy()` (or after this session was revoked) in this request. */
  readonly destroyed: boolean;
  get<T = unknown>(key: string): T | undefined;
  has(key: string): boolean;
  /** Sets a key (JSON-serialisable value); `undefined` removes it. */
  set(key: string, value: unknown): void;
  delete(key: string): void;
  keys(): string[];
  /** The data as a plain object (a copy). */
  toJSON(): Record<string, unknown>;
  /** A new session ID for the same data (empty after `destroy()`); the old ID stops working. */
  regenerate(): Promise<void>;
  /** Signs `userId` in with a new ID (data kept); the old ID stops working. */
  login(userId: string, options?: FetchLoginOptions): Promise<void>;
  /**
   * Records a new authentication of the signed-in user (a second factor, a password typed
   * again): `authAt` becomes now, the level and methods those given, and the session gets a
   * new ID with its data kept. `ERR_INVALID_ARGUMENT` without a signed-in session or with a
   * bad level.
   */
  stepUp(options: StepUpOptions): Promise<void>;
  /** Ends the session and clears the cookie. */
  destroy(): Promise<void>;
  /** Re-reads the data from the store; false when the session is not stored. */
  reload(): Promise<boolean>;
  /** Writes pending changes now (they are written at the end of the request anyway). */
  save(): Promise<void>;
  /** Slides the session's expiry in the store at the end of the request. */
  touch(): void;
  /** Cookie lifetime in seconds for this session (null: a browser-session cookie). */
  setCookieLifetime(seconds: number | null): void;
  /** The signed-in user's sessions, this one flagged `current`. */
  sessions(): Promise<RequestSessionInfo[]>;
  /** Ends one of the signed-in user's sessions by public handle. */
  revoke(handle: string): Promise<boolean>;
  /** Ends the user's sessions: all, or all but this one with `keepCurrent`. */
  signOutEverywhere(options?: { keepCurrent?: boolean }): Promise<number>;
}

class LifecycleSession implements FetchSession {
  readonly #lifecycle: RequestSession;
  #snapshots: Map<string, string> | null = null;
  #snapshotsOf: Session | null = null;

  constructor(lifecycle: RequestSession) {
    this.#lifecycle = lifecycle;
  }

  #current(): Session {
    const session = this.#lifecycle.current;
    if (session === null) {
      throw new TesseraError(
        'ERR_INVALID_ARGUMENT',
        'ctx.session was destroyed in this request; answer the request, the next one starts a new session',
      );
    }
    return session;
  }

  get handle(): string | null {
    return this.#lifecycle.current?.handle ?? null;
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

  get isNew(): boolean {
    return this.#lifecycle.current?.isNew ?? true;
  }

  get destroyed(): boolean {
    return this.#lifecycle.destroyed;
  }

  get<T = unknown>(key: string): T | undefined {
    const session = this.#lifecycle.current;
    if (session === null) return undefined;
    const value = session.get<T>(key);
    if (value !== null && typeof value === 'object') this.#remember(session, key, value);
    return value;
  }

  #remember(session: Session, key: string, value: object): void {
    if (this.#snapshotsOf !== session || this.#snapshots === null) {
      this.#snapshots = new Map();
      this.#snapshotsOf = session;
    }
    if (!this.#snapshots.has(key)) this.#snapshots.set(key, JSON.stringify(value));
  }

  has(key: string): boolean {
    return this.#lifecycle.current?.has(key) ?? false;
  }

  set(key: string, value: unknown): void {
    this.#current().set(key, value);
  }

  delete(key: string): void {
    this.#current().delete(key);
  }

  keys(): string[] {
    return this.#lifecycle.current?.keys() ?? [];
  }

  toJSON(): Record<string, unknown> {
    return this.#lifecycle.current?.toJSON() ?? {};
  }

  async regenerate(): Promise<void> {
    // After destroy, start empty: the ended session's data must not come back under a new ID.
    await this.#lifecycle.regenerate(this.#lifecycle.destroyed ? { fresh: true } : {});
  }

  async login(userId: string, options: FetchLoginOptions = {}): Promise<void> {
    await this.#lifecycle.login(userId, options);
  }

  async stepUp(options: StepUpOptions): Promise<void> {
    await this.#lifecycle.stepUp(options);
  }

  destroy(): Promise<void> {
    return this.#lifecycle.destroy();
  }

  reload(): Promise<boolean> {
    this.#snapshots = null;
    return this.#lifecycle.reload();
  }

  save(): Promise<void> {
    this.flushInPlaceChanges();
    return this.#lifecycle.save();
  }

  touch(): void {
    this.#lifecycle.touch();
  }

  setCookieLifetime(seconds: number | null): void {
    if (seconds !== null && (!Number.isInteger(seconds) || seconds <= 0)) {
      throw new TesseraError(
        'ERR_INVALID_ARGUMENT',
        'setCookieLifetime: seconds must be a positive whole number, or null for a browser-session cookie',
      );
    }
    this.#lifecycle.setCookieLifetime(seconds);
  }

  sessions(): Promise<RequestSessionInfo[]> {
    return this.#lifecycle.sessions();
  }

  revoke(handle: string): Promise<boolean> {
    return this.#lifecycle.revoke(handle);
  }

  signOutEverywhere(options: { keepCurrent?: boolean } = {}): Promise<number> {
    return this.#lifecycle.signOutEverywhere(options);
  }

  /** Writes back object values that were read and then changed in place. */
  flushInPlaceChanges(): void {
    const session = this.#lifecycle.current;
    if (this.#snapshots === null || session === null || session !== this.#snapshotsOf) return;
    for (const [key, before] of this.#snapshots) {
      if (!session.has(key)) continue;
      const value = session.get(key);
      if (JSON.stringify(value) !== before) session.set(key, value);
    }
    this.#snapshots = null;
  }
}

/** The session object plus the hook the wrapper calls before commit. */
export interface FetchSessionControl {
  readonly session: FetchSession;
  flushInPlaceChanges(): void;
}

/**
 * Creates `ctx.session` for one request.
 * @example const { session, flushInPlaceChanges } = createFetchSession(lifecycle);
 */
export function createFetchSession(lifecycle: RequestSession): FetchSessionControl {
  const session = new LifecycleSession(lifecycle);
  return { session, flushInPlaceChanges: () => session.flushInPlaceChanges() };
}
