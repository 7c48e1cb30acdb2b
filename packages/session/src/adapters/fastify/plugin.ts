/**
 * The Fastify 5 plugin: maps a Fastify request and reply onto the core's `HttpExchange`,
 * runs the shared request lifecycle (CSRF guard and eager load in `onRequest`, commit and
 * Set-Cookie in `onSend`) and exposes `request.session` with @fastify/session's API. Cookies
 * are read from the raw header with Tessera's codec, so @fastify/cookie is optional (and
 * works alongside: both only append Set-Cookie headers).
 */
import type {
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  onRequestAsyncHookHandler,
  onSendAsyncHookHandler,
} from 'fastify';
import fp from 'fastify-plugin';
import type { CookieAttributeOptions } from '../../cookies/index.js';
import { createCookieCodec } from '../../cookies/index.js';
import { createSessionManager, type SessionManager } from '../../core/manager.js';
import type { SessionManagerOptions } from '../../core/options.js';
import {
  codecCookieFormat,
  createRequestSessions,
  type HttpExchange,
  type RequestSession,
  type SessionLogger,
  withHttpStatus,
} from '../../http/request-session.js';
import { TesseraError } from '../../shared/errors.js';
import { createMemoryStore } from '../../stores/memory/index.js';
import type { Store } from '../../stores/store.js';
import {
  type CookieSettings,
  createFastifySession,
  type FastifySession,
  flushInPlaceChanges,
} from './session.js';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The session (tessera-session/fastify). Null after `request.session.destroy()`, as with
     * @fastify/session.
     */
    session: FastifySession;
  }
}

/** Cookie settings of the plugin (lifetimes in milliseconds, as in @fastify/session). */
export interface FastifyCookieOptions extends Omit<CookieAttributeOptions, 'maxAge'> {
  /**
   * Lifetime of the cookie in milliseconds (a persistent cookie, capped by the session's
   * absolute lifetime), at least 1000. Same unit as in the Express and fetch adapters.
   * @defaultValue none: a browser-session cookie
   */
  maxAge?: number;
}

/** Options of the plugin (`app.register(tessera, options)`). */
export interface FastifySessionPluginOptions extends Omit<SessionManagerOptions, 'store'> {
  /**
   * Where sessions live (use SQLite, Redis or PostgreSQL in production).
   * @defaultValue a memory store (one process only, lost on restart)
   */
  store?: Store;
  /**
   * An existing session manager (shared with other parts of the app); replaces `store` and the timeouts.
   * @defaultValue one made from `store` and the timeout options
   */
  manager?: SessionManager;
  /**
   * HMAC secrets that sign the cookie (each at least 32 characters; the first signs). Optional: IDs are 256-bit random.
   * @defaultValue none: the cookie is not signed
   */
  secret?: string | string[];
  /**
   * Cookie name without prefix (`__Host-tessera.sid` on HTTPS).
   * @defaultValue 'tessera.sid'
   */
  cookieName?: string;
  /**
   * Cookie attributes; `maxAge` in milliseconds.
   * @defaultValue `{ secure: 'auto', sameSite: 'lax', httpOnly: true, path: '/', prefix: 'auto' }`, no `maxAge`
   */
  cookie?: FastifyCookieOptions;
  /**
   * Store sessions nobody wrote to.
   * @defaultValue false (@fastify/session: true)
   */
  saveUninitialized?: boolean;
  /**
   * Send the cookie on every response.
   * @defaultValue false (@fastify/session: true)
   */
  rolling?: boolean;
  /**
   * CSRF guard for unsafe methods on requests with a session cookie: on by default
   * (`Sec-Fetch-Site`, else `Origin`/`Referer`); `false` turns it off.
   * @defaultValue on, `{ allowedOrigins: [], trustFetchMetadata: true }`
   */
  csrf?: false | { allowedOrigins?: string[]; trustFetchMetadata?: boolean };
  /**
   * A cookie that cannot be set (a `Secure` cookie over plain HTTP): false (default) logs a
   * warning and stores nothing; true fails such requests with `ERR_CONFIG`.
   * @defaultValue false
   */
  strictCookies?: boolean;
  /**
   * Receives warnings.
   * @defaultValue the Fastify instance's logger
   */
  logger?: SessionLogger;
}

const LIFECYCLE = Symbol('tessera.fastify.lifecycle');
const SESSION_OBJECT = Symbol('tessera.fastify.sessionObject');
const COMMITTED = Symbol('tessera.fastify.committed');

interface RequestState {
  [LIFECYCLE]?: RequestSession;
  [SESSION_OBJECT]?: FastifySession;
  [COMMITTED]?: boolean;
}

function headerOf(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  if (Array.isArray(value)) return value.join(', ');
  return value;
}

/** One request as the core lifecycle sees it (a class: no closures allocated per request). */
class FastifyExchange implements HttpExchange {
  readonly method: string;
  readonly path: string;
  readonly isSecure: boolean;
  readonly #request: FastifyRequest;
  readonly #reply: FastifyReply;

  constructor(request: FastifyRequest, reply: FastifyReply) {
    const url = request.url;
    const query = url.indexOf('?');
    this.method = request.method;
    this.path = query === -1 ? url : url.slice(0, query);
    this.isSecure = request.protocol === 'https';
    this.#request = request;
    this.#reply = reply;
  }

  get ip(): string | undefined {
    return this.#request.ip;
  }

  get userAgent(): string | undefined {
    return headerOf(this.#request, 'user-agent');
  }

  header(name: string): string | undefined {
    return headerOf(this.#request, name);
  }

  appendSetCookie(value: string): void {
    this.#reply.header('set-cookie', value);
  }
}

function cookieLifetimeSeconds(cookie: FastifyCookieOptions | undefined): number | undefined {
  const maxAge = cookie?.maxAge;
  if (maxAge === undefined) return undefined;
  if (typeof maxAge !== 'number' || !Number.isFinite(maxAge) || maxAge < 1000) {
    throw new TesseraError(
      'ERR_CONFIG',
      'cookie.maxAge must be a lifetime in milliseconds of at least 1000 (e.g. 86_400_000 for a day), or left out for a browser-session cookie',
    );
  }
  return Math.round(maxAge / 1000);
}

const tesseraFastify: FastifyPluginAsync<FastifySessionPluginOptions> = async (
  fastify: FastifyInstance,
  options: FastifySessionPluginOptions,
) => {
  const {
    manager: givenManager,
    store: givenStore,
    secret,
    cookieName,
    cookie,
    saveUninitialized,
    rolling,
    csrf,
    strictCookies,
    logger,
    ...managerOptions
  } = options ?? {};
  const now = managerOptions.now ?? Date.now;
  const cookieMaxAge = cookieLifetimeSeconds(cookie);
  const { maxAge: _ms, ...attributes } = cookie ?? {};
  const codec = createCookieCodec({
    ...attributes,
    name: cookieName ?? 'tessera.sid',
    ...(secret === undefined ? {} : { secrets: secret }),
    now,
  });
  let manager = givenManager;
  if (manager === undefined) {
    const store = givenStore ?? createMemoryStore();
    if (givenStore === undefined) fastify.addHook('onClose', () => store.close());
    manager = createSessionManager({ ...managerOptions, store });
  } else if (givenStore !== undefined) {
    throw new TesseraError(
      'ERR_CONFIG',
      'tessera-session/fastify: pass either manager or store, not both (the manager already has a store)',
    );
  }
  const sessions = createRequestSessions({
    manager,
    cookie: codecCookieFormat(codec),
    ...(csrf === undefined ? {} : { csrf }),
    ...(cookieMaxAge === undefined ? {} : { cookieMaxAge }),
    ...(saveUninitialized === undefined ? {} : { saveUninitialized }),
    ...(rolling === undefined ? {} : { rolling }),
    ...(strictCookies === undefined ? {} : { strictCookies }),
    logger: logger ?? fastify.log,
  });
  const settings: CookieSettings = {
    isSecure: (exchange) => codec.isSecure(exchange),
    path: cookie?.path ?? '/',
    domain: cookie?.domain,
    httpOnly: cookie?.httpOnly ?? true,
    sameSite: sameSiteOf(cookie?.sameSite),
    maxAgeSeconds: cookieMaxAge ?? null,
    now,
  };

  fastify.decorateRequest('session', null as unknown as FastifySession);

  const onRequest: onRequestAsyncHookHandler = async (request, reply) => {
    const state = request as unknown as RequestState;
    const exchange = new FastifyExchange(request, reply);
    const lifecycle = sessions.begin(exchange);
    state[LIFECYCLE] = lifecycle;
    try {
      lifecycle.verifyCsrf();
      await lifecycle.session();
    } catch (error) {
      throw withHttpStatus(error);
    }
    const sessionObject = createFastifySession(lifecycle, settings, () => {
      request.session = null as unknown as FastifySession;
    });
    state[SESSION_OBJECT] = sessionObject;
    request.session = sessionObject;
  };

  const onSend: onSendAsyncHookHandler<unknown> = async (request, _reply, payload) => {
    const state = request as unknown as RequestState;
    const lifecycle = state[LIFECYCLE];
    if (lifecycle === undefined || state[COMMITTED]) return payload;
    // The error path runs onSend again for the error response: commit once.
    state[COMMITTED] = true;
    try {
      flushInPlaceChanges(lifecycle, state[SESSION_OBJECT]);
      await lifecycle.commit();
    } catch (error) {
      throw withHttpStatus(error);
    }
    return payload;
  };

  fastify.addHook('onRequest', onRequest);
  fastify.addHook('onSend', onSend);
};

function sameSiteOf(value: CookieAttributeOptions['sameSite']): CookieSettings['sameSite'] {
  if (value === undefined) return 'lax';
  if (value === true) return 'strict';
  if (value === false) return undefined;
  return value.toLowerCase() as CookieSettings['sameSite'];
}

/**
 * The Tessera plugin for Fastify 5 (wrapped with fastify-plugin, name `tessera`), a drop-in
 * for @fastify/session's `request.session` API.
 * @example
 * import Fastify from 'fastify';
 * import tessera from 'tessera-session/fastify';
 * import { createSqliteStore } from 'tessera-session/stores/sqlite';
 *
 * const app = Fastify({ trustProxy: 1 });
 * await app.register(tessera, { store: createSqliteStore({ path: './data/sessions.db' }) });
 * app.get('/', async (request) => {
 *   request.session.views = ((request.session.views as number) ?? 0) + 1;
 *   return { views: request.session.views };
 * });
 */
export const tessera = fp(tesseraFastify, { fastify: '5.x', name: 'tessera' });
