/**
 * `Store` and `MemoryStore` as express-session exports them: the base class that stores
 * written for express-session extend (connect-redis and others, also in the older
 * `require('connect-redis')(session)` style that calls `Store.call(this)`), and a small
 * callback-style memory store keeping express-session's stored format (JSON by raw ID).
 */
import { EventEmitter } from 'node:events';
import { Cookie } from './cookie.js';
import { Session, type SessionCallback, type SessionRequest as StoreRequest } from './session.js';

/** A stored session in express-session's format: the data plus its `cookie`. */
export interface StoredSession {
  cookie: Cookie | Record<string, unknown>;
  [key: string]: unknown;
}

type GetCallback = (error: unknown, session?: StoredSession | null) => void;

/** The methods every express-session store has (some are optional). */
export interface Store extends EventEmitter {
  get?(sid: string, callback: GetCallback): void;
  set?(sid: string, session: StoredSession, callback?: SessionCallback): void;
  destroy?(sid: string, callback?: SessionCallback): void;
  touch?(sid: string, session: StoredSession, callback?: SessionCallback): void;
  /** Destroys the request's session and gives it a new, empty one. */
  regenerate(req: StoreRequest, callback: SessionCallback): void;
  /** Loads a session and wraps it as a `Session`. */
  load(sid: string, callback: (error?: unknown, session?: Session) => void): void;
  /** Wraps stored data as the request's `Session`. */
  createSession(req: StoreRequest, session: StoredSession): Session;
}

/** `Store`'s constructor; callable with `new` and, for older stores, with `Store.call(this)`. */
export interface StoreConstructor {
  new (): Store;
  (this: unknown): void;
  prototype: Store;
}

/**
 * The base class of express-session stores.
 * @example class MyStore extends Store { get(sid, cb) { … } set(sid, sess, cb) { … } destroy(sid, cb) { … } }
 */
export const Store = function Store(this: EventEmitter) {
  EventEmitter.call(this);
} as unknown as StoreConstructor;

Object.setPrototypeOf(Store.prototype, EventEmitter.prototype);
Object.setPrototypeOf(Store, EventEmitter);

Store.prototype.regenerate = function regenerate(
  this: Store,
  req: StoreRequest,
  callback: SessionCallback,
): void {
  this.destroy?.(req.sessionID ?? '', (error) => {
    req.session = new Session(req, { cookie: new Cookie() });
    callback(error);
  });
};

Store.prototype.load = function load(
  this: Store,
  sid: string,
  callback: (error?: unknown, session?: Session) => void,
): void {
  this.get?.(sid, (error, stored) => {
    if (error) return callback(error);
    if (!stored) return callback();
    callback(undefined, this.createSession({ sessionID: sid, sessionStore: this }, stored));
  });
};

Store.prototype.createSession = function createSession(
  this: Store,
  req: StoreRequest,
  stored: StoredSession,
): Session {
  const session = new Session(req, stored);
  req.session = session;
  return session;
};

/**
 * express-session's memory store, for tests and single-process development: sessions are
 * kept as JSON strings by raw ID and expire with their cookie. Not for production.
 * @example app.use(session({ secret, store: new MemoryStore() }));
 */
export class MemoryStore extends Store {
  #sessions = new Map<string, string>();
  #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    super();
    this.#now = options.now ?? Date.now;
  }

  #read(sid: string): StoredSession | null {
    const json = this.#sessions.get(sid);
    if (json === undefined) return null;
    const stored = JSON.parse(json) as StoredSession;
    const expires = (stored.cookie as { expires?: unknown } | undefined)?.expires;
    if (typeof expires === 'string' && new Date(expires).valueOf() <= this.#now()) {
      this.#sessions.delete(sid);
      return null;
    }
    return stored;
  }

  override get(sid: string, callback: GetCallback): void {
    const stored = this.#read(sid);
    setImmediate(() => callback(null, stored));
  }

  override set(sid: string, session: StoredSession, callback?: SessionCallback): void {
    this.#sessions.set(sid, JSON.stringify(session));
    if (callback) setImmediate(() => callback());
  }

  override destroy(sid: string, callback?: SessionCallback): void {
    this.#sessions.delete(sid);
    if (callback) setImmediate(() => callback());
  }

  override touch(sid: string, session: StoredSession, callback?: SessionCallback): void {
    const stored = this.#read(sid);
    if (stored) {
      stored.cookie = session.cookie;
      this.#sessions.set(sid, JSON.stringify(stored));
    }
    if (callback) setImmediate(() => callback());
  }

  /** Every live session by ID. */
  all(callback: (error: unknown, sessions?: Record<string, StoredSession>) => void): void {
    const out: Record<string, StoredSession> = {};
    for (const sid of [...this.#sessions.keys()]) {
      const stored = this.#read(sid);
      if (stored) out[sid] = stored;
    }
    setImmediate(() => callback(null, out));
  }

  /** Removes every session. */
  clear(callback?: SessionCallback): void {
    this.#sessions.clear();
    if (callback) setImmediate(() => callback());
  }

  /** The number of live sessions. */
  length(callback: (error: unknown, length?: number) => void): void {
    this.all((error, sessions) => callback(error, sessions ? Object.keys(sessions).length : 0));
  }
}
