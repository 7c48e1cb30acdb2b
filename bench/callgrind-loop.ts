/**
 * A single-process request loop for instruction counts: one app (Tessera's Express or
 * Fastify layer on its memory store, the peer library on its MemoryStore, or the bare
 * framework), N requests of one route through the framework's in-process entry, over one
 * session or several (round robin). Run it under callgrind twice with different N and divide
 * the difference in instructions by the difference in N: start-up cancels out. Use Node's
 * `--single-threaded` (no background compiler or GC threads): without it, the count for the
 * same code varied up to 2× between runs on a busy machine.
 * `bench/callgrind.ts` does both runs and the division for every app and route.
 *
 * `express-redis` (Tessera's Express layer on its Redis store) and `express-session-redis`
 * (express-session + connect-redis on node-redis) start a throwaway redis-server
 * (test/support/redis-server.ts); valgrind counts the app process only, not Redis.
 *
 * Run: `valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p node --single-threaded
 * --import tsx bench/callgrind-loop.ts fastify read 2000 [sessions]` (app: express |
 * express-session | express-bare | express-redis | express-session-redis | fastify | fastify-session | fastify-bare; route: read |
 * inc; sessions: distinct sessions, default 1).
 */
import Fastify from 'fastify';
import inject from 'light-my-request';
import { lib } from './tessera.js';

const { default: tesseraFastify } = await lib.fastify();
const { createMemoryStore } = await lib.memoryStore();

const SECRET = 'bench-secret-0123456789-abcdefghijklmnop';
const [app = 'fastify', route = 'read', count = '1000', sessionCount = '1'] = process.argv.slice(2);
const N = Number(count);
const SESSIONS = Number(sessionCount);
const HEADERS = { host: 'app.test', origin: 'http://app.test' };

type Call = (method: 'GET' | 'POST', url: string, cookie: string) => Promise<string | undefined>;
type S = { get(k: string): unknown; set(k: string, v: unknown): void };

function firstCookie(header: unknown): string | undefined {
  const line = Array.isArray(header) ? header[0] : header;
  return typeof line === 'string' ? line.split(';')[0] : undefined;
}

async function registerFastifySession(
  fastify: ReturnType<typeof Fastify>,
  kind: string,
): Promise<void> {
  if (kind === 'fastify') {
    await fastify.register(tesseraFastify, {
      secret: SECRET,
      cookie: { secure: false },
      saveUninitialized: false,
      store: createMemoryStore({ maxEntries: 50_000 }),
    });
  } else if (kind === 'fastify-session') {
    // Computed names: @fastify/session's type augmentation would clash with Tessera's here.
    const cookiePlugin = '@fastify/cookie';
    const sessionPlugin = '@fastify/session';
    await fastify.register((await import(cookiePlugin)).default);
    await fastify.register((await import(sessionPlugin)).default, {
      secret: SECRET,
      cookie: { secure: false },
      saveUninitialized: false,
    });
  } else {
    const values = new Map<string, unknown>();
    const bare: S = { get: (k) => values.get(k), set: (k, v) => values.set(k, v) };
    fastify.decorateRequest('session', null as never);
    fastify.addHook('onRequest', async (request: unknown) => {
      (request as unknown as { session: S }).session = bare;
    });
  }
}

async function fastifyCall(kind: string): Promise<Call> {
  const fastify = Fastify();
  await registerFastifySession(fastify, kind);
  const s = (request: unknown): S => (request as { session: S }).session;
  fastify.get('/read', async (request) => ({ count: (s(request).get('count') as number) ?? 0 }));
  fastify.post('/inc', async (request) => {
    const value = ((s(request).get('count') as number | undefined) ?? 0) + 1;
    s(request).set('count', value);
    return { count: value };
  });
  await fastify.ready();
  return async (method, url, cookie) => {
    const res = await fastify.inject({ method, url, headers: { ...HEADERS, cookie } });
    return firstCookie(res.headers['set-cookie']);
  };
}

/** Cleanup for the Redis apps: their clients and the throwaway redis-server. */
const closers: Array<() => Promise<unknown>> = [];

async function redisUrl(): Promise<string> {
  const { startRedisServer } = await import('../test/support/redis-server.js');
  const server = await startRedisServer();
  closers.push(() => server.destroy());
  return server.url;
}

async function expressMiddleware(kind: string): Promise<unknown> {
  if (kind === 'express-redis') {
    const { default: session } = await lib.express();
    const { createRedisStore } = await lib.redisStore();
    // Long timeouts: under valgrind the first calls (connect, script load) take seconds.
    const timeout = 60_000;
    const store = createRedisStore({ url: await redisUrl() }, { timeoutMs: timeout });
    closers.unshift(() => store.close());
    return session({
      secret: SECRET,
      resave: false,
      saveUninitialized: false,
      store,
      storeTimeout: timeout,
    });
  }
  if (kind === 'express-session-redis') {
    const { default: session } = await import('express-session');
    const { RedisStore } = await import('connect-redis');
    const { createClient } = await import('redis');
    const client = createClient({ url: await redisUrl() });
    await client.connect();
    closers.unshift(() => client.quit());
    return session({
      secret: SECRET,
      resave: false,
      saveUninitialized: false,
      store: new RedisStore({ client }),
    });
  }
  if (kind === 'express') {
    const { default: session } = await lib.express();
    // The same options as the express-session app: a fair comparison.
    return session({
      secret: SECRET,
      resave: false,
      saveUninitialized: false,
      store: createMemoryStore({ maxEntries: 50_000 }),
    });
  }
  if (kind === 'express-session') {
    const { default: session } = await import('express-session');
    return session({
      secret: SECRET,
      resave: false,
      saveUninitialized: false,
      store: new session.MemoryStore(),
    });
  }
  const data: Record<string, number> = {};
  return (req: { session?: unknown }, _res: unknown, next: () => void) => {
    req.session = data;
    next();
  };
}

async function expressCall(kind: string): Promise<Call> {
  const { default: express } = await import('express');
  const app = express();
  app.use((await expressMiddleware(kind)) as never);
  type D = Record<string, number>;
  app.get('/read', (req, res) => {
    res.json({ count: (req.session as unknown as D).count ?? 0 });
  });
  app.post('/inc', (req, res) => {
    const d = req.session as unknown as D;
    d.count = (d.count ?? 0) + 1;
    res.json({ count: d.count });
  });
  return async (method, url, cookie) => {
    const res = await inject(app as never, { method, url, headers: { ...HEADERS, cookie } });
    return firstCookie(res.headers['set-cookie']);
  };
}

const call = app.startsWith('express') ? await expressCall(app) : await fastifyCall(app);
const bare = app.endsWith('-bare');
const cookies: string[] = [];
for (let i = 0; i < SESSIONS; i++) {
  const cookie = (await call('POST', '/inc', '')) ?? '';
  if (!cookie && !bare) throw new Error('no session cookie');
  cookies.push(cookie);
}
const method = route === 'read' ? 'GET' : 'POST';
for (let i = 0; i < N; i++) await call(method, `/${route}`, cookies[i % SESSIONS]!);
for (const close of closers) await close();
console.log(`${app} ${route} ×${N} over ${SESSIONS} session(s) done`);
