/**
 * The per-request controller of `tessera-session/express`: connects `req.session` (plain
 * properties, express-session's methods) and `req.sessionControl` (Tessera's helpers) to the
 * core request lifecycle. Changes to `req.session` become a patch of the keys that changed;
 * the cookie's lifetime (`req.session.cookie.maxAge`) becomes the session's lifetime.
 */
import type { StepUpOptions } from '../../core/manager.js';
import { type Session as CoreSession, dataOf } from '../../core/session.js';
import { ChangeTracker } from '../../http/kit/change-tracker.js';
import type { RequestSession, RequestSessionInfo } from '../../http/request-session.js';
import { TesseraError } from '../../shared/errors.js';
import { Cookie, copyCookie } from './cookie.js';
import type { ExpressExchange, ExpressRequest } from './exchange.js';
import { attachController, Session, type SessionController } from './session.js';
import type { ExpressLoginOptions, SessionControlBackend } from './session-control.js';

/** What the controller needs to know about the middleware. */
export interface ControllerSettings {
  unset: 'keep' | 'destroy';
  /** An express-session store: no user index, the cookie kept inside the stored data. */
  legacy: boolean;
  /** Tessera stores: the cookie's lifetime is the session's idle timeout (no `idleTimeout` option). */
  lifetimeFromCookie: boolean;
  /** express-session's `resave`: an express-session store gets every unchanged session written back. */
  resave: boolean;
}

/**
 * Milliseconds to whole seconds (at least 1), or null for none.
 * @example secondsOf(1500) // 2
 */
export function secondsOf(ms: number | null | undefined): number | null {
  return typeof ms === 'number' && Number.isFinite(ms) ? Math.max(1, Math.round(ms / 1000)) : null;
}

/**
 * Where `req.sessionID` lives when Express's base request reads it through an accessor (the
 * request's response hook); null on other requests, which get an own property.
 */
export interface SessionIdSlot {
  sessionId: string | undefined;
}

/** The one key of `req.session` that is not data. */
const NOT_DATA: readonly string[] = ['cookie'];

export class Controller implements SessionController, SessionControlBackend {
  readonly #req: ExpressRequest;
  readonly #rs: RequestSession;
  readonly #exchange: ExpressExchange;
  readonly #settings: ControllerSettings;
  readonly #idSlot: SessionIdSlot | null;
  readonly #tracker = new ChangeTracker();
  #express: Session | null = null;
  #cookieSeconds: number | null = null;
  #gone = false;
  /** Saved by `save()` and unchanged since (express-session then skips the end-of-request save). */
  #savedClean = false;

  constructor(
    req: ExpressRequest,
    rs: RequestSession,
    exchange: ExpressExchange,
    settings: ControllerSettings,
    idSlot: SessionIdSlot | null = null,
  ) {
    this.#req = req;
    this.#rs = rs;
    this.#exchange = exchange;
    this.#settings = settings;
    this.#idSlot = idSlot;
  }

  get handle(): string | null {
    const core = this.#rs.current;
    return core && !this.#settings.legacy && !core.isNew ? core.handle : null;
  }

  get userId(): string | null {
    return this.#rs.current?.userId ?? null;
  }

  get authAt(): number | null {
    return this.#rs.current?.authAt ?? null;
  }

  get authLevel(): number | null {
    return this.#rs.current?.authLevel ?? null;
  }

  get authMethods(): string[] {
    return this.#rs.current?.authMethods ?? [];
  }

  now(): number {
    return this.#rs.now();
  }

  #cookieFor(core: CoreSession): Cookie {
    const settings = this.#exchange.settings;
    const stored = this.#settings.legacy ? core.meta.cookie : undefined;
    const cookie =
      stored === undefined
        ? copyCookie(this.#exchange.template, settings)
        : new Cookie(stored as never);
    if (!this.#settings.legacy) {
      const own = core.meta.cookieMaxAge;
      if (typeof own === 'number') cookie.maxAge = own * 1000;
      else if (own === null) cookie.expires = null;
    }
    if (cookie.secure === 'auto') cookie.secure = this.#exchange.isSecure;
    return cookie;
  }

  attach(core: CoreSession): void {
    const req = this.#req;
    // Under Express the ID goes to the slot the base request's accessor reads: one own
    // property less per request (each costs microseconds on Express's re-prototyped `req`).
    // An ID the app assigned itself is an own property, and is overwritten as before.
    const slot = this.#idSlot;
    if (slot !== null && !Object.hasOwn(req, 'sessionID')) slot.sessionId = core.id;
    else req.sessionID = core.id;
    const cookie = this.#cookieFor(core);
    // The core session's data object itself, not a copy: the snapshot and the Session copy it.
    const data = dataOf(core);
    this.#tracker.reset(data, NOT_DATA);
    const session = new Session(req, data, cookie);
    attachController(session, this);
    req.session = session;
    this.#express = session;
    this.#exchange.cookie = cookie;
    this.#gone = false;
    this.#cookieSeconds = secondsOf(cookie.originalMaxAge);
    if (core.isNew && this.#cookieSeconds !== null && !this.#settings.legacy) {
      // A new session takes its cookie's lifetime without counting as a change.
      core.meta = { ...core.meta, cookieMaxAge: this.#cookieSeconds, ...this.#idleMeta() };
    }
  }

  #idleMeta(): { idleTimeout?: number } {
    const seconds = this.#cookieSeconds;
    return this.#settings.lifetimeFromCookie && seconds !== null ? { idleTimeout: seconds } : {};
  }

  /** Turns changes made to `req.session` into changes of the core session. */
  sync(): void {
    const core = this.#rs.current;
    const session = this.#express;
    if (core === null || session === null) return;
    const { set, unset } = this.#tracker.changes(session, NOT_DATA);
    let changed = unset.length > 0;
    for (const key in set) {
      core.set(key, set[key]);
      changed = true;
    }
    for (const key of unset) core.delete(key);
    if (changed) this.#savedClean = false;
    const cookie = session.cookie;
    if (!(cookie instanceof Cookie)) return;
    // express-session restarts a persistent cookie's lifetime whenever it writes it.
    cookie.resetMaxAge();
    this.#exchange.cookie = cookie;
    const seconds = secondsOf(cookie.originalMaxAge);
    if (seconds !== this.#cookieSeconds) {
      this.#rs.setCookieLifetime(seconds);
      this.#cookieSeconds = seconds;
      const idle = this.#idleMeta();
      if (idle.idleTimeout !== undefined && core.meta.idleTimeout !== idle.idleTimeout) {
        core.updateMeta(idle);
      }
    }
    if (this.#settings.legacy) core.meta = { ...core.meta, cookie: cookie.toJSON() };
  }

  /** Makes an express-session store get a whole-session write (`store.set`) at the next commit. */
  #forceWrite(): void {
    const core = this.#rs.current;
    if (core === null || !this.#settings.legacy) return;
    core.updateMeta({ cookie: (core.meta.cookie as object | undefined) ?? null });
  }

  #forget(): void {
    delete this.#req.session;
    this.#express = null;
    this.#gone = true;
  }

  async regenerate(): Promise<void> {
    this.sync();
    const next = await this.#rs.regenerate({ fresh: true });
    this.attach(next);
  }

  async destroy(): Promise<void> {
    this.#forget();
    try {
      await this.#rs.destroy();
    } finally {
      // A failed destroy leaves nothing to write at the end, as with express-session.
      if (!this.#rs.destroyed) this.#rs.detach();
    }
  }

  async reload(): Promise<void> {
    const core = this.#rs.current;
    if (core === null || core.isNew || !(await this.#rs.reload())) {
      throw new Error('failed to load session');
    }
    this.attach(core);
  }

  async save(): Promise<void> {
    this.sync();
    this.#forceWrite();
    await this.#rs.save();
    this.#savedClean = true;
  }

  touch(): void {
    this.#rs.touch();
  }

  #requireTesseraStore(what: string): void {
    if (!this.#settings.legacy) return;
    throw new TesseraError(
      'ERR_CONFIG',
      `req.sessionControl.${what} needs a Tessera store (user index, handles); an express-session ` +
        "store has neither. Use one, e.g. createRedisStore() from 'tessera-session/stores/redis'.",
    );
  }

  async login(userId: string, options: ExpressLoginOptions): Promise<void> {
    this.#requireTesseraStore('login()');
    this.sync();
    const next = await this.#rs.login(userId, options);
    this.attach(next);
  }

  async stepUp(options: StepUpOptions): Promise<void> {
    this.#requireTesseraStore('stepUp()');
    this.sync();
    const next = await this.#rs.stepUp(options);
    this.attach(next);
  }

  async sessions(): Promise<RequestSessionInfo[]> {
    this.#requireTesseraStore('sessions()');
    return this.#rs.sessions();
  }

  async revoke(handle: string): Promise<boolean> {
    this.#requireTesseraStore('revoke()');
    const revoked = await this.#rs.revoke(handle);
    if (this.#rs.destroyed) this.#forget();
    return revoked;
  }

  async signOutEverywhere(options: { keepCurrent?: boolean }): Promise<number> {
    this.#requireTesseraStore('signOutEverywhere()');
    const count = await this.#rs.signOutEverywhere(options);
    if (this.#rs.destroyed) this.#forget();
    return count;
  }

  /** The session's part of sending the headers early (a streamed response). */
  flushCookie(): void {
    this.#settleUnset(false);
    this.#rs.flushCookie();
  }

  #settleUnset(destroy: boolean): Promise<void> | undefined {
    if (this.#gone || this.#express === null) return undefined;
    const current = this.#req.session;
    if (current === this.#express) {
      this.sync();
      return undefined;
    }
    if (current === undefined || current === null) {
      if (this.#settings.unset === 'destroy' && destroy) {
        this.#gone = true;
        return this.#rs.destroy();
      }
      if (this.#settings.unset === 'keep') this.#rs.detach();
    }
    return undefined;
  }

  /** The end-of-request work; undefined (synchronously) when no store write was needed. */
  finish(): Promise<void> | undefined {
    if (typeof this.#req.sessionID !== 'string') {
      // express-session saves nothing for a bogus req.sessionID.
      this.#rs.detach();
      return undefined;
    }
    const unset = this.#settleUnset(true);
    if (unset !== undefined) return unset.then(() => this.#rs.commit());
    const core = this.#rs.current;
    if (this.#settings.resave && !this.#savedClean && core !== null && !core.isNew) {
      this.#forceWrite();
    }
    return this.#rs.commit();
  }
}
