/**
 * `session(options)`: the Express middleware of `tessera-session/express`, a drop-in for
 * express-session. It maps Express's request and response onto the shared request
 * lifecycle (`http/request-session.ts`) and exposes the session as express-session does:
 * `req.session` with the data as plain properties, `req.sessionID`, `req.sessionStore`;
 * Tessera's helpers are on `req.sessionControl`. Runs on Express 4 and 5.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSessionManager, type SessionManager } from '../../core/manager.js';
import type { Session as CoreSession } from '../../core/session.js';
import { createDbsc, type Dbsc, type DbscOptions } from '../../http/dbsc.js';
import { defaultStore } from '../../http/kit/default-store.js';
import {
  createRequestSessions,
  type LifecycleManager,
  type RequestSession,
  type RequestSessions,
} from '../../http/request-session.js';
import { isTesseraError, TesseraError } from '../../shared/errors.js';
import type { Store as TesseraStore } from '../../stores/store.js';
import { Controller, type ControllerSettings, secondsOf } from './controller.js';
import { Cookie, type CookieOptions } from './cookie.js';
import { expressCookieFormat } from './cookie-format.js';
import { ExpressExchange, type ExpressRequest, pathOf } from './exchange.js';
import { createLegacyManager, type LegacyStore } from './internal/legacy-manager.js';
import {
  type ExpressSessionOptions,
  type ResolvedExpressOptions,
  resolveCookie,
  resolveExpressOptions,
  type SessionSecret,
} from './options.js';
import {
  hookOf,
  hookResponse,
  installShared,
  placeHook,
  ResponseHook,
  settleShapes,
  toNextError,
} from './response.js';
import { createSessionControl, type SessionControl } from './session-control.js';

export type { ExpressRequest } from './exchange.js';

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

/** Without `absoluteTimeout`, no absolute limit: the cookie's lifetime rules, as in express-session. */
const NO_ABSOLUTE_LIMIT = 100 * 365 * 86_400;

interface Backend {
  manager: LifecycleManager;
  sessionManager: SessionManager | null;
  store: TesseraStore | LegacyStore;
  legacy: boolean;
}

function requestOf(exchange: unknown): unknown {
  return (exchange as ExpressExchange | undefined)?.req;
}

/** The hot-path calls of a manager that has them (`createSessionManager`'s). */
function promptCallsOf(
  manager: SessionManager,
): Pick<LifecycleManager, 'loadNow' | 'commitNow' | 'touchNow'> {
  const { loadNow, commitNow, touchNow } = manager as Partial<LifecycleManager>;
  if (loadNow === undefined || commitNow === undefined || touchNow === undefined) return {};
  return {
    loadNow: (id, facts) => loadNow.call(manager, id, facts),
    commitNow: (session) => commitNow.call(manager, session),
    touchNow: (session) => touchNow.call(manager, session),
  };
}

/** A Tessera manager whose new sessions take their ID from `genid(req)` (stored hashed). */
function withGenid(manager: SessionManager, genid: (req: unknown) => string): LifecycleManager {
  return {
    draft: (options = {}) => {
      const { exchange, ...rest } = options;
      return manager.draft({ ...rest, id: genid(requestOf(exchange)) });
    },
    load: (id, facts) => manager.load(id, facts),
    commit: (session) => manager.commit(session),
    touch: (session) => manager.touch(session),
    ...promptCallsOf(manager),
    reload: (session) => manager.reload(session),
    regenerate: (session) => manager.regenerate(session),
    login: (session, userId, options) => manager.login(session, userId, options),
    destroy: (session) => manager.destroy(session),
    listUserSessions: (userId) => manager.listUserSessions(userId),
    revoke: (handle, options) => manager.revoke(handle, options),
    revokeUserSessions: (userId, options) => manager.revokeUserSessions(userId, options),
    remainingMs: (session) => manager.remainingMs(session),
    now: () => manager.now(),
  };
}

function backendOf(options: ExpressSessionOptions, resolved: ResolvedExpressOptions): Backend {
  if (options.manager) {
    const manager = resolved.genid ? withGenid(options.manager, resolved.genid) : options.manager;
    return {
      manager,
      sessionManager: options.manager,
      store: options.manager.store,
      legacy: false,
    };
  }
  if (resolved.store?.kind === 'legacy') {
    const store = resolved.store.store;
    const manager = createLegacyManager({
      store,
      storeTimeout: resolved.storeTimeout,
      genid: resolved.genid,
      requestOf,
      now: options.now ?? Date.now,
    });
    return { manager, sessionManager: null, store, legacy: true };
  }
  const store =
    resolved.store?.store ??
    defaultStore({ adapter: 'tessera-session/express', logger: resolved.logger, now: options.now });
  const sessionManager = createSessionManager({
    store,
    idleTimeout: options.idleTimeout,
    absoluteTimeout: options.absoluteTimeout ?? NO_ABSOLUTE_LIMIT,
    touchInterval: options.touchInterval,
    maxSessionsPerUser: options.maxSessionsPerUser,
    onSessionLimit: options.onSessionLimit,
    onAnomaly: options.onAnomaly,
    storeTimeout: resolved.storeTimeout,
    now: options.now,
    customIds: resolved.genid !== undefined,
  });
  const manager = resolved.genid ? withGenid(sessionManager, resolved.genid) : sessionManager;
  return { manager, sessionManager, store, legacy: false };
}

/** express-session's store readiness: `disconnect` and `connect` events of an emitter store. */
function trackReadiness(store: unknown): () => boolean {
  let ready = true;
  const emitter = store as { on?: (event: string, listener: () => void) => unknown };
  if (typeof emitter?.on === 'function') {
    emitter.on('disconnect', () => {
      ready = false;
    });
    emitter.on('connect', () => {
      ready = true;
    });
  }
  return () => ready;
}

function defaultCookieSeconds(cookie: ResolvedExpressOptions['cookie']): number | undefined {
  if (typeof cookie === 'function') return undefined;
  const { maxAge, expires } = cookie;
  if (typeof maxAge === 'number') return secondsOf(maxAge) ?? undefined;
  if (expires !== undefined && expires !== null) {
    return secondsOf(new Date(expires).valueOf() - Date.now()) ?? undefined;
  }
  return undefined;
}

/** What one middleware holds for every request. */
interface Shared {
  resolved: ResolvedExpressOptions;
  dbsc: Dbsc | null;
  lifecycle: RequestSessions;
  backend: Backend;
  settings: ControllerSettings;
  template: Cookie | null;
  ready: () => boolean;
}

function settingsFor(shared: Shared, req: ExpressRequest): CookieOptions {
  const { cookie } = shared.resolved;
  return typeof cookie === 'function' ? resolveCookie(cookie(req), 'cookie(req)') : cookie;
}

function secretsFor(shared: Shared, req: ExpressRequest): SessionSecret[] | null {
  if (shared.resolved.secrets !== null) return shared.resolved.secrets;
  return typeof req.secret === 'string' && req.secret !== '' ? [req.secret] : null;
}

/** Express's `cookie.path` check; the default `/` matches every origin-form URL as it stands. */
function inCookiePath(req: ExpressRequest, prefix: string): boolean {
  if (prefix === '/' && (req.originalUrl || req.url || '/').charCodeAt(0) === 47) return true;
  return pathOf(req).startsWith(prefix);
}

function ownProperty(target: object, name: string, value: unknown): void {
  Object.defineProperty(target, name, {
    value,
    writable: true,
    enumerable: true,
    configurable: true,
  });
}

/**
 * `req.sessionID`, `req.sessionStore` and `req.sessionControl`, installed once on Express's
 * base request object: read from the request's hook, so a request gets no own properties for
 * them. Assigning any of them makes an own property, as before.
 */
const REQUEST_ACCESSORS: PropertyDescriptorMap = {
  sessionID: {
    configurable: true,
    get(this: ExpressRequest): string | undefined {
      return hookOf(this)?.sessionId;
    },
    set(this: ExpressRequest, value: unknown): void {
      ownProperty(this, 'sessionID', value);
    },
  },
  sessionStore: {
    configurable: true,
    get(this: ExpressRequest): unknown {
      return hookOf(this)?.store;
    },
    set(this: ExpressRequest, value: unknown): void {
      ownProperty(this, 'sessionStore', value);
    },
  },
  sessionControl: {
    configurable: true,
    get(this: ExpressRequest): SessionControl | undefined {
      const hook = hookOf(this);
      if (hook === undefined || hook.controller === null) return undefined;
      hook.control ??= createSessionControl(hook.controller);
      return hook.control as SessionControl;
    },
    set(this: ExpressRequest, value: unknown): void {
      ownProperty(this, 'sessionControl', value);
    },
  },
};

/** What `begin` answers: the request's lifecycle and hook, and whether `req` is Express's. */
interface Begun {
  rs: RequestSession;
  hook: ResponseHook;
  express: boolean;
}

function begin(
  shared: Shared,
  req: ExpressRequest,
  res: ServerResponse,
  next: ExpressNext,
): Begun | null {
  const settings = settingsFor(shared, req);
  if (!inCookiePath(req, settings.path ?? '/')) {
    next();
    return null;
  }
  const secrets = secretsFor(shared, req);
  if (secrets === null) {
    next(new Error('secret option required for sessions'));
    return null;
  }
  const express = installShared(req, res, REQUEST_ACCESSORS);
  // First the shapes: the hook and `req.session` are then cheap own properties of `req`.
  if (express) settleShapes(req, res);
  const hook = new ResponseHook(shared.backend.store, next, shared.resolved.logger);
  placeHook(req, hook);
  if (!express) {
    req.sessionStore = shared.backend.store;
    hookResponse(res, hook);
  }
  const template = shared.template ?? new Cookie(settings);
  const exchange = new ExpressExchange(
    req,
    res,
    shared.resolved.proxy,
    secrets,
    settings,
    template,
  );
  const rs = shared.lifecycle.begin(exchange);
  // DBSC endpoints are guarded by the signed proof, not by the CSRF checks (docs/bound-sessions.md).
  if (shared.dbsc?.endpointOf(exchange)) {
    answerDbsc(rs, res, next);
    return null;
  }
  rs.verifyCsrf();
  return { rs, hook, express };
}

function answerDbsc(rs: RequestSession, res: ServerResponse, next: ExpressNext): void {
  rs.dbscEndpoint().then(
    (answer) => {
      if (answer === null) return next();
      res.statusCode = answer.status;
      for (const [name, value] of answer.headers) res.appendHeader(name, value);
      res.end(answer.body);
    },
    (error: unknown) => next(toNextError(error)),
  );
}

/** A CSRF refusal names the option that turns the guard off (express-session has none). */
function explainCsrf(error: unknown): unknown {
  if (!isTesseraError(error, 'ERR_CSRF')) return error;
  return new TesseraError(
    'ERR_CSRF',
    `${error.message} (tessera-session/express guards unsafe requests that carry the session ` +
      'cookie; csrf: { allowedOrigins } admits other origins, csrf: false turns the guard off)',
  );
}

/** Puts the loaded (or new) session on `req`; the response hooks take it from here. */
function attach(shared: Shared, req: ExpressRequest, begun: Begun, core: CoreSession): void {
  const { rs, hook } = begun;
  const controller = new Controller(
    req,
    rs,
    rs.exchange as ExpressExchange,
    shared.settings,
    begun.express ? hook : null,
  );
  controller.attach(core);
  hook.controller = controller;
  if (!begun.express) req.sessionControl = createSessionControl(controller);
  // express-session slides an unchanged stored session's expiry in its store on every request.
  if (shared.backend.legacy && !core.isNew) rs.touch();
}

function handle(shared: Shared, req: ExpressRequest, res: ServerResponse, next: ExpressNext): void {
  if (req.session || !shared.ready()) {
    next();
    return;
  }
  let begun: Begun | null;
  try {
    begun = begin(shared, req, res, next);
  } catch (error) {
    next(toNextError(explainCsrf(error)));
    return;
  }
  if (begun === null) return;
  const started = begun;
  const loaded = started.rs.sessionNow();
  // The memory store answers within the call: no promise to wait for, `next()` right away.
  if (!(loaded instanceof Promise)) {
    attached(shared, req, started, loaded, next);
    return;
  }
  loaded.then(
    (core) => attached(shared, req, started, core, next),
    (error: unknown) => next(toNextError(error)),
  );
}

function attached(
  shared: Shared,
  req: ExpressRequest,
  begun: Begun,
  core: CoreSession,
  next: ExpressNext,
): void {
  try {
    attach(shared, req, begun, core);
  } catch (error) {
    next(toNextError(error));
    return;
  }
  next();
}

/** The DBSC server side when the option asks for it; only over a Tessera store (its key-value space). */
function dbscFor(
  option: boolean | DbscOptions | undefined,
  backend: Backend,
  resolved: ResolvedExpressOptions,
): Dbsc | null {
  if (option === undefined || option === false) return null;
  if (backend.sessionManager === null) {
    throw new TesseraError(
      'ERR_CONFIG',
      'session(): dbsc needs a Tessera store or manager (an express-session store has no place for its challenges)',
    );
  }
  const cookie = resolved.cookie;
  if (typeof cookie !== 'function' && (cookie.path ?? '/') !== '/') {
    throw new TesseraError(
      'ERR_CONFIG',
      "session(): dbsc needs cookie.path '/' (the browser must send the session cookie to the DBSC endpoints)",
    );
  }
  return createDbsc(backend.sessionManager.store, option === true ? {} : option);
}

/**
 * Creates the session middleware: express-session's options, defaults and `req.session`
 * API, Tessera's storage guarantees.
 * @example
 * import session from 'tessera-session/express';
 * app.use(session({ secret: process.env.SESSION_SECRET!, resave: false, saveUninitialized: false }));
 * app.get('/', (req, res) => {
 *   req.session.views = (req.session.views ?? 0) + 1;
 *   res.send(`views: ${req.session.views}`);
 * });
 */
export function session(options: ExpressSessionOptions): ExpressSessionMiddleware {
  const resolved = resolveExpressOptions(options);
  const backend = backendOf(options ?? {}, resolved);
  const dbsc = dbscFor(options?.dbsc, backend, resolved);
  const lifecycle = createRequestSessions({
    ...(dbsc === null ? {} : { dbsc }),
    manager: backend.manager,
    cookie: expressCookieFormat(resolved),
    csrf: options?.csrf,
    cookieMaxAge: defaultCookieSeconds(resolved.cookie),
    storeUnchangedNew: resolved.saveUninitialized,
    rewriteUnchanged: resolved.resave,
    cookieOnEveryResponse: resolved.rolling,
    strictCookies: options?.strictCookies,
    secureOnLoopback: false,
    logger: resolved.logger,
  });
  const shared: Shared = {
    resolved,
    dbsc,
    lifecycle,
    backend,
    settings: {
      unset: resolved.unset,
      legacy: backend.legacy,
      lifetimeFromCookie: options?.idleTimeout === undefined && !options?.manager,
      resave: resolved.resave,
    },
    template: typeof resolved.cookie === 'function' ? null : new Cookie(resolved.cookie),
    ready: trackReadiness(backend.store),
  };
  const middleware = (req: IncomingMessage, res: ServerResponse, next: ExpressNext): void =>
    handle(shared, req as ExpressRequest, res, next);
  return Object.assign(middleware, {
    store: backend.store,
    manager: backend.sessionManager,
  });
}
