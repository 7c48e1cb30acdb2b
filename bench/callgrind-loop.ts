/**
 * A single-process request loop for instruction counts: `tessera-session/fastify` (or
 * `tessera-session/express`) on the memory store, one session, N requests of one route through
 * the framework's in-process entry. Run it under callgrind twice with different N and divide
 * the difference in instructions by the difference in N: start-up cancels out, and the count
 * per request repeats to about 1 %, unlike timings on a shared machine.
 *
 * Run: `valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p node --import tsx
 * bench/callgrind-loop.ts fastify read 2000` (framework: fastify | express; route: read | inc).
 */
import Fastify from 'fastify';
import inject from 'light-my-request';
import tesseraFastify from '../packages/session/src/adapters/fastify/index.js';
import { createMemoryStore } from '../packages/session/src/stores/memory/index.js';

const SECRET = 'bench-secret-0123456789-abcdefghijklmnop';
const [framework = 'fastify', route = 'read', count = '1000'] = process.argv.slice(2);
const N = Number(count);
const HEADERS = { host: 'app.test', origin: 'http://app.test' };

type Call = (method: 'GET' | 'POST', url: string, cookie: string) => Promise<string | undefined>;

function firstCookie(header: unknown): string | undefined {
  const line = Array.isArray(header) ? header[0] : header;
  return typeof line === 'string' ? line.split(';')[0] : undefined;
}

async function fastifyCall(): Promise<Call> {
  const app = Fastify();
  await app.register(tesseraFastify, {
    secret: SECRET,
    cookie: { secure: false },
    saveUninitialized: false,
    store: createMemoryStore({ maxEntries: 50_000 }),
  });
  type S = { get(k: string): unknown; set(k: string, v: unknown): void };
  const s = (request: unknown): S => (request as { session: S }).session;
  app.get('/read', async (request) => ({ count: (s(request).get('count') as number) ?? 0 }));
  app.post('/inc', async (request) => {
    const value = ((s(request).get('count') as number | undefined) ?? 0) + 1;
    s(request).set('count', value);
    return { count: value };
  });
  await app.ready();
  return async (method, url, cookie) => {
    const res = await app.inject({ method, url, headers: { ...HEADERS, cookie } });
    return firstCookie(res.headers['set-cookie']);
  };
}

async function expressCall(): Promise<Call> {
  const { default: express } = await import('express');
  const { default: session } = await import('../packages/session/src/adapters/express/index.js');
  const app = express();
  app.use(session({ secret: SECRET, store: createMemoryStore({ maxEntries: 50_000 }) }));
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

const call = framework === 'express' ? await expressCall() : await fastifyCall();
const cookie = (await call('POST', '/inc', '')) ?? '';
if (!cookie) throw new Error('no session cookie');
const method = route === 'read' ? 'GET' : 'POST';
for (let i = 0; i < N; i++) await call(method, `/${route}`, cookie);
console.log(`${framework} ${route} ×${N} done`);
