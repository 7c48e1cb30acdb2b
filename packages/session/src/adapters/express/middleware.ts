/**
 * `session(options)`: the Express middleware of `tessera-session/express`, a drop-in for
 * express-session. It maps Express's request and response onto the core request lifecycle
 * (`core/request-session.ts`) and exposes the session as express-session does: `req.session`
 * with the data as plain properties, `req.sessionID`, `req.sessionStore`. Changes are found by
 * comparing each top-level key with its value at load, so a Tessera store receives a patch
 * of only the keys this request changed. Runs on Express 4 and 5.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { type SerializeOptions, serialize as serializeCookie } from 'cookie';
import { readCookie, signExpressValue, unsignExpressValue } from '../../cookies/index.js';
import { createSessionManager, type SessionManager } from '../../core/manager.js';
import type { Session as CoreSession } from '../../core/session.js';
import {
  createRequestSessions,
  type HttpExchange,
  type LifecycleManager,
  type RequestSession,
  type RequestSessionInfo,
  type SessionCookieFormat,
  withHttpStatus,
} from '../../http/request-session.js';
import { TesseraError } from '../../shared/errors.js';
import { createMemoryStore } from '../../stores/memory/index.js';
import type { Store as TesseraStore } from '../../stores/store.js';
import { Cookie, copyCookie } from './cookie.js';
import { createLegacyManager, type LegacyStore } from './internal/legacy-manager.js';
import {
  type ExpressSessionOptions,
  type ResolvedExpressOptions,
  resolveExpressOptions,
} from './options.js';
import {
  attachController,
  type ExpressLoginOptions,
  Session,
  type SessionController,
} from './session.js';

/** The request as this middleware sees it (Express 4 and 5 both fit). */
export interface ExpressRequest extends IncomingMessage {
  originalUrl?: string;
  secure?: boolean;
  ip?: string;
  session?: Session | null;
  sessionID?: string;
  sessionStore?: unknown;
}

/** Express's `next`. */
export type ExpressNext = (error?: unknown) => void;

/** The middleware, with the store and (for Tessera stores) the session manager it uses. */
export interface ExpressSessionMiddleware {
  (req: IncomingMessage, res: ServerResponse, next: ExpressNext): void;
  /** The store sessions live in. */
  readonly store: TesseraStore | LegacyStore;
  /** The session manager (Tessera stores only): subscribe to its events, list or revoke sessions. */
  readonly manager: SessionManager | null;
}

const MEMORY_STORE_WARNING =
  'Warning: tessera-session/express is using its default memory store, which is not designed for a ' +
  'production environment: sessions are lost on restart and not shared between processes.';

function pathOf(req: ExpressRequest): string {
  const url = req.originalUrl ?? req.url ?? '/';
  const end = url.search(/[?#]/);
  return end < 0 ? url : url.slice(0, end);
}

function isSecureRequest(req: ExpressRequest, proxy: boolean | undefined): boolean {
  if ((req.socket as TLSSocket | undefined)?.encrypted) return true;
  if (proxy === false) return false;
  if (proxy !== true) return req.secure === true;
  const header = req.headers['x-forwarded-proto'];
  const first = (Array.isArray(header) ? header[0] : header)?.split(',')[0];
  return first?.trim().toLowerCase() === 'https';
}

class ExpressExchange implements HttpExchange {
  readonly req: ExpressRequest;
  readonly res: ServerResponse;
  readonly isSecure: boolean;
  /** The `req.session.cookie` whose settings the Set-Cookie carries. */
  cookie: Cookie | null = null;

  constructor(req: ExpressRequest, res: ServerResponse, isSecure: boolean) {
    this.req = req;
    this.res = res;
    this.isSecure = isSecure;
  }

  get method(): string {
    return this.req.method ?? 'GET';
  }

  get path(): string {
    return pathOf(this.req);
  }

  get ip(): string | undefined {
    return this.req.ip ?? this.req.socket?.remoteAddress;
  }

  get userAgent(): string | undefined {
    return this.req.headers['user-agent'];
  }

  header(name: string): string | undefined {
    const value = this.req.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  }

  appendSetCookie(value: string): void {
    const previous = this.res.getHeader('Set-Cookie');
    const list =
      previous === undefined ? [] : Array.isArray(previous) ? previous : [String(previous)];
    this.res.setHeader('Set-Cookie', [...list, value]);
  }
}

/** express-session's cookie: `s:` + ID + `.` + signature, URI-encoded, attributes from `req.session.cookie`. */
function expressCookieFormat(options: ResolvedExpressOptions): SessionCookieFormat {
  const cookieOf = (exchange: HttpExchange): Cookie =>
    (exchange as ExpressExchange).cookie ?? new Cookie(options.cookie);
  const secureFor = (exchange: HttpExchange, cookie: Cookie): boolean =>
    cookie.secure === true || (cookie.secure === 'auto' && exchange.isSecure);
  const attributes = (exchange: HttpExchange): SerializeOptions => {
    const cookie = cookieOf(exchange);
    const sameSite =
      typeof cookie.sameSite === 'string' ? cookie.sameSite.toLowerCase() : cookie.sameSite;
    return {
      path: cookie.path,
      domain: cookie.domain,
      httpOnly: cookie.httpOnly,
      secure: secureFor(exchange, cookie),
      sameSite: sameSite as SerializeOptions['sameSite'],
      partitioned: cookie.partitioned,
      priority: cookie.priority,
    };
  };
  // With `hostPrefix`, a Secure cookie is `__Host-<name>`; on such a request the plain name is
  // not read (a plain-HTTP page or a subdomain could have set it).
  const nameFor = (exchange: HttpExchange): string =>
    options.hostPrefix && secureFor(exchange, cookieOf(exchange))
      ? `__Host-${options.name}`
      : options.name;
  return {
    name: options.name,
    read(exchange) {
      const raw = readCookie(exchange.header('cookie'), nameFor(exchange));
      return raw === null ? null : unsignExpressValue(raw, options.secrets);
    },
    serialize(id, exchange, lifetime) {
      const expires =
        lifetime.maxAgeSeconds === undefined
          ? undefined
          : new Date(Date.now() + lifetime.maxAgeSeconds * 1000);
      return serializeCookie(nameFor(exchange), signExpressValue(id, options.secrets[0]), {
        ...attributes(exchange),
        expires,
      });
    },
    clear(exchange) {
      return serializeCookie(nameFor(exchange), '', {
        ...attributes(exchange),
        expires: new Date(0),
      });
    },
    isSecure: (exchange) => secureFor(exchange, cookieOf(exchange)),
  };
}

function secondsOf(ms: number | null): number | null {
  return typeof ms === 'number' && Number.isFinite(ms) ? Math.max(1, Math.round(ms / 1000)) : null;
}

function defaultCookieSeconds(options: ResolvedExpressOptions): number | undefined {
  const { maxAge, expires } = options.cookie;
  if (typeof maxAge === 'number') return secondsOf(maxAge) ?? undefined;
  if (expires !== undefined && expires !== null) {
    return secondsOf(new Date(expires).valueOf() - Date.now()) ?? undefined;
  }
  return undefined;
}

/** Connects one request's `req.session` to its core lifecycle. */
class Controller implements SessionController {
  readonly #req: ExpressRequest;
  readonly #rs: RequestSession;
  readonly #exchange: ExpressExchange;
  readonly #options: ResolvedExpressOptions;
  readonly #legacy: boolean;
  /** The configured cookie, parsed once per middleware. */
  readonly #template: Cookie;
  #express: Session | null = null;
  #snapshot = new Map<string, string>();
  #cookieSeconds: number | null = null;
  #gone = false;

  constructor(
    req: ExpressRequest,
    rs: RequestSession,
    exchange: ExpressExchange,
    options: ResolvedExpressOptions,
    legacy: boolean,
    template: Cookie,
  ) {
    this.#template = template;
    this.#req = req;
    this.#rs = rs;
    this.#exchange = exchange;
    this.#options = options;
    this.#legacy = legacy;
  }

  get handle(): string | undefined {
    const core = this.#rs.current;
    return core && !this.#legacy ? core.handle : undefined;
  }

  #cookieFor(core: CoreSession): Cookie {
    const stored = this.#legacy ? core.meta.cookie : undefined;
    const cookie =
      stored === undefined
        ? copyCookie(this.#template, this.#options.cookie)
        : new Cookie(stored as never);
    if (!this.#legacy) {
      const own = core.meta.cookieMaxAge;
      if (typeof own === 'number') cookie.maxAge = own * 1000;
      else if (own === null) cookie.expires = null;
    }
    if (cookie.secure === 'auto') cookie.secure = this.#exchange.isSecure;
    return cookie;
  }

  attach(core: CoreSession): void {
    const req = this.#req;
    req.sessionID = core.id;
    const cookie = this.#cookieFor(core);
    const data = core.toJSON();
    // The cookie goes in with the data, so the constructor does not build a default one.
    const session = new Session(req, { ...data, cookie });
    attachController(session, this);
    req.session = session;
    this.#express = session;
    this.#exchange.cookie = cookie;
    this.#gone = false;
    this.#snapshot = new Map();
    for (const [key, value] of Object.entries(data)) {
      const json = JSON.stringify(value);
      if (json !== undefined) this.#snapshot.set(key, json);
    }
    this.#cookieSeconds = secondsOf(cookie.originalMaxAge);
  }

  /** Turns changes made to `req.session` into changes of the core session. */
  sync(): void {
    const core = this.#rs.current;
    const session = this.#express;
    if (core === null || session === null) return;
    const seen = new Set<string>();
    for (const key of Object.keys(session)) {
      if (key === 'cookie') continue;
      seen.add(key);
      const json = JSON.stringify(session[key]);
      const before = this.#snapshot.get(key);
      if (json === before) continue;
      if (json === undefined) {
        core.delete(key);
        this.#snapshot.delete(key);
      } else {
        core.set(key, JSON.parse(json));
        this.#snapshot.set(key, json);
      }
    }
    for (const key of [...this.#snapshot.keys()]) {
      if (!seen.has(key)) {
        core.delete(key);
        this.#snapshot.delete(key);
      }
    }
    const cookie = session.cookie;
    if (cookie instanceof Cookie) {
      this.#exchange.cookie = cookie;
      const seconds = secondsOf(cookie.originalMaxAge);
      if (seconds !== this.#cookieSeconds) {
        this.#rs.setCookieLifetime(seconds);
        this.#cookieSeconds = seconds;
      }
      if (this.#legacy) {
        // express-session restarts a persistent cookie's lifetime whenever it saves it.
        const json = cookie.toJSON();
        if (json.originalMaxAge !== null) {
          json.expires = new Date(Date.now() + json.originalMaxAge);
        }
        core.meta = { ...core.meta, cookie: json };
      }
    }
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
    await this.#rs.destroy();
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
    await this.#rs.save();
  }

  touch(): void {
    this.#rs.touch();
  }

  #requireTesseraStore(what: string): void {
    if (!this.#legacy) return;
    throw new TesseraError(
      'ERR_CONFIG',
      `req.session.${what} needs a Tessera store (user index, handles); an express-session store ` +
        "has neither. Use one, e.g. createRedisStore() from 'tessera-session/stores/redis'.",
    );
  }

  async login(_session: Session, userId: string, options: ExpressLoginOptions): Promise<void> {
    this.#requireTesseraStore('login()');
    this.sync();
    const next = await this.#rs.login(userId, options);
    this.attach(next);
  }

  async sessions(): Promise<RequestSessionInfo[]> {
    this.#requireTesseraStore('sessions()');
    return this.#rs.sessions();
  }

  async revoke(_session: Session, handle: string): Promise<boolean> {
    this.#requireTesseraStore('revoke()');
    const revoked = await this.#rs.revoke(handle);
    if (this.#rs.destroyed) this.#forget();
    return revoked;
  }

  async signOutEverywhere(_session: Session, options: { keepCurrent?: boolean }): Promise<number> {
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
      if (this.#options.unset === 'destroy' && destroy) {
        this.#gone = true;
        return this.#rs.destroy();
      }
      if (this.#options.unset === 'keep') this.#rs.detach();
    }
    return undefined;
  }

  /** The end-of-request work; undefined (synchronously) when no store write was needed. */
  finish(): Promise<void> | undefined {
    const unset = this.#settleUnset(true);
    if (unset !== undefined) return unset.then(() => this.#rs.commit());
    return this.#rs.commit();
  }
}

function hookResponse(
  res: ServerResponse,
  controller: Controller,
  next: ExpressNext,
  logger: ResolvedExpressOptions['logger'],
): void {
  const originalEnd = res.end;
  const originalWriteHead = res.writeHead;
  let ending = false;
  let early: unknown;

  res.writeHead = function writeHead(this: ServerResponse, ...args: unknown[]) {
    if (!ending) {
      try {
        controller.flushCookie();
      } catch (error) {
        early = error;
      }
    }
    return (originalWriteHead as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as typeof res.writeHead;

  res.end = function end(this: ServerResponse, ...args: unknown[]) {
    if (ending) return (originalEnd as (...a: unknown[]) => ServerResponse).apply(this, args);
    ending = true;
    let finish: Promise<void> | undefined;
    try {
      finish = early === undefined ? controller.finish() : Promise.reject(early);
    } catch (error) {
      finish = Promise.reject(error);
    }
    if (finish === undefined) {
      // Nothing to write: end now, as express-session does for an unchanged session.
      return (originalEnd as (...a: unknown[]) => ServerResponse).apply(this, args);
    }
    finish.then(
      () => {
        (originalEnd as (...a: unknown[]) => ServerResponse).apply(res, args);
      },
      (error: unknown) => {
        if (res.headersSent) {
          // The response already left; it cannot become an error page any more.
          logger.warn(
            `tessera: session could not be saved after a streamed response (${String(error)})`,
          );
          (originalEnd as (...a: unknown[]) => ServerResponse).apply(res, args);
          return;
        }
        // Nothing the handler prepared goes out: not its body, not its cookies or redirect.
        for (const name of res.getHeaderNames()) res.removeHeader(name);
        res.end = originalEnd;
        res.writeHead = originalWriteHead;
        next(withHttpStatus(error));
      },
    );
    return this;
  } as typeof res.end;
}

/**
 * Creates the session middleware: express-session's options and `req.session` API, Tessera's
 * storage guarantees.
 * @example
 * import session from 'tessera-session/express';
 * app.use(session({ secret: process.env.SESSION_SECRET!, cookie: { maxAge: 86400e3 } }));
 * app.get('/', (req, res) => {
 *   req.session.views = (req.session.views ?? 0) + 1;
 *   res.send(`views: ${req.session.views}`);
 * });
 */
export function session(options: ExpressSessionOptions): ExpressSessionMiddleware {
  const resolved = resolveExpressOptions(options);
  const { logger } = resolved;
  let manager: LifecycleManager;
  let sessionManager: SessionManager | null = null;
  let store: TesseraStore | LegacyStore;
  const legacy = resolved.store?.kind === 'legacy' && !options.manager;
  if (options.manager) {
    sessionManager = options.manager;
    manager = options.manager;
    store = options.manager.store;
  } else if (resolved.store?.kind === 'legacy') {
    store = resolved.store.store;
    manager = createLegacyManager({
      store: resolved.store.store,
      storeTimeout: resolved.storeTimeout,
      genid: resolved.genid,
      requestOf: (exchange) => (exchange as ExpressExchange | undefined)?.req,
      now: options.now ?? Date.now,
    });
  } else {
    if (resolved.store === null) {
      if (resolved.production) logger.warn(MEMORY_STORE_WARNING);
      store = createMemoryStore(options.now ? { now: options.now } : {});
    } else {
      store = resolved.store.store;
    }
    if (resolved.genid) {
      logger.warn(
        'tessera: session() genid is used with express-session stores only; Tessera stores ' +
          'always issue 256-bit random IDs (and keep only their hash).',
      );
    }
    sessionManager = createSessionManager({
      store,
      idleTimeout: options.idleTimeout,
      absoluteTimeout: options.absoluteTimeout,
      touchInterval: options.touchInterval,
      maxSessionsPerUser: options.maxSessionsPerUser,
      onSessionLimit: options.onSessionLimit,
      onAnomaly: options.onAnomaly,
      storeTimeout: resolved.storeTimeout,
      now: options.now,
    });
    manager = sessionManager;
  }
  const template = new Cookie(resolved.cookie);
  const lifecycle = createRequestSessions({
    manager,
    cookie: expressCookieFormat(resolved),
    csrf: options.csrf,
    cookieMaxAge: defaultCookieSeconds(resolved),
    saveUninitialized: resolved.saveUninitialized,
    resave: resolved.resave,
    rolling: resolved.rolling,
    strictCookies: options.strictCookies,
    logger,
  });

  function middleware(rawReq: IncomingMessage, res: ServerResponse, next: ExpressNext): void {
    const req = rawReq as ExpressRequest;
    if (req.session) {
      next();
      return;
    }
    if (!pathOf(req).startsWith(resolved.cookie.path ?? '/')) {
      next();
      return;
    }
    req.sessionStore = store;
    const exchange = new ExpressExchange(req, res, isSecureRequest(req, resolved.proxy));
    let rs: RequestSession;
    try {
      rs = lifecycle.begin(exchange);
      rs.verifyCsrf();
    } catch (error) {
      next(withHttpStatus(error));
      return;
    }
    const requestSession = rs;
    requestSession
      .session()
      .then((core) => {
        const controller = new Controller(
          req,
          requestSession,
          exchange,
          resolved,
          legacy,
          template,
        );
        controller.attach(core);
        // express-session slides an unchanged stored session's expiry in its store on every request.
        if (legacy && !core.isNew) requestSession.touch();
        hookResponse(res, controller, next, logger);
      })
      .then(
        () => next(),
        (error: unknown) => next(withHttpStatus(error)),
      );
  }

  return Object.assign(middleware, { store, manager: sessionManager });
}
