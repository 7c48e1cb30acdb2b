/**
 * `Session`: the `req.session` object of express-session. Session data are its own
 * enumerable properties; `id` and `cookie` are there too, and the methods (`regenerate`,
 * `destroy`, `reload`, `save`, `touch`, `resetMaxAge`) call back exactly as
 * express-session's do. Nothing else is reserved: every other key is the app's data
 * (Tessera's helpers live on `req.sessionControl`).
 */
import { type NodeCallback, settleCallback } from '../../http/kit/callback-bridge.js';
import { Cookie } from './cookie.js';

/** Callback of the session methods: the error, if any, first. */
export type SessionCallback = NodeCallback;

/** What a Session's methods do; the middleware provides one per request. */
export interface SessionController {
  regenerate(session: Session): Promise<void>;
  destroy(session: Session): Promise<void>;
  reload(session: Session): Promise<void>;
  save(session: Session): Promise<void>;
  touch(session: Session): void;
}

// A session's ID, request and controller live under symbol keys: invisible to the data (not
// in Object.keys, for...in or JSON, like express-session's non-enumerable `id` and `req`),
// and cheaper to set on every request than defineProperty or a WeakMap entry.
const ID: unique symbol = Symbol('tessera.id');
const REQ: unique symbol = Symbol('tessera.req');
const CONTROLLER: unique symbol = Symbol('tessera.controller');

/** A request as far as a Session needs it (express-session's `Store` methods pass these). */
export interface SessionRequest {
  sessionID?: string;
  sessionStore?: unknown;
  session?: unknown;
}

/** The store methods a detached Session falls back on, like express-session's. */
interface FallbackStore {
  set(sid: string, session: unknown, callback: SessionCallback): void;
  get(sid: string, callback: (error: unknown, session?: unknown) => void): void;
  destroy(sid: string, callback: SessionCallback): void;
  regenerate?(req: unknown, callback: SessionCallback): void;
  createSession?(req: unknown, session: unknown): unknown;
}

const run = settleCallback;

function controllerOf(session: Session): SessionController | undefined {
  return session[CONTROLLER];
}

/**
 * Binds a controller to a session (used by the middleware; invisible to the app and to JSON).
 * @example attachController(session, controller);
 */
export function attachController(session: Session, controller: SessionController): void {
  session[CONTROLLER] = controller;
}

/**
 * The session of one request.
 * @example
 * req.session.views = (req.session.views ?? 0) + 1;
 * req.session.regenerate((err) => { if (err) return next(err); req.session.user = name; … });
 */
export class Session {
  declare cookie: Cookie;
  declare [ID]: string;
  declare [REQ]: SessionRequest;
  declare [CONTROLLER]: SessionController | undefined;
  [key: string]: unknown;

  /**
   * @param req The request the session belongs to.
   * @param data The data to copy in (own enumerable keys; none that would hide a method).
   * @param cookie The session's cookie; without it, one is made from `data.cookie`.
   */
  constructor(req: SessionRequest, data?: Record<string, unknown>, cookie?: Cookie) {
    this[ID] = req.sessionID as string;
    this[REQ] = req;
    if (data !== undefined && data !== null && typeof data === 'object') {
      for (const key in data) {
        if (Object.hasOwn(data, key) && !(key in this)) this[key] = data[key];
      }
    }
    if (cookie instanceof Cookie) this.cookie = cookie;
    else if (!(this.cookie instanceof Cookie)) this.cookie = new Cookie(this.cookie as never);
  }

  /** A new ID and empty data; the old session ends. */
  regenerate(callback: SessionCallback): void {
    const controller = controllerOf(this);
    if (controller) {
      run(controller.regenerate(this), callback);
      return;
    }
    const req = this.#req();
    req.sessionStore?.regenerate?.(req, callback);
  }

  /** Ends the session; `req.session` is undefined afterwards. */
  destroy(callback?: SessionCallback): void {
    const controller = controllerOf(this);
    if (controller) {
      run(controller.destroy(this), callback);
      return;
    }
    const req = this.#req();
    delete req.session;
    req.sessionStore?.destroy(this.id, callback ?? (() => {}));
  }

  /** Re-reads the data from the store. */
  reload(callback: SessionCallback): void {
    const controller = controllerOf(this);
    if (controller) {
      run(controller.reload(this), callback);
      return;
    }
    const req = this.#req();
    req.sessionStore?.get(this.id, (error, stored) => {
      if (error) return callback(error);
      if (!stored) return callback(new Error('failed to load session'));
      req.sessionStore?.createSession?.(req, stored);
      callback();
    });
  }

  /** Writes the session now (otherwise it is written at the end of the response). */
  save(callback?: SessionCallback): this {
    const controller = controllerOf(this);
    if (controller) {
      run(controller.save(this), callback);
      return this;
    }
    this.#req().sessionStore?.set(this.id, this, callback ?? (() => {}));
    return this;
  }

  /** Restarts the cookie's lifetime and slides the session's expiry in the store. */
  touch(): this {
    this.cookie.resetMaxAge();
    controllerOf(this)?.touch(this);
    return this;
  }

  /** Restarts the cookie's lifetime. */
  resetMaxAge(): this {
    this.cookie.resetMaxAge();
    return this;
  }

  /** The session ID (secret: never log it). */
  get id(): string {
    return this[ID];
  }

  /** The request this session belongs to. */
  get req(): SessionRequest {
    return this[REQ];
  }

  #req(): SessionRequest & { sessionStore?: FallbackStore } {
    return this.req as SessionRequest & { sessionStore?: FallbackStore };
  }
}
