/**
 * One small app, written once per adapter (Express through supertest, Fastify through
 * `inject`, the fetch wrapper called with `Request` objects, and the same wrapper as Hono
 * middleware), so `adapters-behaviour.test.ts` can run one behaviour suite against all of
 * them. Routes: GET /data, POST /set?key=&value=, POST /incr,
 * POST /login?user=[&level=&methods=a,b], POST /stepup?level=[&methods=a,b], GET /auth (the
 * session's user, authLevel and authMethods), POST /logout, GET /sensitive (behind
 * `requireRecentAuth(RECENT_AUTH_SECONDS)`), GET /strong (behind
 * `requireRecentAuth(RECENT_AUTH_SECONDS, { level: 2 })`; Hono uses `honoRecentAuth`). Also a
 * store whose calls can be made to fail or hang, counting writes.
 */
import type { Server } from 'node:http';
import express, {
  type Request as ExpressRequest,
  type Response as ExpressResponse,
  type NextFunction,
} from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import supertest from 'supertest';
import session, {
  requireRecentAuth as expressRecentAuth,
  type SessionControl,
} from '../../packages/session/src/adapters/express/index.js';
import tessera, {
  requireRecentAuth as fastifyRecentAuth,
} from '../../packages/session/src/adapters/fastify/index.js';
import type { TesseraHonoEnv } from '../../packages/session/src/adapters/fetch/index.js';
import {
  type FetchSessionOptions,
  requireRecentAuth as fetchRecentAuth,
  honoRecentAuth,
  tesseraHono,
  withSession,
} from '../../packages/session/src/adapters/fetch/index.js';
import type { DbscOptions } from '../../packages/session/src/http/dbsc.js';
import type { SessionLogger } from '../../packages/session/src/http/request-session.js';
import { createMemoryStore } from '../../packages/session/src/stores/memory/index.js';
import type { Store } from '../../packages/session/src/stores/store.js';

export const HOST = 'app.test';
export const SECRET = 'behaviour-suite-secret-0123456789abcdef';
/** The step-up window of GET /sensitive and GET /strong, in seconds. */
export const RECENT_AUTH_SECONDS = 300;
/** The authentication level GET /strong requires. */
export const STRONG_LEVEL = 2;

/** `level` and `methods` from a query (`level=2&methods=pwd,otp`), as login/stepUp options. */
function authOptions(q: URLSearchParams): { level?: number; methods?: string[] } {
  const options: { level?: number; methods?: string[] } = {};
  const level = q.get('level');
  if (level !== null) options.level = Number(level);
  const methods = q.get('methods');
  if (methods !== null) options.methods = methods === '' ? [] : methods.split(',');
  return options;
}

/** What GET /auth answers. */
function authJson(s: {
  userId: string | null;
  authLevel: number | null;
  authMethods: string[];
}): Record<string, unknown> {
  return { user: s.userId, level: s.authLevel, methods: s.authMethods };
}
const WRITES = new Set(['create', 'patch', 'touch', 'delete', 'deleteByUser']);

/** A store in front of a memory store that can fail on demand and counts calls. */
export interface ControlledStore extends Store {
  /** 'up' passes calls through; 'reject' fails them; 'hang' never answers. */
  mode: 'up' | 'reject' | 'hang';
  /** Calls per method since the last `resetCounts`. */
  readonly counts: Map<string, number>;
  /** Write calls (create, patch, touch, delete) since the last `resetCounts`. */
  writes(): number;
  resetCounts(): void;
  readonly inner: Store;
}

/**
 * A memory store behind a switch.
 * @example const store = createControlledStore(); store.mode = 'reject';
 */
export function createControlledStore(now?: () => number): ControlledStore {
  const inner = createMemoryStore({ purgeIntervalMs: 0, ...(now ? { now } : {}) });
  const counts = new Map<string, number>();
  const control = {
    mode: 'up' as ControlledStore['mode'],
    counts,
    inner,
    writes: () => [...counts].reduce((sum, [name, n]) => sum + (WRITES.has(name) ? n : 0), 0),
    resetCounts: () => counts.clear(),
  };
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property in control) return control[property as keyof typeof control];
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || property === 'close') return value;
      return (...args: unknown[]) => {
        const name = String(property);
        counts.set(name, (counts.get(name) ?? 0) + 1);
        if (control.mode === 'reject') {
          return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379'));
        }
        if (control.mode === 'hang') return new Promise(() => {});
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
    set(_target, property, value) {
      if (property === 'mode') {
        control.mode = value;
        return true;
      }
      return false;
    },
  }) as unknown as ControlledStore;
}

/** What every harness is built with. */
export interface HarnessOptions {
  store: Store;
  now: () => number;
  storeTimeout?: number;
  logger?: SessionLogger;
  /** Device-bound sessions (DBSC) on, with these options. */
  dbsc?: DbscOptions | true;
}

export interface HarnessRequest {
  method?: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  /** Sends `X-Forwarded-Proto: https` to an app that trusts its proxy. */
  https?: boolean;
}

export interface HarnessResponse {
  status: number;
  body: unknown;
  setCookies: string[];
  /** Response headers by lower-case name (repeated ones joined with ', '), Set-Cookie aside. */
  headers: Record<string, string>;
}

function headerRecord(entries: Iterable<[string, unknown]>): Record<string, string> {
  const record: Record<string, string> = {};
  for (const [name, value] of entries) {
    const key = name.toLowerCase();
    if (key === 'set-cookie' || value === undefined) continue;
    const text = Array.isArray(value) ? value.join(', ') : String(value);
    record[key] = record[key] === undefined ? text : `${record[key]}, ${text}`;
  }
  return record;
}

export interface AdapterHarness {
  /** The session cookie's name on plain HTTP and on HTTPS. */
  readonly cookieName: string;
  readonly httpsCookieName: string;
  request(request: HarnessRequest): Promise<HarnessResponse>;
  close(): Promise<void>;
}

export interface AdapterKind {
  name: string;
  create(options: HarnessOptions): Promise<AdapterHarness>;
}

/** Default browser-like headers; a header given as '' in the request is left out. */
function headersFor(request: HarnessRequest): Record<string, string> {
  const scheme = request.https ? 'https' : 'http';
  const headers: Record<string, string> = {
    origin: `${scheme}://${HOST}`,
    'sec-fetch-site': 'same-origin',
    'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0',
    ...(request.https ? { 'x-forwarded-proto': 'https' } : {}),
    ...request.headers,
  };
  for (const [name, value] of Object.entries(headers)) if (value === '') delete headers[name];
  return headers;
}

function queryOf(path: string): URLSearchParams {
  return new URL(path, `http://${HOST}`).searchParams;
}

// ---------------------------------------------------------------- Express

const expressKind: AdapterKind = {
  name: 'express',
  async create(options) {
    const app = express();
    app.set('trust proxy', 1);
    app.use(
      session({
        secret: SECRET,
        name: 'tessera.sid',
        // The settings docs/express.md recommends (express-session's defaults are the opposite).
        resave: false,
        saveUninitialized: false,
        cookie: { secure: 'auto', sameSite: 'lax' },
        store: options.store,
        now: options.now,
        ...(options.storeTimeout ? { storeTimeout: options.storeTimeout } : {}),
        ...(options.logger ? { logger: options.logger } : {}),
        ...(options.dbsc ? { dbsc: options.dbsc } : {}),
      }),
    );
    const data = (req: ExpressRequest): Record<string, unknown> => {
      const { cookie: _cookie, ...rest } = req.session as unknown as Record<string, unknown>;
      return rest;
    };
    app.get('/data', (req, res) => {
      res.json({ data: data(req) });
    });
    app.post('/set', (req, res) => {
      const q = queryOf(req.originalUrl);
      (req.session as unknown as Record<string, unknown>)[q.get('key') ?? 'key'] = q.get('value');
      res.json({ ok: true });
    });
    app.post('/incr', (req, res) => {
      const s = req.session as unknown as Record<string, number>;
      s.count = (s.count ?? 0) + 1;
      res.json({ count: s.count });
    });
    const control = (req: ExpressRequest): SessionControl =>
      (req as unknown as { sessionControl: SessionControl }).sessionControl;
    app.post('/login', async (req, res, next) => {
      try {
        const q = queryOf(req.originalUrl);
        const user = q.get('user') ?? 'alice';
        (req.session as unknown as Record<string, unknown>).user = user;
        await control(req).login(user, authOptions(q));
        res.json({ ok: true });
      } catch (error) {
        next(error);
      }
    });
    app.post('/stepup', async (req, res, next) => {
      try {
        await control(req).stepUp(authOptions(queryOf(req.originalUrl)) as { level: number });
        res.json({ ok: true });
      } catch (error) {
        next(error);
      }
    });
    app.get('/auth', (req, res) => {
      res.json(authJson(control(req)));
    });
    app.post('/logout', (req, res, next) => {
      req.session.destroy((error) => (error ? next(error) : res.json({ ok: true })));
    });
    app.get('/sensitive', expressRecentAuth(RECENT_AUTH_SECONDS), (_req, res) => {
      res.json({ ok: true });
    });
    app.get(
      '/strong',
      expressRecentAuth(RECENT_AUTH_SECONDS, { level: STRONG_LEVEL }),
      (_req, res) => {
        res.json({ ok: true });
      },
    );
    app.use(
      (
        error: { status?: number; code?: string },
        _req: ExpressRequest,
        res: ExpressResponse,
        _next: NextFunction,
      ) => {
        res.status(error.status ?? 500).json({ error: error.code ?? 'error' });
      },
    );
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const address = server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const agent = supertest(base);
    return {
      cookieName: 'tessera.sid',
      httpsCookieName: 'tessera.sid',
      async request(request) {
        const method = request.method ?? 'GET';
        const call = method === 'POST' ? agent.post(request.path) : agent.get(request.path);
        call.set('host', HOST);
        for (const [name, value] of Object.entries(headersFor(request))) call.set(name, value);
        const res = await call;
        const raw = res.headers['set-cookie'] as unknown as string[] | string | undefined;
        return {
          status: res.status,
          body: res.body,
          setCookies: raw === undefined ? [] : Array.isArray(raw) ? raw : [raw],
          headers: headerRecord(Object.entries(res.headers)),
        };
      },
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  },
};

// ---------------------------------------------------------------- Fastify

const fastifyKind: AdapterKind = {
  name: 'fastify',
  async create(options) {
    const app = Fastify({ trustProxy: true });
    // Tessera's recommended settings over @fastify/session's defaults: no store write for a
    // session nobody changed, Secure on HTTPS only, security settings stated (no warning).
    await app.register(tessera, {
      secret: SECRET,
      store: options.store,
      now: options.now,
      saveUninitialized: false,
      rolling: false,
      csrf: {},
      cookie: { secure: 'auto', sameSite: 'lax' },
      ...(options.storeTimeout ? { storeTimeout: options.storeTimeout } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.dbsc ? { dbsc: options.dbsc } : {}),
    });
    app.get('/data', async (request) => {
      const { cookie: _cookie, ...data } = JSON.parse(JSON.stringify(request.session));
      return { data };
    });
    app.post('/set', async (request) => {
      const q = queryOf(request.url);
      request.session[q.get('key') ?? 'key'] = q.get('value');
      return { ok: true };
    });
    app.post('/incr', async (request) => {
      request.session.count = ((request.session.count as number | undefined) ?? 0) + 1;
      return { count: request.session.count };
    });
    app.post('/login', async (request) => {
      const q = queryOf(request.url);
      const user = q.get('user') ?? 'alice';
      request.session.set('user', user);
      await request.sessionControl.login(user, authOptions(q));
      return { ok: true };
    });
    app.post('/stepup', async (request) => {
      await request.sessionControl.stepUp(authOptions(queryOf(request.url)) as { level: number });
      return { ok: true };
    });
    app.get('/auth', async (request) => authJson(request.sessionControl));
    app.post('/logout', async (request) => {
      await request.session.destroy();
      return { ok: true };
    });
    app.get('/sensitive', { preHandler: fastifyRecentAuth(RECENT_AUTH_SECONDS) }, async () => ({
      ok: true,
    }));
    app.get(
      '/strong',
      { preHandler: fastifyRecentAuth(RECENT_AUTH_SECONDS, { level: STRONG_LEVEL }) },
      async () => ({ ok: true }),
    );
    await app.ready();
    return {
      cookieName: 'sessionId',
      httpsCookieName: 'sessionId',
      async request(request) {
        const res = await app.inject({
          method: request.method ?? 'GET',
          url: request.path,
          headers: { host: HOST, ...headersFor(request) },
        });
        const raw = res.headers['set-cookie'];
        let body: unknown = res.body;
        try {
          body = res.json();
        } catch {}
        return {
          status: res.statusCode,
          body,
          setCookies: raw === undefined ? [] : Array.isArray(raw) ? raw : [raw],
          headers: headerRecord(Object.entries(res.headers)),
        };
      },
      close: () => app.close(),
    };
  },
};

// ---------------------------------------------------------------- fetch and Hono

function fetchOptions(options: HarnessOptions): FetchSessionOptions {
  return {
    secret: SECRET,
    store: options.store,
    now: options.now,
    trustProxy: true,
    ...(options.storeTimeout ? { storeTimeout: options.storeTimeout } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.dbsc ? { dbsc: options.dbsc } : {}),
  };
}

async function fetchResult(response: Response): Promise<HarnessResponse> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return {
    status: response.status,
    body,
    setCookies: response.headers.getSetCookie(),
    headers: headerRecord(response.headers.entries()),
  };
}

function toRequest(request: HarnessRequest): Request {
  return new Request(`http://${HOST}${request.path}`, {
    method: request.method ?? 'GET',
    headers: headersFor(request),
  });
}

const fetchKind: AdapterKind = {
  name: 'fetch',
  async create(options) {
    const sensitive = fetchRecentAuth(RECENT_AUTH_SECONDS)(async () => Response.json({ ok: true }));
    const strong = fetchRecentAuth(RECENT_AUTH_SECONDS, { level: STRONG_LEVEL })(async () =>
      Response.json({ ok: true }),
    );
    const handler = withSession(async (request, ctx) => {
      const s = ctx.session;
      const url = new URL(request.url);
      const q = url.searchParams;
      switch (`${request.method} ${url.pathname}`) {
        case 'GET /data':
          return Response.json({ data: s.toJSON() });
        case 'POST /set':
          s.set(q.get('key') ?? 'key', q.get('value'));
          return Response.json({ ok: true });
        case 'POST /incr': {
          const count = (s.get<number>('count') ?? 0) + 1;
          s.set('count', count);
          return Response.json({ count });
        }
        case 'POST /login': {
          const user = q.get('user') ?? 'alice';
          s.set('user', user);
          await s.login(user, authOptions(q));
          return Response.json({ ok: true });
        }
        case 'POST /stepup':
          await s.stepUp(authOptions(q) as { level: number });
          return Response.json({ ok: true });
        case 'GET /auth':
          return Response.json(authJson(s));
        case 'POST /logout':
          await s.destroy();
          return Response.json({ ok: true });
        case 'GET /sensitive':
          return sensitive(request, ctx);
        case 'GET /strong':
          return strong(request, ctx);
        default:
          return new Response('not found', { status: 404 });
      }
    }, fetchOptions(options));
    return {
      cookieName: 'tessera.sid',
      httpsCookieName: '__Host-tessera.sid',
      request: async (request) => fetchResult(await handler(toRequest(request))),
      close: async () => {},
    };
  },
};

const honoKind: AdapterKind = {
  name: 'hono',
  async create(options) {
    const app = new Hono<TesseraHonoEnv>();
    app.use(tesseraHono(fetchOptions(options)));
    app.get('/data', (c) => c.json({ data: c.get('session').toJSON() }));
    app.post('/set', (c) => {
      c.get('session').set(c.req.query('key') ?? 'key', c.req.query('value'));
      return c.json({ ok: true });
    });
    app.post('/incr', (c) => {
      const s = c.get('session');
      const count = (s.get<number>('count') ?? 0) + 1;
      s.set('count', count);
      return c.json({ count });
    });
    app.post('/login', async (c) => {
      const user = c.req.query('user') ?? 'alice';
      c.get('session').set('user', user);
      await c.get('session').login(user, authOptions(new URL(c.req.url).searchParams));
      return c.json({ ok: true });
    });
    app.post('/stepup', async (c) => {
      const options = authOptions(new URL(c.req.url).searchParams);
      await c.get('session').stepUp(options as { level: number });
      return c.json({ ok: true });
    });
    app.get('/auth', (c) => c.json(authJson(c.get('session'))));
    app.get('/sensitive', honoRecentAuth(RECENT_AUTH_SECONDS), (c) => c.json({ ok: true }));
    app.get('/strong', honoRecentAuth(RECENT_AUTH_SECONDS, { level: STRONG_LEVEL }), (c) =>
      c.json({ ok: true }),
    );
    app.post('/logout', async (c) => {
      await c.get('session').destroy();
      return c.json({ ok: true });
    });
    return {
      cookieName: 'tessera.sid',
      httpsCookieName: '__Host-tessera.sid',
      request: async (request) => fetchResult(await app.request(toRequest(request))),
      close: async () => {},
    };
  },
};

/** Every adapter the behaviour suite runs against. */
export const ADAPTERS: AdapterKind[] = [expressKind, fastifyKind, fetchKind, honoKind];

/**
 * The `name=value` pair of the session cookie in a response, or null.
 * @example const jar = cookiePair(res, 'tessera.sid');
 */
export function cookiePair(response: HarnessResponse, name: string): string | null {
  for (const line of response.setCookies) {
    const pair = line.split(';')[0] ?? '';
    if (pair.slice(0, pair.indexOf('=')) === name) return pair;
  }
  return null;
}
