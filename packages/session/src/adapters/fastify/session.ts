/**
 * `request.session` of the Fastify plugin: the API of @fastify/session (`get`, `set`, plain
 * property access, `regenerate`, `destroy`, `reload`, `save`, `touch`, `sessionId`,
 * `cookie`, `options`, `isModified`, `isSaved`; promise and callback forms) over Tessera's
 * request lifecycle, plus Tessera's own helpers (`login`, `sessions`, `revoke`,
 * `signOutEverywhere`). It holds no request object: the stored record is plain data.
 */

import type { Session } from '../../core/session.js';
import type {
  HttpExchange,
  RequestSession,
  RequestSessionInfo,
} from '../../http/request-session.js';
import { TesseraError } from '../../shared/errors.js';

/** Node-style callback of the session methods. */
export type FastifySessionCallback = (error?: unknown) => void;

/** Options of `request.session.login`. */
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
}

/** What `request.session.cookie` reports about this request's session cookie. */
export interface FastifySessionCookie {
  /** Configured lifetime in milliseconds, or null for a browser-session cookie. */
  readonly originalMaxAge: number | null;
  /** Milliseconds left of a persistent cookie, or null. */
  readonly maxAge: number | null;
  /** Expiry of a persistent cookie, or null. */
  readonly expires: Date | null;
  readonly path: string;
  readonly domain: string | undefined;
  readonly httpOnly: boolean;
  readonly secure: boolean;
  readonly sameSite: 'lax' | 'strict' | 'none' | undefined;
}

/** The cookie settings the session object reports (resolved once by the plugin). */
export interface CookieSettings {
  path: string;
  domain: string | undefined;
  httpOnly: boolean;
  sameSite: 'lax' | 'strict' | 'none' | undefined;
  /** Default persistent lifetime in seconds, or null. */
  maxAgeSeconds: number | null;
  /** Whether the cookie carries `Secure` on this request. */
  isSecure: (exchange: HttpExchange) => boolean;
  now: () => number;
}

/**
 * The `request.session` object. Data keys are readable and writable as properties
 * (`request.session.views`); keys that collide with a method name are reached with
 * `get`/`set`. After `destroy()` the plugin sets `request.session` to null, as
 * @fastify/session does.
 */
export interface FastifySession {
  /** Data keys as properties. */
  [key: string]: unknown;
  /** The secret session ID (never log it or send it to the browser in a body). */
  readonly sessionId: string;
  /** The public handle: stable for the session's life, safe to show and to log. */
  readonly handle: string;
  /** The signed-in user, or null. */
  readonly userId: string | null;
  readonly cookie: FastifySessionCookie;
  get<T = unknown>(key: string): T | undefined;
  set(key: string, value: unknown): void;
  /** Removes a key (also `delete request.session.key`). */
  delete(key: string): void;
  /** Per-request cookie settings; Tessera supports `maxAge` (milliseconds, or null). */
  options(options: { maxAge?: number | null }): void;
  /** Slides the session's expiry in the store at the end of the request. */
  touch(): void;
  regenerate(): Promise<void>;
  regenerate(keep: string[]): Promise<void>;
  regenerate(callback: FastifySessionCallback): void;
  regenerate(keep: string[], callback: FastifySessionCallback): void;
  destroy(): Promise<void>;
  destroy(callback: FastifySessionCallback): void;
  reload(): Promise<void>;
  reload(callback: FastifySessionCallback): void;
  save(): Promise<void>;
  save(callback: FastifySessionCallback): void;
  /** True when this request changed the session. */
  isModified(): boolean;
  /** True when the session is in the store. */
  isSaved(): boolean;
  /** Signs `userId` in with a new session ID (data kept); the old ID stops working. */
  login(userId: string, options?: FastifyLoginOptions): Promise<void>;
  /** The signed-in user's sessions, this one flagged `current`. */
  sessions(): Promise<RequestSessionInfo[]>;
  /** Ends one of the signed-in user's sessions by public handle. */
  revoke(handle: string): Promise<boolean>;
  /** Ends the user's sessions: all of them, or all but this one with `keepCurrent`. */
  signOutEverywhere(options?: { keepCurrent?: boolean }): Promise<number>;
  /** The data as a plain object. */
  toJSON(): Record<string, unknown>;
}

const STATE = Symbol('tessera.fastify.session');

interface SessionState {
  lifecycle: RequestSession;
  cookie: CookieSettings;
  /** Sets `request.session` to null after destroy (done by the plugin). */
  onDestroy: () => void;
  /** JSON of object values as first read, to catch in-place changes (`session.cart.push(x)`). */
  snapshots: Map<string, string> | null;
  snapshotsOf: Session | null;
}

function stateOf(target: SessionObject): SessionState {
  return target[STATE];
}

function current(state: SessionState): Session {
  const session = state.lifecycle.current;
  if (session === null) {
    throw new TesseraError(
      'ERR_INVALID_ARGUMENT',
      'request.session was destroyed in this request; call request.session.regenerate() before using it again',
    );
  }
  return session;
}

function remember(state: SessionState, session: Session, key: string, value: unknown): void {
  if (value === null || typeof value !== 'object') return;
  if (state.snapshotsOf !== session) {
    state.snapshots = new Map();
    state.snapshotsOf = session;
  }
  const snapshots = state.snapshots as Map<string, string>;
  if (!snapshots.has(key)) snapshots.set(key, JSON.stringify(value));
}

function settle<T>(
  work: Promise<T>,
  callback: FastifySessionCallback | undefined,
): Promise<T> | undefined {
  if (callback === undefined) return work;
  work.then(
    () => callback(),
    (error: unknown) => callback(error),
  );
  return undefined;
}

/** The methods behind the proxy; data lives in the lifecycle's Session. */
class SessionObject {
  [STATE]: SessionState;

  constructor(state: SessionState) {
    this[STATE] = state;
  }

  get sessionId(): string {
    return current(stateOf(this)).id;
  }

  get handle(): string {
    return current(stateOf(this)).handle;
  }

  get userId(): string | null {
    return stateOf(this).lifecycle.current?.userId ?? null;
  }

  get cookie(): FastifySessionCookie {
    const { cookie, lifecycle } = stateOf(this);
    const own = lifecycle.current?.meta.cookieMaxAge;
    const seconds = typeof own === 'number' ? own : own === null ? null : cookie.maxAgeSeconds;
    const expires = seconds === null ? null : new Date(cookie.now() + seconds * 1000);
    return {
      originalMaxAge: seconds === null ? null : seconds * 1000,
      maxAge: seconds === null ? null : seconds * 1000,
      expires,
      path: cookie.path,
      domain: cookie.domain,
      httpOnly: cookie.httpOnly,
      secure: cookie.isSecure(lifecycle.exchange),
      sameSite: cookie.sameSite,
    };
  }

  get<T = unknown>(key: string): T | undefined {
    const state = stateOf(this);
    const session = state.lifecycle.current;
    if (session === null) return undefined;
    const value = session.get<T>(key);
    remember(state, session, key, value);
    return value;
  }

  set(key: string, value: unknown): void {
    current(stateOf(this)).set(key, value);
  }

  delete(key: string): void {
    current(stateOf(this)).delete(key);
  }

  options(options: { maxAge?: number | null }): void {
    for (const name of Object.keys(options ?? {})) {
      if (name !== 'maxAge') {
        throw new TesseraError(
          'ERR_INVALID_ARGUMENT',
          `request.session.options: only maxAge can change per request (got '${name}'); set other cookie attributes in the plugin's cookie option`,
        );
      }
    }
    const maxAge = options.maxAge;
    if (maxAge === undefined) return;
    if (maxAge !== null && (!Number.isFinite(maxAge) || maxAge <= 0)) {
      throw new TesseraError(
        'ERR_INVALID_ARGUMENT',
        'request.session.options: maxAge must be a positive number of milliseconds, or null for a browser-session cookie',
      );
    }
    stateOf(this).lifecycle.setCookieLifetime(maxAge === null ? null : Math.ceil(maxAge / 1000));
  }

  touch(): void {
    stateOf(this).lifecycle.touch();
  }

  regenerate(
    keep?: string[] | FastifySessionCallback,
    callback?: FastifySessionCallback,
  ): Promise<void> | undefined {
    const fields = Array.isArray(keep) ? keep : [];
    const cb = typeof keep === 'function' ? keep : callback;
    const state = stateOf(this);
    const work = (async () => {
      const before = state.lifecycle.current;
      const kept: Array<[string, unknown]> = [];
      for (const name of fields) {
        if (before?.has(name)) kept.push([name, before.get(name)]);
      }
      const next = await state.lifecycle.regenerate({ fresh: true });
      for (const [name, value] of kept) next.set(name, value);
    })();
    return settle(work, cb);
  }

  destroy(callback?: FastifySessionCallback): Promise<void> | undefined {
    const state = stateOf(this);
    const work = state.lifecycle.destroy().then(() => state.onDestroy());
    return settle(work, callback);
  }

  reload(callback?: FastifySessionCallback): Promise<void> | undefined {
    const state = stateOf(this);
    const work = state.lifecycle.reload().then((found) => {
      if (!found) {
        throw new TesseraError(
          'ERR_SESSION_NOT_FOUND',
          'request.session.reload: the session is not in the store (new, expired or revoked)',
        );
      }
      state.snapshots = null;
    });
    return settle(work, callback);
  }

  save(callback?: FastifySessionCallback): Promise<void> | undefined {
    const state = stateOf(this);
    flushInPlaceChanges(state.lifecycle, this);
    return settle(
      state.lifecycle.save().then(() => undefined),
      callback,
    );
  }

  isModified(): boolean {
    return stateOf(this).lifecycle.current?.isDirty ?? false;
  }

  isSaved(): boolean {
    const session = stateOf(this).lifecycle.current;
    return session !== null && !session.isNew;
  }

  async login(userId: string, options: FastifyLoginOptions = {}): Promise<void> {
    await stateOf(this).lifecycle.login(userId, options);
  }

  sessions(): Promise<RequestSessionInfo[]> {
    return stateOf(this).lifecycle.sessions();
  }

  revoke(handle: string): Promise<boolean> {
    const state = stateOf(this);
    return state.lifecycle.revoke(handle).then((revoked) => {
      if (state.lifecycle.destroyed) state.onDestroy();
      return revoked;
    });
  }

  signOutEverywhere(options: { keepCurrent?: boolean } = {}): Promise<number> {
    const state = stateOf(this);
    return state.lifecycle.signOutEverywhere(options).then((count) => {
      if (state.lifecycle.destroyed) state.onDestroy();
      return count;
    });
  }

  toJSON(): Record<string, unknown> {
    return stateOf(this).lifecycle.current?.toJSON() ?? {};
  }
}

const handler: ProxyHandler<SessionObject> = {
  get(target, property, receiver) {
    if (typeof property === 'symbol' || property in target) {
      return Reflect.get(target, property, receiver);
    }
    return target.get(property);
  },
  set(target, property, value, receiver) {
    if (typeof property === 'symbol' || property in target) {
      return Reflect.set(target, property, value, receiver);
    }
    target.set(property, value);
    return true;
  },
  deleteProperty(target, property) {
    if (typeof property === 'symbol' || property in target) {
      return Reflect.deleteProperty(target, property);
    }
    target.delete(property);
    return true;
  },
  has(target, property) {
    if (typeof property === 'symbol' || property in target) return true;
    return stateOf(target).lifecycle.current?.has(property) ?? false;
  },
  ownKeys(target) {
    return stateOf(target).lifecycle.current?.keys() ?? [];
  },
  getOwnPropertyDescriptor(target, property) {
    if (typeof property === 'symbol') return undefined;
    const session = stateOf(target).lifecycle.current;
    if (session === null || !session.has(property)) return undefined;
    return { value: target.get(property), writable: true, enumerable: true, configurable: true };
  },
};

/**
 * Creates the `request.session` object for one request.
 * @example request.session = createFastifySession(lifecycle, cookieSettings, () => { request.session = null });
 */
export function createFastifySession(
  lifecycle: RequestSession,
  cookie: CookieSettings,
  onDestroy: () => void,
): FastifySession {
  const target = new SessionObject({
    lifecycle,
    cookie,
    onDestroy,
    snapshots: null,
    snapshotsOf: null,
  });
  return new Proxy(target, handler) as unknown as FastifySession;
}

/**
 * Before commit: object values read during the request and changed in place
 * (`request.session.cart.items.push(x)`) are written back as a set, so they are saved.
 * @example flushInPlaceChanges(request.session);
 */
export function flushInPlaceChanges(lifecycle: RequestSession, sessionObject: unknown): void {
  if (sessionObject === null || typeof sessionObject !== 'object') return;
  const state = (sessionObject as SessionObject)[STATE];
  if (state === undefined || state.snapshots === null) return;
  const session = lifecycle.current;
  if (session === null || session !== state.snapshotsOf) return;
  for (const [key, before] of state.snapshots) {
    if (!session.has(key)) continue;
    const value = session.get(key);
    if (JSON.stringify(value) !== before) session.set(key, value);
  }
}
