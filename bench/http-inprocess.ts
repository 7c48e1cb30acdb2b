/**
 * In-process HTTP benchmark: what each session layer costs per request, without sockets.
 *
 * The same small apps as bench/http.ts (Express 5 bare / express-session + MemoryStore /
 * tessera/express + Tessera's memory store; Fastify 5 bare / @fastify/session +
 * @fastify/cookie / tessera/fastify), driven in this one process through each framework's
 * in-process entry (light-my-request for Express, `app.inject` for Fastify), one request at
 * a time. Rounds alternate between the apps; the CPU time of the process per request is
 * taken in each round and the median reported, with the session layer's own cost (minus the
 * bare app). On a shared 2-core machine this is steadier than a socket benchmark, where the
 * load generator and the kernel share the CPU with the server.
 *
 * Run: `node --import tsx bench/http-inprocess.ts` (about 40 s). Writes
 * bench/results/http-inprocess.json. `--sessions N` rotates the requests over N sessions
 * (default 1, all requests on one session).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import express from 'express';
import session from 'express-session';
import Fastify from 'fastify';
import inject from 'light-my-request';
import { median } from './stats.js';
import { lib } from './tessera.js';

const { default: tesseraExpress } = await lib.express();
const { default: tesseraFastify } = await lib.fastify();
const { createMemoryStore } = await lib.memoryStore();

const SECRET = 'bench-secret-0123456789-abcdefghijklmnop';
const ROUNDS = process.argv.includes('--quick') ? 3 : 9;
const PER_ROUND = process.argv.includes('--quick') ? 300 : 2000;
const HEADERS = { host: 'app.test', origin: 'http://app.test' };
const sessionsArg = process.argv.indexOf('--sessions');
/** How many distinct sessions the requests rotate over (`--sessions N`, default 1). */
const SESSIONS = sessionsArg > 0 ? Number(process.argv[sessionsArg + 1]) : 1;
if (!Number.isSafeInteger(SESSIONS) || SESSIONS < 1) {
  throw new Error('bench/http-inprocess.ts: --sessions takes a whole number, 1 or more');
}

type Data = Record<string, unknown>;
interface Target {
  name: string;
  /** One request; answers the status. */
  call(
    method: 'GET' | 'POST',
    url: string,
    cookie: string,
  ): Promise<{ status: number; cookie?: string }>;
}

function firstCookie(header: unknown): string | undefined {
  const line = Array.isArray(header) ? header[0] : header;
  return typeof line === 'string' ? line.split(';')[0] : undefined;
}

function expressTarget(kind: 'bare' | 'express-session' | 'tessera'): Target {
  const app = express();
  if (kind === 'bare') {
    const data: Data = {};
    app.use((req, _res, next) => {
      (req as unknown as { session: Data }).session = data;
      next();
    });
  } else if (kind === 'express-session') {
    app.use(
      session({
        secret: SECRET,
        resave: false,
        saveUninitialized: false,
        store: new session.MemoryStore(),
      }),
    );
  } else {
    // The same options as the express-session app: a fair comparison.
    app.use(
      tesseraExpress({
        secret: SECRET,
        resave: false,
        saveUninitialized: false,
        store: createMemoryStore({ maxEntries: 50_000 }),
      }),
    );
  }
  const data = (req: unknown) => (req as { session: Data }).session;
  app.get('/read', (req, res) => {
    res.json({ count: data(req).count ?? 0 });
  });
  app.post('/incr', (req, res) => {
    const s = data(req);
    s.count = ((s.count as number | undefined) ?? 0) + 1;
    res.json({ count: s.count });
  });
  return {
    name: `express ${kind}`,
    async call(method, url, cookie) {
      const res = await inject(app as never, { method, url, headers: { ...HEADERS, cookie } });
      return { status: res.statusCode, cookie: firstCookie(res.headers['set-cookie']) };
    },
  };
}

async function fastifyTarget(kind: 'bare' | '@fastify/session' | 'tessera'): Promise<Target> {
  const app = Fastify();
  interface SessionLike {
    get(key: string): unknown;
    set(key: string, value: unknown): void;
  }
  if (kind === 'bare') {
    const store = new Map<string, unknown>();
    const bare: SessionLike = { get: (k) => store.get(k), set: (k, v) => store.set(k, v) };
    app.decorateRequest('session', null as never);
    app.addHook('onRequest', async (request) => {
      (request as unknown as { session: SessionLike }).session = bare;
    });
  } else if (kind === '@fastify/session') {
    // Computed names: @fastify/session's type augmentation of request.session would clash
    // with tessera/fastify's in this one file.
    const cookiePlugin = '@fastify/cookie';
    const sessionPlugin = '@fastify/session';
    await app.register((await import(cookiePlugin)).default);
    await app.register((await import(sessionPlugin)).default, {
      secret: SECRET,
      cookie: { secure: false },
      saveUninitialized: false,
    });
  } else {
    await app.register(tesseraFastify, {
      secret: SECRET,
      cookie: { secure: false },
      saveUninitialized: false,
      store: createMemoryStore({ maxEntries: 50_000 }),
    });
  }
  const s = (request: unknown) => (request as { session: SessionLike }).session;
  app.get('/read', async (request) => ({ count: (s(request).get('count') as number) ?? 0 }));
  app.post('/incr', async (request) => {
    const count = ((s(request).get('count') as number | undefined) ?? 0) + 1;
    s(request).set('count', count);
    return { count };
  });
  await app.ready();
  return {
    name: `fastify ${kind}`,
    async call(method, url, cookie) {
      const res = await app.inject({ method, url, headers: { ...HEADERS, cookie } });
      return { status: res.statusCode, cookie: firstCookie(res.headers['set-cookie']) };
    },
  };
}

async function measure(group: Target[], route: 'read' | 'incr'): Promise<Record<string, number>> {
  const cookies = new Map<Target, string[]>();
  for (const target of group) {
    const list: string[] = [];
    for (let i = 0; i < SESSIONS; i++) {
      const first = await target.call('POST', '/incr', '');
      list.push(first.cookie ?? '');
    }
    cookies.set(target, list);
  }
  const samples = new Map<Target, number[]>(group.map((t) => [t, []]));
  const method = route === 'read' ? 'GET' : 'POST';
  for (let round = 0; round < ROUNDS; round++) {
    for (const target of group) {
      const list = cookies.get(target)!;
      const before = process.cpuUsage();
      for (let i = 0; i < PER_ROUND; i++) {
        const res = await target.call(method, `/${route}`, list[i % list.length]!);
        if (res.status !== 200) throw new Error(`${target.name} /${route}: ${res.status}`);
      }
      const used = process.cpuUsage(before);
      samples.get(target)!.push((used.user + used.system) / PER_ROUND);
    }
  }
  return Object.fromEntries(group.map((t) => [t.name, median(samples.get(t)!)]));
}

const groups: Array<{ framework: string; peer: string; targets: Target[] }> = [
  {
    framework: 'express',
    peer: 'express express-session',
    targets: [expressTarget('bare'), expressTarget('express-session'), expressTarget('tessera')],
  },
  {
    framework: 'fastify',
    peer: 'fastify @fastify/session',
    targets: [
      await fastifyTarget('bare'),
      await fastifyTarget('@fastify/session'),
      await fastifyTarget('tessera'),
    ],
  },
];

const results: Record<string, unknown> = {};
console.log(
  `In-process HTTP benchmark: ${ROUNDS} rounds × ${PER_ROUND} requests over ${SESSIONS} session(s), CPU µs per request (median)`,
);
console.log(
  'case                    app                         CPU µs/req  layer µs/req  Tessera vs peer (CPU/req, layer)',
);
for (const group of groups) {
  for (const route of ['read', 'incr'] as const) {
    const cpu = await measure(group.targets, route);
    const bare = cpu[`${group.framework} bare`]!;
    const peer = cpu[group.peer]!;
    const tessera = cpu[`${group.framework} tessera`]!;
    for (const [name, value] of Object.entries(cpu)) {
      const layer = name.endsWith(' bare') ? '' : (value - bare).toFixed(1);
      const ratio =
        name === `${group.framework} tessera`
          ? `${(peer / tessera).toFixed(2)}×, ${((peer - bare) / (tessera - bare)).toFixed(2)}×`
          : '';
      console.log(
        `${`${group.framework} ${route === 'read' ? 'read-only' : 'increment'}`.padEnd(24)}${name.padEnd(28)}${value.toFixed(1).padStart(10)}  ${layer.padStart(12)}  ${ratio}`,
      );
    }
    results[`${group.framework}-${route}`] = {
      cpuMicrosPerRequest: cpu,
      tesseraVsPeerCpu: peer / tessera,
      tesseraVsPeerLayer: (peer - bare) / (tessera - bare),
    };
  }
}
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./results/http-inprocess.json', import.meta.url),
  `${JSON.stringify({ node: process.version, rounds: ROUNDS, perRound: PER_ROUND, sessions: SESSIONS, results }, null, 2)}\n`,
);
console.log('\nWrote bench/results/http-inprocess.json');
