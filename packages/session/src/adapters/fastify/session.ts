/**
 * `request.session` of the Fastify plugin: @fastify/session's API and nothing else (`get`,
 * `set`, plain property access, `sessionId`, `encryptedSessionId`, `cookie`, `options`,
 * `touch`, `regenerate`, `destroy`, `reload`, `save`, `isModified`, `isSaved`; promise and
 * callback forms) over Tessera's request lifecycle. Every other name is the app's data key
 * (`request.session.userId = 42` is data); Tessera's own helpers live on
 * `request.sessionControl`. The stored record is plain data: no request object is kept.
 */

import type { Session as FastifyDeclaredSession } from 'fastify';
import type { Session } from '../../core/session.js';
import type { HttpExchange, RequestSession } from '../../http/request-session.js';
import { TesseraError } from '../../shared/errors.js';
import {
  type CookieInput,
  type FastifyCookieOptions,
  mergeCookieSettings,
  SessionCookie,
  type StoredCookie,
} from './cookie.js';
import { checkCookieOptions } from './options.js';
import type { CookieSigner } from './signer.js';

/** Node-style callback of the session methods. */
export type FastifySessionCallback = (error?: unknown) => void;

/**
 * The `request.session` object. Data keys are readable and writable as properties
 * (`request.session.views`); keys that collide with a method name are reached with
 * `get`/`set`. After `destroy()` the plugin sets `request.session` to null, as
 * @fastify/session does.
 */
export interface FastifySession extends FastifyDeclaredSession {
  /** Data keys as properties. */
  [key: string]: unknown;
  /** The session ID (secret: never log it or send it to the browser in a body). */
  readonly sessionId: string;
  /** The signed cookie value (without `cookiePrefix`). */
  readonly encryptedSessionId: string;
  /** This session's cookie settings (`maxAge`, `expires`, … in milliseconds). */
  cookie: SessionCookie;
  get<T = unknown>(key: string): T | undefined;
  set(key: string, value: unknown): void;
  /** Per-session cookie settings: any cookie option (`maxAge` in milliseconds). */
  options(options: FastifyCookieOptions): void;
  /** Restarts the cookie's `expires` from its `maxAge`. */
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
  /** True when this request changed the data since it was loaded (or last saved). */
  isModified(): boolean;
  /** True when the session was saved during this request. */
  isSaved(): boolean;
}

/** What one request's session object works with (made by the plugin). */
export interface SessionContext {
  readonly lifecycle: RequestSession;
  readonly exchange: HttpExchange;
  readonly signer: CookieSigner;
  /** The configured cookie options (with per-call overrides from decryptSession). */
  readonly cookieOptions: FastifyCookieOptions;
  readonly now: () => number;
  /** Writes the session now (the data and its cookie settings). */
  persist(session: Session): Promise<void>;
  /** Re-reads the session from the store; false when it is not there. */
  reread(session: Session): Promise<boolean>;
  /** Removes a session not saved yet from a callback store (as @fastify/session asks its store). */
  discardNew(session: Session): Promise<void>;
  /** Sets `request.session` (null after destroy; the new object after reload). */
  assign(value: FastifySession | null): void;
}

const cookies = new WeakMap<Session, SessionCookie>();

/**
 * The cookie settings kept with a session (what a callback store stores as `cookie`).
 * @example cookieOfSession(session)?.toJSON()
 */
export function cookieOfSession(session: Session): SessionCookie | undefined {
  return cookies.get(session);
}

const STATE = Symbol('tessera.fastify.session');

interface SessionState {
  context: SessionContext;
  /** Cookie options of this session: configured, stored, then `options()`. */
  cookieOptions: CookieInput;
  saved: boolean;
  /** JSON of values as first read or last saved, to catch in-place changes. */
  snapshots: Map<string, string>;
  snapshotsOf: Session | null;
}

function stateOf(target: SessionObject): SessionState {
  return target[STATE];
}

function current(state: SessionState): Session {
  const session = state.context.lifecycle.current;
  if (session === null) {
    throw new TesseraError(
      'ERR_INVALID_ARGUMENT',
      'request.session was destroyed in this request; call request.session.regenerate() before using it again',
    );
  }
  return session;
}

function cookieFor(state: SessionState, session: Session): SessionCookie {
  let cookie = cookies.get(session);
  if (cookie === undefined) {
    cookie = newCookie(state);
    cookies.set(session, cookie);
  }
  return cookie;
}

/** The session's cookie from its settings; the request's protocol is read only for 'auto'. */
function newCookie(state: SessionState): SessionCookie {
  const { exchange, now } = state.context;
  const https = state.cookieOptions.secure === 'auto' ? exchange.isSecure : false;
  return new SessionCookie(state.cookieOptions, https, now);
}

/** Shared by sessions that have no snapshots yet (never written to: see snapshotsOf). */
const NO_SNAPSHOTS: Map<string, string> = new Map();

function snapshotsOf(state: SessionState, session: Session): Map<string, string> {
  if (state.snapshotsOf !== session) {
    state.snapshots = new Map();
    state.snapshotsOf = session;
  }
  return state.snapshots;
}

function remember(state: SessionState, session: Session, key: string, value: unknown): void {
  if (value === null || typeof value !== 'object') return;
  const snapshots = snapshotsOf(state, session);
  if (!snapshots.has(key)) snapshots.set(key, JSON.stringify(value));
}

function settle(
  work: Promise<void>,
  callback: FastifySessionCallback | undefined,
): Promise<void> | undefined {
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

  get encryptedSessionId(): string {
    const state = stateOf(this);
    return state.context.signer.sign(current(state).id);
  }

  get cookie(): SessionCookie {
    const state = stateOf(this);
    return cookieFor(state, current(state));
  }

  set cookie(value: SessionCookie) {
    const state = stateOf(this);
    if (!(value instanceof SessionCookie)) {
      throw new TesseraError(
        'ERR_INVALID_ARGUMENT',
        'request.session.cookie: use request.session.options({ … }) to change cookie settings',
      );
    }
    cookies.set(current(state), value);
  }

  get<T = unknown>(key: string): T | undefined {
    const state = stateOf(this);
    const session = state.context.lifecycle.current;
    if (session === null) return undefined;
    const value = session.get<T>(key);
    remember(state, session, key, value);
    return value;
  }

  set(key: string, value: unknown): void {
    const session = current(stateOf(this));
    // Setting a key to the value it has is no change (as @fastify/session's hash sees it).
    if (session.has(key) && JSON.stringify(session.get(key)) === JSON.stringify(value)) return;
    session.set(key, value);
  }

  options(options: FastifyCookieOptions): void {
    const checked = checkCookieOptions(options, 'request.session.options');
    if (Object.keys(checked).length === 0) return;
    const state = stateOf(this);
    const session = current(state);
    state.cookieOptions = { ...state.cookieOptions, ...checked };
    cookies.set(session, newCookie(state));
    if (checked.maxAge !== undefined) {
      const seconds =
        checked.maxAge === null ? null : Math.max(1, Math.ceil(checked.maxAge / 1000));
      state.context.lifecycle.setCookieLifetime(seconds);
    }
  }

  touch(): void {
    const cookie = this.cookie;
    if (cookie.originalMaxAge)
      cookie.expires = new Date(stateOf(this).context.now() + cookie.originalMaxAge);
  }

  regenerate(
    keep?: string[] | FastifySessionCallback,
    callback?: FastifySessionCallback,
  ): Promise<void> | undefined {
    const fields = Array.isArray(keep) ? keep : [];
    const cb = typeof keep === 'function' ? keep : callback;
    const state = stateOf(this);
    const { lifecycle } = state.context;
    const work = (async () => {
      const before = lifecycle.current;
      const kept: Array<[string, unknown]> = [];
      for (const name of fields) if (before?.has(name)) kept.push([name, before.get(name)]);
      const next = await lifecycle.regenerate({ fresh: true });
      for (const [name, value] of kept) next.set(name, value);
      cookieFor(state, next);
      await state.context.persist(next);
    })();
    return settle(work, cb);
  }

  destroy(callback?: FastifySessionCallback): Promise<void> | undefined {
    const { context } = stateOf(this);
    const work = (async () => {
      const session = context.lifecycle.current;
      try {
        if (session?.isNew) await context.discardNew(session);
        await context.lifecycle.destroy();
      } catch (error) {
        // As with @fastify/session, request.session is gone even when the store failed.
        context.lifecycle.detach();
        throw error;
      } finally {
        context.assign(null);
      }
    })();
    return settle(work, callback);
  }

  reload(callback?: FastifySessionCallback): Promise<void> | undefined {
    const state = stateOf(this);
    const work = (async () => {
      const session = current(state);
      const found = await state.context.reread(session);
      if (!found) session.replaceData({});
      const stored = session.meta.cookie as StoredCookie | undefined;
      state.cookieOptions = mergeCookieSettings(
        state.cookieOptions,
        found ? stored : undefined,
        state.context.now(),
      );
      cookies.delete(session);
      state.snapshotsOf = null;
    })();
    if (callback === undefined) return work;
    // The store's get answers (null, session): so does reload's callback.
    work.then(
      () => callback(null),
      (error: unknown) => callback(error),
    );
    return undefined;
  }

  save(callback?: FastifySessionCallback): Promise<void> | undefined {
    const state = stateOf(this);
    const work = (async () => {
      const session = current(state);
      flushInPlaceChanges(this);
      cookieFor(state, session);
      await state.context.persist(session);
      state.saved = true;
      state.snapshotsOf = null;
    })();
    return settle(work, callback);
  }

  isModified(): boolean {
    const session = stateOf(this).context.lifecycle.current;
    if (session === null) return false;
    flushInPlaceChanges(this);
    return isDataModified(session);
  }

  isSaved(): boolean {
    return stateOf(this).saved;
  }
}

/**
 * True when the request changed the session's data (not only its cookie settings).
 * @example if (isDataModified(session)) await persist(session);
 */
export function isDataModified(session: Session): boolean {
  const patch = session.pendingPatch();
  return patch !== null && (patch.set !== undefined || patch.unset !== undefined);
}

/** Property names of the session object that are not data keys. */
const OWN = new Set<string | symbol>([
  ...Object.getOwnPropertyNames(SessionObject.prototype),
  STATE,
]);

const handler: ProxyHandler<SessionObject> = {
  get(target, property, receiver) {
    if (typeof property === 'symbol' || OWN.has(property))
      return Reflect.get(target, property, receiver);
    return target.get(property);
  },
  set(target, property, value, receiver) {
    if (typeof property === 'symbol' || OWN.has(property))
      return Reflect.set(target, property, value, receiver);
    target.set(property, value);
    return true;
  },
  deleteProperty(target, property) {
    if (typeof property === 'symbol' || OWN.has(property)) return false;
    stateOf(target).context.lifecycle.current?.delete(property);
    return true;
  },
  has(target, property) {
    if (typeof property === 'symbol' || OWN.has(property)) return true;
    return stateOf(target).context.lifecycle.current?.has(property) ?? false;
  },
  ownKeys(target) {
    const keys = stateOf(target).context.lifecycle.current?.keys() ?? [];
    return ['cookie', ...keys.filter((key) => key !== 'cookie')];
  },
  getOwnPropertyDescriptor(target, property) {
    if (typeof property === 'symbol') return undefined;
    if (property === 'cookie') {
      return { value: target.cookie, writable: true, enumerable: true, configurable: true };
    }
    const session = stateOf(target).context.lifecycle.current;
    if (session === null || !session.has(property)) return undefined;
    return { value: target.get(property), writable: true, enumerable: true, configurable: true };
  },
};

/**
 * Creates the `request.session` object for one request (or for `fastify.decryptSession`).
 * @example request.session = createFastifySession(context);
 */
export function createFastifySession(context: SessionContext): FastifySession {
  const session = context.lifecycle.current;
  const stored = session?.meta.cookie as StoredCookie | undefined;
  const target = new SessionObject({
    context,
    cookieOptions: mergeCookieSettings(context.cookieOptions, stored, context.now()),
    saved: false,
    snapshots: NO_SNAPSHOTS,
    snapshotsOf: null,
  });
  return new Proxy(target, handler) as unknown as FastifySession;
}

/**
 * Before a write: object values read during the request and changed in place
 * (`request.session.cart.items.push(x)`) are set again, so they are saved.
 * @example flushInPlaceChanges(request.session);
 */
export function flushInPlaceChanges(sessionObject: unknown): void {
  if (sessionObject === null || typeof sessionObject !== 'object') return;
  const state = (sessionObject as SessionObject)[STATE];
  if (state === undefined) return;
  const session = state.context.lifecycle.current;
  if (session === null || session !== state.snapshotsOf) return;
  for (const [key, before] of state.snapshots) {
    if (!session.has(key)) continue;
    const value = session.get(key);
    const now = JSON.stringify(value);
    if (now !== before) {
      session.set(key, value);
      state.snapshots.set(key, now);
    }
  }
}

/**
 * The session object's state, for the plugin's end-of-request step.
 * @example const saved = wasSaved(request.session);
 */
export function wasSaved(sessionObject: unknown): boolean {
  if (sessionObject === null || typeof sessionObject !== 'object') return false;
  return (sessionObject as SessionObject)[STATE]?.saved === true;
}

/**
 * The cookie of the request's current session (creating it from the settings if needed).
 * @example serializeSessionCookie(name, value, sessionCookieOf(request.session, session), true)
 */
export function sessionCookieOf(
  sessionObject: unknown,
  session: Session,
): SessionCookie | undefined {
  if (sessionObject === null || typeof sessionObject !== 'object') return cookies.get(session);
  const state = (sessionObject as SessionObject)[STATE];
  return state === undefined ? cookies.get(session) : cookieFor(state, session);
}
