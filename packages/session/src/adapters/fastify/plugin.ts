/**
 * The Fastify 5 plugin, a drop-in for @fastify/session 11: same options, defaults, cookie
 * format (`@fastify/cookie` signature, `cookiePrefix`), stores (callback stores and Tessera
 * stores), decorators (`request.session`, `request.sessionStore`, `fastify.decryptSession`)
 * and end-of-request rules (`saveUninitialized`, `rolling`, stale-cookie clearing). It maps
 * the request onto the core lifecycle (CSRF guard, load, regenerate, destroy) and decides the
 * write and the Set-Cookie at `onSend` by @fastify/session's rules. Cookies are read from the
 * raw header, so @fastify/cookie is optional (and works alongside).
 */
import type {
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  onRequestHookHandler,
  onSendHookHandler,
} from 'fastify';
import fp from 'fastify-plugin';
import type { HttpExchange, RequestSession } from '../../http/request-session.js';
import { withHttpStatus } from '../../http/request-session.js';
import { TesseraError } from '../../shared/errors.js';
import type { Store } from '../../stores/store.js';
import { createSessionControl, type FastifySessionControl } from './control.js';
import {
  clearSessionCookie,
  type FastifyCookieOptions,
  type SessionCookie,
  serializeSessionCookie,
} from './cookie.js';
import type { CallbackStore } from './internal/callback-store.js';
import { createEngine, type Engine } from './internal/engine.js';
import { FastifyExchange, matchesCookiePath } from './internal/exchange.js';
import { type FastifySessionPluginOptions, resolveFastifyOptions } from './options.js';
import {
  createFastifySession,
  type FastifySession,
  flushInPlaceChanges,
  isDataModified,
  type SessionContext,
  sessionCookieOf,
  wasSaved,
} from './session.js';

declare module 'fastify' {
  /**
   * The app's session data, typed by declaration merging as with @fastify/session:
   * `declare module 'fastify' { interface Session { userId: number } }`.
   */
  interface Session {}
  interface FastifyRequest {
    /** The session (tessera-session/fastify). Null after `request.session.destroy()`. */
    session: FastifySession;
    /** The store sessions live in (as @fastify/session decorates it). */
    readonly sessionStore: Store | CallbackStore;
    /** Tessera's helpers: handle, user, login, device list, sign-out-everywhere. */
    readonly sessionControl: FastifySessionControl;
  }
  interface FastifyInstance {
    /**
     * Loads the session a signed cookie value names into `request.session` (as
     * @fastify/session's `decryptSession`); `cookieOptions` override the configured ones.
     */
    decryptSession<R extends { session?: unknown }>(
      sessionId: string,
      request: R,
      cookieOptionsOrCallback: FastifyCookieOptions | ((error?: unknown) => void),
      callback?: (error?: unknown) => void,
    ): void;
  }
}

const STATE = Symbol('tessera.fastify.request');

interface RequestState {
  lifecycle: RequestSession;
  exchange: HttpExchange;
  /** The cookie value the request carried (prefix removed), or null. */
  cookieValue: string | null;
  /** Made on first use of `request.sessionControl`. */
  control: FastifySessionControl | null;
  request: FastifyRequest;
  loggedIn: boolean;
  done: boolean;
  /**
   * The end's store write while it runs. An app that sends twice (`reply.send()` in an async
   * handler without `return reply`) runs onSend twice: the second waits for the first's
   * write and Set-Cookie, as it did when the hook was async.
   */
  ending: Promise<void> | undefined;
}

type StatefulRequest = FastifyRequest & { [STATE]?: RequestState };

/** `request.sessionControl` of a request, made the first time the app asks for it. */
function controlOf(state: RequestState): FastifySessionControl {
  if (state.control !== null) return state.control;
  const { lifecycle, request } = state;
  state.control = createSessionControl(lifecycle, {
    onEnded: () => {
      request.session = null as unknown as FastifySession;
    },
    onLogin: () => {
      state.loggedIn = true;
      const seconds = lifecycle.current?.meta.cookieMaxAge;
      if (typeof seconds === 'number') request.session?.options({ maxAge: seconds * 1000 });
    },
  });
  return state.control;
}

function asHttpError(error: unknown): unknown {
  // A store's own error reaches the app as the store gave it (as with @fastify/session);
  // Tessera's errors carry their status (503 for an unreachable store, 403 for CSRF).
  return error instanceof TesseraError ? withHttpStatus(error) : error;
}

function contextFor(
  engine: Engine,
  lifecycle: RequestSession,
  cookieOptions: FastifyCookieOptions,
  assign: (value: FastifySession | null) => void,
): SessionContext {
  return {
    lifecycle,
    exchange: lifecycle.exchange,
    signer: engine.resolved.signer,
    cookieOptions,
    now: engine.resolved.now,
    persist: engine.persist,
    reread: engine.reread,
    discardNew: engine.discardNew,
    assign,
  };
}

/** Answers a DBSC registration or refresh request in place of the app; false for any other. */
async function answerDbsc(lifecycle: RequestSession, reply: FastifyReply): Promise<boolean> {
  let answer: Awaited<ReturnType<RequestSession['dbscEndpoint']>>;
  try {
    answer = await lifecycle.dbscEndpoint();
  } catch (error) {
    throw asHttpError(error);
  }
  if (answer === null) return false;
  reply.code(answer.status);
  for (const [name, value] of answer.headers) reply.header(name, value);
  await reply.send(answer.body);
  return true;
}

/**
 * Begins the request's session; answers true when the request was answered here (DBSC), and
 * false at once (no promise) outside the cookie's path.
 */
function beginRequest(
  engine: Engine,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<boolean> | false {
  const exchange = new FastifyExchange(request, reply);
  if (!matchesCookiePath(exchange.path, engine.resolved.cookie.path || '/')) {
    // Outside the cookie's path the browser sends no cookie: no session here (as @fastify/session).
    request.session = {} as FastifySession;
    return false;
  }
  const lifecycle = engine.sessions.begin(exchange);
  // DBSC endpoints are guarded by the signed proof, not by the CSRF checks.
  if (engine.dbsc?.endpointOf(exchange)) {
    return answerDbsc(lifecycle, reply).then(
      (answered) => answered || startSession(engine, request, lifecycle),
    );
  }
  return startSession(engine, request, lifecycle);
}

/** Attaches the request's state, runs the CSRF guard and loads the session. */
async function startSession(
  engine: Engine,
  request: FastifyRequest,
  lifecycle: RequestSession,
): Promise<false> {
  const { resolved } = engine;
  const exchange = lifecycle.exchange as FastifyExchange;
  const assign = (value: FastifySession | null): void => {
    request.session = value as FastifySession;
  };
  const state: RequestState = {
    lifecycle,
    exchange,
    cookieValue: exchange.sessionCookieValue(resolved.cookieName, resolved.cookiePrefix),
    control: null,
    request,
    loggedIn: false,
    done: false,
    ending: undefined,
  };
  (request as StatefulRequest)[STATE] = state;
  try {
    lifecycle.verifyCsrf();
  } catch (error) {
    engine.warnOnce(
      'csrf',
      'tessera-session/fastify refused a cross-site unsafe request that carried the session cookie (ERR_CSRF, 403); @fastify/session has no such guard: set csrf: false to restore its behaviour, or csrf.allowedOrigins for trusted origins.',
    );
    throw asHttpError(error);
  }
  try {
    await lifecycle.session();
  } catch (error) {
    throw asHttpError(error);
  }
  request.session = createFastifySession(contextFor(engine, lifecycle, resolved.cookie, assign));
  return false;
}

/**
 * Decides the end of the request by @fastify/session's rules; answers a promise only when
 * the store is written (a read-only request ends without one).
 */
function endRequest(engine: Engine, request: StatefulRequest): Promise<void> | undefined {
  const state = request[STATE];
  if (state === undefined) return undefined;
  if (state.done) return state.ending?.then(ignore, ignore);
  state.done = true;
  const { resolved } = engine;
  const { lifecycle, exchange, cookieValue } = state;
  const session = lifecycle.current;
  if (session === null) {
    // Destroyed in this request: the browser forgets the cookie too (Tessera; @fastify/session leaves it).
    if (lifecycle.destroyed && cookieValue !== null) clearCookie(engine, exchange);
    return undefined;
  }
  const sessionObject = request.session;
  flushInPlaceChanges(sessionObject);
  const cookie = sessionCookieOf(sessionObject, session);
  if (cookie === undefined) return undefined;
  const signed = resolved.signer.sign(session.id);
  const idChanged = session.id !== lifecycle.cookieId;
  // The same session under a cookie signed with an older secret: re-sign it. (@fastify/session
  // treats it as a new session and, without saveUninitialized, clears the cookie: a sign-out
  // on every secret rotation.)
  const resign = !idChanged && cookieValue !== signed;
  const modified = isDataModified(session) || state.loggedIn || (session.isDirty && !session.isNew);
  const save = idChanged ? resolved.saveUninitialized || modified : resolved.rolling || modified;
  const insecure = cookie.secure === true && !exchange.isSecure;
  if (!save || insecure) {
    if (save && insecure) {
      const message = `tessera-session/fastify: the session cookie '${resolved.cookieName}' is Secure (cookie.secure defaults to true, as in @fastify/session) but this request arrived over plain HTTP, so the session was not saved; use cookie.secure 'auto', serve over HTTPS, or set Fastify's trustProxy so it can report HTTPS.`;
      if (resolved.strictCookies) throw new TesseraError('ERR_CONFIG', message);
      engine.warnOnce('secure-over-http', message);
    }
    if (cookieValue !== null && idChanged) clearCookie(engine, exchange);
    if (wasSaved(sessionObject) || (resign && !insecure))
      sendCookie(engine, exchange, signed, cookie);
    return undefined;
  }
  const write = engine.persistAtEnd(session);
  if (write === undefined) {
    sendCookie(engine, exchange, signed, cookie);
    return undefined;
  }
  state.ending = write.then(() => sendCookie(engine, exchange, signed, cookie));
  return state.ending;
}

/** The first end reports its own failure; a repeated one only waits for it. */
function ignore(): void {}

function clearCookie(engine: Engine, exchange: HttpExchange): void {
  const { resolved } = engine;
  exchange.appendSetCookie(clearSessionCookie(resolved.cookieName, resolved.cookie));
}

function sendCookie(
  engine: Engine,
  exchange: HttpExchange,
  signed: string,
  cookie: SessionCookie,
): void {
  const { resolved } = engine;
  exchange.appendSetCookie(
    serializeSessionCookie(
      resolved.cookieName,
      resolved.cookiePrefix + signed,
      cookie,
      resolved.defaultLax,
    ),
  );
}

const tesseraFastify: FastifyPluginAsync<FastifySessionPluginOptions> = async (
  fastify: FastifyInstance,
  options: FastifySessionPluginOptions,
) => {
  const resolved = resolveFastifyOptions(options);
  const engine = createEngine(fastify, resolved);
  const store = engine.store;

  fastify.decorateRequest('session', null as unknown as FastifySession);
  // Declared, so every request object has it from construction (one shape, not a new one
  // when the hook adds it).
  fastify.decorateRequest(STATE as unknown as string, undefined);
  fastify.decorateRequest('sessionStore', { getter: () => store });
  fastify.decorateRequest('sessionControl', {
    getter(this: FastifyRequest): FastifySessionControl {
      const state = (this as StatefulRequest)[STATE];
      if (state === undefined) {
        throw new TesseraError(
          'ERR_INVALID_ARGUMENT',
          'request.sessionControl: this request has no session (outside the cookie path)',
        );
      }
      return controlOf(state);
    },
  });
  fastify.decorate('decryptSession', decryptSessionFor(engine));

  // Callback hooks, not async ones: a request that loads nothing (outside the cookie path)
  // or writes nothing (read-only) goes on at once, with no promise for Fastify to wait on.
  const onRequest: onRequestHookHandler = (request, reply, done) => {
    let begun: Promise<boolean> | false;
    try {
      begun = beginRequest(engine, request, reply);
    } catch (error) {
      done(error as Error);
      return;
    }
    if (begun === false) {
      done();
      return;
    }
    // Answered here (DBSC): the chain stops, as Fastify's callback hooks stop without done().
    begun.then(
      (answered) => {
        if (!answered) done();
      },
      (error: unknown) => done(error as Error),
    );
  };
  const onSend: onSendHookHandler<unknown> = (request, _reply, payload, done) => {
    let ended: Promise<void> | undefined;
    try {
      ended = endRequest(engine, request as StatefulRequest);
    } catch (error) {
      done(asHttpError(error) as Error);
      return;
    }
    if (ended === undefined) {
      done(null, payload);
      return;
    }
    ended.then(
      () => {
        // As Fastify does for async hooks: what the rest of the send throws (headers already
        // sent by a second send) goes to its error path, not to an unhandled rejection.
        try {
          done(null, payload);
        } catch (error) {
          done(error as Error);
        }
      },
      (error: unknown) => done(asHttpError(error) as Error),
    );
  };
  fastify.addHook('onRequest', onRequest);
  fastify.addHook('onSend', onSend);
};

function decryptSessionFor(engine: Engine): FastifyInstance['decryptSession'] {
  const { resolved } = engine;
  return (sessionId, request, cookieOptionsOrCallback, callback) => {
    const done = typeof cookieOptionsOrCallback === 'function' ? cookieOptionsOrCallback : callback;
    const extra =
      typeof cookieOptionsOrCallback === 'function' ? {} : (cookieOptionsOrCallback ?? {});
    const exchange = FastifyExchange.detached(
      resolved.cookieName,
      resolved.cookiePrefix + sessionId,
    );
    const lifecycle = engine.sessions.begin(exchange);
    const target = request as { session?: unknown };
    const assign = (value: FastifySession | null): void => {
      target.session = value;
    };
    lifecycle.session().then(
      () => {
        assign(
          createFastifySession(
            contextFor(engine, lifecycle, { ...resolved.cookie, ...extra }, assign),
          ),
        );
        done?.();
      },
      (error: unknown) => done?.(error),
    );
  };
}

/**
 * The Tessera plugin for Fastify 5 (wrapped with fastify-plugin, name `tessera`), a drop-in
 * for @fastify/session: same options and `request.session` API; Tessera's helpers on
 * `request.sessionControl`.
 * @example
 * import Fastify from 'fastify';
 * import tessera from 'tessera-session/fastify';
 * import { createSqliteStore } from 'tessera-session/stores/sqlite';
 *
 * const app = Fastify({ trustProxy: 1 });
 * await app.register(tessera, {
 *   secret: process.env.SESSION_SECRET, // 32 characters or more
 *   store: createSqliteStore({ path: './data/sessions.db' }),
 * });
 * app.get('/', async (request) => {
 *   request.session.views = ((request.session.views as number) ?? 0) + 1;
 *   return { views: request.session.views };
 * });
 */
export const tessera = fp(tesseraFastify, { fastify: '5.x', name: 'tessera' });
