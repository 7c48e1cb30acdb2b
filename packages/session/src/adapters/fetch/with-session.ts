/**
 * Sessions for Web-standard `Request` → `Response` handlers (Hono, Next.js route handlers,
 * Bun/Deno-style servers, Node's `http` through a small bridge): maps a `Request` onto the
 * core's `HttpExchange`, runs the shared lifecycle around the handler (CSRF guard and load
 * before, commit after) and appends the Set-Cookie headers to the Response it returns.
 */

import type { CookieAttributeOptions } from '../../cookies/index.js';
import { createCookieCodec } from '../../cookies/index.js';
import { createSessionManager, type SessionManager } from '../../core/manager.js';
import type { SessionManagerOptions } from '../../core/options.js';
import { createDbsc, type Dbsc, type DbscAnswer, type DbscOptions } from '../../http/dbsc.js';
import { defaultStore } from '../../http/kit/default-store.js';
import { rejectUnknownOptions } from '../../http/kit/unknown-options.js';
import {
  codecCookieFormat,
  createRequestSessions,
  type HttpExchange,
  httpStatusOf,
  type RequestSession,
  type SessionLogger,
  withHttpStatus,
} from '../../http/request-session.js';
import { TesseraError } from '../../shared/errors.js';
import type { Store } from '../../stores/store.js';
import { createFetchSession, type FetchSession } from './session.js';

/**
 * Cookie settings of the fetch adapter. `maxAge` is in milliseconds, as in the Express and
 * Fastify adapters (express-session's and @fastify/session's convention), so one cookie
 * configuration means the same in all three.
 * @example
 * withSession(handler, { store, cookie: { maxAge: 30 * 86_400_000 } }); // 30 days
 */
export interface FetchCookieOptions extends Omit<CookieAttributeOptions, 'maxAge'> {
  /**
   * Lifetime of the session cookie in milliseconds (at least 1000): every session cookie is
   * then persistent, capped by the session's absolute lifetime.
   * @defaultValue none: a browser-session cookie (no `Max-Age`)
   */
  maxAge?: number;
}

/**
 * Options of {@link createFetchSessions} and {@link withSession}. The fetch adapter mirrors no
 * peer: it writes only what a request changed and sends the cookie only when it changes, so it
 * has none of express-session's `resave`, `saveUninitialized` or `rolling`; an option it does
 * not know is an `ERR_CONFIG` naming it.
 */
export interface FetchSessionOptions extends Omit<SessionManagerOptions, 'store' | 'customIds'> {
  /**
   * Where sessions live (or pass `manager`).
   * @defaultValue a Tessera memory store (one process, lost on restart; a warning in production)
   */
  store?: Store;
  /**
   * An existing session manager; replaces `store` and the timeouts.
   * @defaultValue one made from `store` and the timeout options
   */
  manager?: SessionManager;
  /**
   * HMAC secrets that sign the cookie (each at least 32 characters; the first signs). Optional.
   * @defaultValue none: the cookie is not signed (IDs are 256-bit random)
   */
  secret?: string | string[];
  /**
   * Cookie name without prefix (`__Host-tessera.sid` on HTTPS).
   * @defaultValue 'tessera.sid'
   */
  cookieName?: string;
  /**
   * Cookie attributes; `maxAge` (milliseconds) makes every session cookie persistent.
   * @defaultValue `{ secure: 'auto', sameSite: 'lax', httpOnly: true, path: '/', prefix: 'auto' }`, no `maxAge`
   */
  cookie?: FetchCookieOptions;
  /**
   * CSRF guard for unsafe methods on requests with a session cookie; `false` turns it off.
   * @defaultValue on, `{ allowedOrigins: [], trustFetchMetadata: true }`
   */
  csrf?: false | { allowedOrigins?: string[]; trustFetchMetadata?: boolean };
  /**
   * A `Secure` cookie over plain HTTP: warn and store nothing (false), or fail the request with `ERR_CONFIG` (true).
   * @defaultValue false
   */
  strictCookies?: boolean;
  /**
   * Device-bound sessions (DBSC): `true` or options turn them on. Every sign-in then offers
   * Chromium a key-bound session, and a bound session's requests count only with its
   * short-lived bound cookie (docs/bound-sessions.md).
   * @defaultValue false: sessions are not device-bound
   */
  dbsc?: boolean | DbscOptions;
  /**
   * Receives warnings.
   * @defaultValue console
   */
  logger?: SessionLogger;
  /**
   * Trust `X-Forwarded-Proto` and `X-Forwarded-For` from the proxy in front (only behind a
   * proxy that sets them).
   * @defaultValue false: HTTPS is read from the request URL
   */
  trustProxy?: boolean;
  /**
   * The client address (e.g. from the server's connection info), for device lists and risk checks.
   * @defaultValue none (with `trustProxy`, `X-Forwarded-For`)
   */
  clientAddress?: (request: Request) => string | undefined;
  /**
   * The response for a request refused by the session layer: 403 (`ERR_CSRF`), 503 (store
   * unavailable) or 500.
   * @defaultValue a JSON body `{ "error", "message" }` with that status
   */
  onError?: (error: TesseraError, request: Request) => Response | Promise<Response>;
}

/** What the handler receives beside the request. */
export interface SessionContext {
  session: FetchSession;
}

/** A handler that takes a session; extra arguments of the server (Next.js's `{ params }`, Bun's server, …) follow `ctx`. */
export type SessionHandler<Extra extends unknown[] = []> = (
  request: Request,
  ctx: SessionContext,
  ...extra: Extra
) => Response | Promise<Response>;

/** Configured sessions for fetch handlers: share one between many handlers. */
export interface FetchSessions {
  readonly manager: SessionManager;
  /** Wraps a handler: `(request, ...extra) => Promise<Response>`. */
  wrap<Extra extends unknown[] = []>(
    handler: SessionHandler<Extra>,
  ): (request: Request, ...extra: Extra) => Promise<Response>;
  /** Runs the lifecycle before a handler; used by the Hono middleware and custom integrations. */
  begin(request: Request): Promise<FetchSessionRun>;
}

/** One request's session, begun by {@link FetchSessions.begin}. */
export interface FetchSessionRun {
  /** The refusal to send instead of running the handler (CSRF, store down), or null. */
  readonly refusal: Response | null;
  readonly session: FetchSession;
  /** Set-Cookie values to send, filled by `commit`. */
  readonly cookies: readonly string[];
  /** Other headers to send (DBSC's `Secure-Session-Registration` after a sign-in). */
  readonly headers: readonly [string, string][];
  /** Writes the session; answers the error response to send instead (store down), or null. */
  commit(): Promise<Response | null>;
  /** Commits and returns `response` with the Set-Cookie headers (or an error response). */
  finish(response: Response): Promise<Response>;
  /**
   * The answer to a `TesseraError` the handler let escape (e.g. a bad `session.stepUp`
   * argument → 400, a store outage in `session.login` → 503): `onError`'s response, else the
   * default JSON one. Nothing is committed; the session stays as the store has it.
   */
  refuse(error: TesseraError): Response | Promise<Response>;
}

/** Every option {@link createFetchSessions} honours; any other is refused. */
const KNOWN_OPTIONS: readonly (keyof FetchSessionOptions)[] = [
  'store',
  'manager',
  'secret',
  'cookieName',
  'cookie',
  'csrf',
  'strictCookies',
  'dbsc',
  'logger',
  'trustProxy',
  'clientAddress',
  'onError',
  'idleTimeout',
  'absoluteTimeout',
  'touchInterval',
  'maxSessionsPerUser',
  'onSessionLimit',
  'storeTimeout',
  'onAnomaly',
  'now',
];

const STATUS_TEXT: Record<number, string> = {
  403: 'forbidden',
  409: 'session_conflict',
  500: 'internal_error',
  503: 'store_unavailable',
};

function defaultErrorResponse(error: TesseraError): Response {
  const status = httpStatusOf(error);
  const message = status === 500 ? 'internal error' : error.message;
  return Response.json({ error: STATUS_TEXT[status] ?? 'error', message }, { status });
}

function firstListValue(value: string | null): string | undefined {
  if (value === null) return undefined;
  const comma = value.indexOf(',');
  return (comma === -1 ? value : value.slice(0, comma)).trim().toLowerCase();
}

function lastListValue(value: string | null): string | undefined {
  if (value === null) return undefined;
  const last = value.slice(value.lastIndexOf(',') + 1).trim();
  return last === '' ? undefined : last;
}

class RequestExchange implements HttpExchange {
  readonly method: string;
  readonly path: string;
  readonly isSecure: boolean;
  readonly ip: string | undefined;
  readonly userAgent: string | undefined;
  readonly cookies: string[] = [];
  /** Other response headers (DBSC's registration offer). */
  readonly extraHeaders: [string, string][] = [];
  readonly #headers: Headers;
  readonly #host: string;

  constructor(request: Request, options: FetchSessionOptions) {
    const url = new URL(request.url);
    this.method = request.method;
    this.path = url.pathname;
    this.#headers = request.headers;
    this.#host = url.host;
    const forwardedProto = options.trustProxy
      ? firstListValue(request.headers.get('x-forwarded-proto'))
      : undefined;
    this.isSecure =
      forwardedProto === undefined ? url.protocol === 'https:' : forwardedProto === 'https';
    this.ip =
      options.clientAddress?.(request) ??
      (options.trustProxy ? lastListValue(request.headers.get('x-forwarded-for')) : undefined);
    this.userAgent = request.headers.get('user-agent') ?? undefined;
  }

  header(name: string): string | undefined {
    const value = this.#headers.get(name);
    // A Request built from a URL has no Host header; the URL names the host the app answers on.
    if (value === null) return name === 'host' ? this.#host : undefined;
    return value;
  }

  appendSetCookie(value: string): void {
    this.cookies.push(value);
  }

  appendHeader(name: string, value: string): void {
    this.extraHeaders.push([name, value]);
  }
}

function withCookies(
  response: Response,
  cookies: string[],
  extra: [string, string][] = [],
): Response {
  if (cookies.length === 0 && extra.length === 0) return response;
  const headers: [string, string][] = [
    ...extra,
    ...cookies.map((cookie): [string, string] => ['set-cookie', cookie]),
  ];
  let target = response;
  try {
    for (const [name, value] of headers) target.headers.append(name, value);
  } catch {
    // Immutable headers (Response.redirect(), a fetch() response): copy into a new Response.
    target = new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers: new Headers(response.headers),
    });
    for (const [name, value] of headers) target.headers.append(name, value);
  }
  return target;
}

function dbscResponse(answer: DbscAnswer): Response {
  return new Response(answer.body, { status: answer.status, headers: answer.headers });
}

/**
 * Creates sessions for fetch handlers; `wrap` each handler, or pass the result to
 * {@link withSession} and `tesseraHono`.
 * @example
 * const sessions = createFetchSessions({ store: createMemoryStore() });
 * export const GET = sessions.wrap(async (request, { session }) => Response.json(session.toJSON()));
 */
export function createFetchSessions(options: FetchSessionOptions): FetchSessions {
  if (!options || typeof options !== 'object') {
    throw new TesseraError(
      'ERR_CONFIG',
      'tessera-session/fetch needs an options object (e.g. { store })',
    );
  }
  rejectUnknownOptions('tessera-session/fetch', options, KNOWN_OPTIONS);
  const { manager: givenManager, store, secret, cookieName, cookie, logger, onError } = options;
  let manager: SessionManager;
  if (givenManager !== undefined) {
    if (store !== undefined) {
      throw new TesseraError(
        'ERR_CONFIG',
        'tessera-session/fetch: pass either manager or store, not both (the manager already has a store)',
      );
    }
    manager = givenManager;
  } else {
    manager = createSessionManager({
      store:
        store ??
        defaultStore({
          adapter: 'tessera-session/fetch',
          logger: logger ?? console,
          now: options.now,
        }),
      idleTimeout: options.idleTimeout,
      absoluteTimeout: options.absoluteTimeout,
      touchInterval: options.touchInterval,
      maxSessionsPerUser: options.maxSessionsPerUser,
      onSessionLimit: options.onSessionLimit,
      storeTimeout: options.storeTimeout,
      onAnomaly: options.onAnomaly,
      now: options.now,
    });
  }
  const { maxAge: maxAgeMs, ...attributes } = cookie ?? {};
  const maxAge = cookieLifetimeSeconds(maxAgeMs);
  const codec = createCookieCodec({
    ...attributes,
    name: cookieName ?? 'tessera.sid',
    ...(secret === undefined ? {} : { secrets: secret }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  const dbsc = dbscFor(options, manager);
  const lifecycles = createRequestSessions({
    ...(dbsc === null ? {} : { dbsc }),
    manager,
    cookie: codecCookieFormat(codec),
    ...(options.csrf === undefined ? {} : { csrf: options.csrf }),
    ...(maxAge === undefined ? {} : { cookieMaxAge: maxAge }),
    ...(options.strictCookies === undefined ? {} : { strictCookies: options.strictCookies }),
    ...(logger === undefined ? {} : { logger }),
  });

  const refuse = (error: unknown, request: Request): Response | Promise<Response> => {
    const tessera = withHttpStatus(error);
    return onError ? onError(tessera, request) : defaultErrorResponse(tessera);
  };

  const begin = async (request: Request): Promise<FetchSessionRun> => {
    const exchange = new RequestExchange(request, options);
    const lifecycle: RequestSession = lifecycles.begin(exchange);
    const control = createFetchSession(lifecycle);
    let refusal: Response | null = null;
    try {
      // DBSC endpoints are guarded by the signed proof, not by the CSRF checks.
      const answer = dbsc?.endpointOf(exchange) ? await lifecycle.dbscEndpoint() : null;
      if (answer !== null) refusal = dbscResponse(answer);
      else lifecycle.verifyCsrf();
      await lifecycle.session();
    } catch (error) {
      refusal = await refuse(error, request);
    }
    const commit = async (): Promise<Response | null> => {
      try {
        control.flushInPlaceChanges();
        await lifecycle.commit();
        return null;
      } catch (error) {
        return refuse(error, request);
      }
    };
    return {
      refusal,
      refuse: (error: TesseraError) => refuse(error, request),
      session: control.session,
      cookies: exchange.cookies,
      headers: exchange.extraHeaders,
      commit,
      async finish(response: Response): Promise<Response> {
        const failure = await commit();
        return failure ?? withCookies(response, exchange.cookies, exchange.extraHeaders);
      },
    };
  };

  return {
    manager,
    begin,
    wrap<Extra extends unknown[] = []>(handler: SessionHandler<Extra>) {
      if (typeof handler !== 'function') {
        throw new TesseraError('ERR_INVALID_ARGUMENT', 'wrap(handler): handler must be a function');
      }
      return async (request: Request, ...extra: Extra): Promise<Response> => {
        const run = await begin(request);
        if (run.refusal !== null) return run.refusal;
        let response: Response;
        try {
          response = await handler(request, { session: run.session }, ...extra);
        } catch (error) {
          // The session helpers' own errors get their status; the app's errors stay the app's.
          if (error instanceof TesseraError) return run.refuse(error);
          throw error;
        }
        return run.finish(response);
      };
    },
  };
}

/**
 * Wraps a `Request` → `Response` handler with sessions: the handler gets `ctx.session`, and
 * the Response it returns leaves with the session cookie. Extra server arguments (Next.js's
 * `{ params }`, Bun's server) are passed on after `ctx`.
 * @example
 * import { withSession } from 'tessera-session/fetch';
 * import { createMemoryStore } from 'tessera-session/stores/memory';
 *
 * export default {
 *   fetch: withSession(async (request, { session }) => {
 *     session.set('views', (session.get<number>('views') ?? 0) + 1);
 *     return Response.json({ views: session.get('views') });
 *   }, { store: createMemoryStore() }),
 * };
 */
export function withSession<Extra extends unknown[] = []>(
  handler: SessionHandler<Extra>,
  options: FetchSessionOptions | FetchSessions,
): (request: Request, ...extra: Extra) => Promise<Response> {
  const sessions = isFetchSessions(options) ? options : createFetchSessions(options);
  return sessions.wrap(handler);
}

/**
 * True when `value` was made by {@link createFetchSessions}.
 * @example isFetchSessions(createFetchSessions({ store })) // true
 */
export function isFetchSessions(value: unknown): value is FetchSessions {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as FetchSessions).wrap === 'function' &&
    typeof (value as FetchSessions).begin === 'function'
  );
}

/** `cookie.maxAge` (milliseconds, as in the other adapters) as whole seconds. */
function cookieLifetimeSeconds(maxAgeMs: number | undefined): number | undefined {
  if (maxAgeMs === undefined) return undefined;
  if (typeof maxAgeMs !== 'number' || !Number.isFinite(maxAgeMs) || maxAgeMs < 1000) {
    throw new TesseraError(
      'ERR_CONFIG',
      'tessera-session/fetch: cookie.maxAge must be a lifetime in milliseconds of at least 1000 (e.g. 86_400_000 for a day), or left out for a browser-session cookie',
    );
  }
  return Math.round(maxAgeMs / 1000);
}

/** The DBSC server side when the `dbsc` option asks for it. */
function dbscFor(options: FetchSessionOptions, manager: SessionManager): Dbsc | null {
  if (options.dbsc === undefined || options.dbsc === false) return null;
  if ((options.cookie?.path ?? '/') !== '/') {
    throw new TesseraError(
      'ERR_CONFIG',
      "tessera-session/fetch: dbsc needs cookie.path '/' (the browser must send the session cookie to the DBSC endpoints)",
    );
  }
  return createDbsc(manager.store, options.dbsc === true ? {} : options.dbsc);
}
