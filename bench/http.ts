/**
 * HTTP benchmark: the same small app on express-session (+ its MemoryStore) and on
 * `tessera-session/express` (+ Tessera's memory store), and on @fastify/session (+ @fastify/cookie)
 * and on `tessera-session/fastify`, in one run.
 *
 * Each server runs in its own child process on 127.0.0.1, so its CPU time is measured with
 * `process.cpuUsage()` around each round and reported per request. Load comes from
 * autocannon in this process: 50 connections, rounds of 3 s, 5 rounds per server and case,
 * servers interleaved within a round (alternating order); medians reported, and each ratio is
 * the median of the rounds' own ratios. On Linux with `taskset` the servers run pinned to the
 * last CPU and autocannon to the others (bench/cpu-pinning.ts; `BENCH_NO_PIN=1` turns it
 * off). Cases, for Express 5 and Fastify 5 each: read-only (`GET /read` reads one value) and
 * increment (`POST /inc`, same-origin), each with all connections sharing one session and
 * with a rotation through 1,000 pre-created sessions. Req/s and CPU per request are reported as Tessera / peer
 * ratios within the one run, and the no-session floor of the same app. Also the race: 50
 * concurrent requests each setting its own key in one session, and how many keys survive.
 *
 * Each server process first serves both routes for 4 s (a fresh process runs cold code), and
 * each case starts with 1 s of warm-up per server. Tessera is loaded from the built package
 * (bench/tessera.ts; `npm run bench` builds it).
 *
 * Run: `node --import tsx bench/http.ts` (about 8 minutes). Prints a table and writes
 * `bench/results/http.json`. `--quick` runs 1 round of 1 s (a smoke test).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { cpuPinning, describePinning, forkPinned, pinThisProcess } from './cpu-pinning.js';
import { median } from './stats.js';
import { lib } from './tessera.js';

const SECRET = 'bench-secret-0123456789-abcdefghijklmnop';
const QUICK = process.argv.includes('--quick');
const ROUNDS = QUICK ? 1 : 5;
const PINS = cpuPinning();
const ROUND_SECONDS = QUICK ? 1 : 3;
const CONNECTIONS = 50;
const ROTATION = 1_000;
const RACE = 50;
/** Seconds each fresh server process serves each route before the first case is measured. */
const WARM_UP_SECONDS = QUICK ? 1 : 4;

type ServerName =
  | 'express-bare'
  | 'express-shaped-bare'
  | 'express-session'
  | 'tessera-express'
  | 'fastify-bare'
  | 'fastify-session'
  | 'tessera-fastify';

// ------------------------------------------------------------------ child: the servers

interface AppLike {
  /** Starts listening on 127.0.0.1 and answers the port. */
  listen(): Promise<number>;
}

type Data = Record<string, unknown>;

/** Route logic shared by the four servers: `data` is the session's data object. */
const routes = {
  read: (data: Data) => ({ count: (data.count as number | undefined) ?? 0 }),
  incr: (data: Data) => {
    data.count = ((data.count as number | undefined) ?? 0) + 1;
    return { count: data.count };
  },
  set: (data: Data, key: string) => {
    data[key] = true;
    return { ok: true };
  },
};

/** What a real handler does between reading and writing the session (a database query). */
function appWork(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 5));
}

function keyOf(url: string): string {
  return new URL(url, 'http://x').searchParams.get('key') ?? 'k';
}

function countKeys(data: Data): { keys: number } {
  return { keys: Object.keys(data).filter((k) => k.startsWith('race')).length };
}

async function expressApp(
  kind: 'express-bare' | 'express-shaped-bare' | 'express-session' | 'tessera-express',
): Promise<AppLike> {
  const { default: express } = await import('express');
  const app = express();
  if (kind === 'express-shaped-bare') {
    // The bare app plus the one thing Tessera's middleware does to every Express `req`/`res`
    // besides sessions (docs/express.md, "Why an Express app gets faster"): against it, the
    // session layer is Tessera's own cost, without the speed-up that change gives the app.
    const data: Data = {};
    app.use((req, res, next) => {
      const r = req as unknown as { res: unknown };
      const s = res as unknown as { req: unknown };
      const response = r.res;
      delete r.res;
      r.res = response;
      const request = s.req;
      delete s.req;
      s.req = request;
      (req as unknown as { session: Data }).session = data;
      next();
    });
  } else if (kind === 'express-bare') {
    // No sessions: the floor of the same app, to show what the session layer itself costs.
    const data: Data = {};
    app.use((req, _res, next) => {
      (req as unknown as { session: Data }).session = data;
      next();
    });
  } else if (kind === 'express-session') {
    const { default: session } = await import('express-session');
    app.use(
      session({
        secret: SECRET,
        resave: false,
        saveUninitialized: false,
        store: new session.MemoryStore(),
      }),
    );
  } else {
    const { default: session } = await lib.express();
    const { createMemoryStore } = await lib.memoryStore();
    app.use(
      // The same options as the express-session app: a fair comparison.
      session({
        secret: SECRET,
        resave: false,
        saveUninitialized: false,
        store: createMemoryStore({ maxEntries: 50_000 }),
      }),
    );
  }
  // express-session's req.session is the data object itself (plus `cookie`).
  const data = (req: { session: unknown }): Data => req.session as Data;
  app.get('/read', (req, res) => {
    res.json(routes.read(data(req)));
  });
  app.post('/inc', (req, res) => {
    res.json(routes.incr(data(req)));
  });
  app.post('/set', async (req, res) => {
    await appWork();
    res.json(routes.set(data(req), keyOf(req.originalUrl)));
  });
  app.get('/keys', (req, res) => {
    res.json(countKeys(data(req)));
  });
  return {
    listen: () =>
      new Promise((resolve) => {
        const server = app.listen(0, '127.0.0.1', () =>
          resolve((server.address() as AddressInfo).port),
        );
      }),
  };
}

interface FastifySessionLike {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
}

async function fastifyApp(
  kind: 'fastify-bare' | 'fastify-session' | 'tessera-fastify',
): Promise<AppLike> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify();
  if (kind === 'fastify-bare') {
    const data = new Map<string, unknown>();
    const bare: FastifySessionLike = {
      get: (key) => data.get(key),
      set: (key, value) => {
        data.set(key, value);
      },
    };
    app.decorateRequest('session', null as never);
    app.addHook('onRequest', async (request) => {
      (request as unknown as { session: FastifySessionLike }).session = bare;
    });
  } else if (kind === 'fastify-session') {
    // Loaded by a computed name: its type augmentation of `request.session` would clash
    // with Tessera's in the type check, and the benchmark needs neither.
    const cookiePlugin = '@fastify/cookie';
    const sessionPlugin = '@fastify/session';
    const { default: fastifyCookie } = await import(cookiePlugin);
    const { default: fastifySession } = await import(sessionPlugin);
    await app.register(fastifyCookie);
    await app.register(fastifySession, {
      secret: SECRET,
      cookie: { secure: false },
      saveUninitialized: false,
    });
  } else {
    const { default: tesseraPlugin } = await lib.fastify();
    const { createMemoryStore } = await lib.memoryStore();
    // The same settings as the @fastify/session target (a drop-in takes the same options).
    await app.register(tesseraPlugin, {
      secret: SECRET,
      cookie: { secure: false },
      saveUninitialized: false,
      store: createMemoryStore({ maxEntries: 50_000 }),
    });
  }
  const session = (request: unknown): FastifySessionLike =>
    (request as { session: FastifySessionLike }).session;
  app.get('/read', async (request) => ({ count: (session(request).get('count') as number) ?? 0 }));
  app.post('/inc', async (request) => {
    const s = session(request);
    const count = ((s.get('count') as number | undefined) ?? 0) + 1;
    s.set('count', count);
    return { count };
  });
  app.post('/set', async (request) => {
    await appWork();
    session(request).set(keyOf(request.url), true);
    return { ok: true };
  });
  app.get('/keys', async (request) => {
    const s = session(request) as unknown as { toJSON?: () => Data } & Data;
    const data = typeof s.toJSON === 'function' ? s.toJSON() : { ...s };
    return countKeys(data);
  });
  return {
    listen: async () => {
      await app.listen({ port: 0, host: '127.0.0.1' });
      return (app.server.address() as AddressInfo).port;
    },
  };
}

async function serve(kind: ServerName): Promise<void> {
  const app = kind.includes('fastify')
    ? await fastifyApp(kind as 'fastify-bare' | 'fastify-session' | 'tessera-fastify')
    : await expressApp(
        kind as 'express-bare' | 'express-shaped-bare' | 'express-session' | 'tessera-express',
      );
  const port = await app.listen();
  process.on('message', (message: { type: string }) => {
    if (message.type === 'cpu') process.send?.({ type: 'cpu', usage: process.cpuUsage() });
    if (message.type === 'exit') process.exit(0);
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ type: 'ready', port });
}

// ------------------------------------------------------------------ parent: the load

interface Child {
  name: ServerName;
  port: number;
  process: ChildProcess;
  /** Microseconds of CPU used so far: user + system, and user only. */
  cpu(): Promise<{ total: number; user: number }>;
}

async function startChild(name: ServerName): Promise<Child> {
  const child = forkPinned(fileURLToPath(import.meta.url), ['--serve', name], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, NODE_ENV: 'production' },
    cpuList: PINS?.server ?? null,
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
    child.on('message', (m: { type: string; port?: number }) => {
      if (m.type === 'ready') resolve(m.port as number);
    });
  });
  const ask = <T>(type: string, pick: (m: Record<string, unknown>) => T): Promise<T> =>
    new Promise((resolve) => {
      const onMessage = (m: Record<string, unknown>) => {
        if (m.type !== type) return;
        child.off('message', onMessage);
        resolve(pick(m));
      };
      child.on('message', onMessage);
      child.send({ type });
    });
  return {
    name,
    port,
    process: child,
    cpu: () =>
      ask('cpu', (m) => {
        const usage = m.usage as NodeJS.CpuUsage;
        return { total: usage.user + usage.system, user: usage.user };
      }),
  };
}

interface Reply {
  status: number;
  cookie: string | null;
  body: string;
}

function call(port: number, method: string, path: string, cookie?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: {
          origin: `http://127.0.0.1:${port}`,
          'sec-fetch-site': 'same-origin',
          ...(cookie ? { cookie } : {}),
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => {
          const first = res.headers['set-cookie']?.[0];
          resolve({
            status: res.statusCode ?? 0,
            cookie: first ? (first.split(';')[0] as string) : null,
            body,
          });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** A new session on `child` with `count` set; answers its cookie. */
async function newSession(child: Child): Promise<string> {
  const reply = await call(child.port, 'POST', '/inc');
  if (child.name.endsWith('-bare')) return 'none=0';
  if (reply.status !== 200 || reply.cookie === null) {
    throw new Error(`${child.name}: could not create a session (${reply.status} ${reply.body})`);
  }
  return reply.cookie;
}

interface Measure {
  rps: number;
  p99: number;
  cpuPerRequest: number;
  userPerRequest: number;
  errors: number;
}

async function load(
  child: Child,
  method: 'GET' | 'POST',
  path: string,
  cookies: string[],
  seconds: number,
): Promise<Measure> {
  let next = 0;
  const headers = { origin: `http://127.0.0.1:${child.port}`, 'sec-fetch-site': 'same-origin' };
  const cpuBefore = await child.cpu();
  const result = await autocannon({
    url: `http://127.0.0.1:${child.port}`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method,
        path,
        setupRequest: (req: Record<string, unknown>) => {
          const cookie = cookies[next++ % cookies.length] as string;
          return { ...req, headers: { ...headers, cookie } };
        },
      },
    ],
  });
  const cpuAfter = await child.cpu();
  const total = result.requests.total;
  const errors = result.errors + result.timeouts + result.non2xx;
  return {
    rps: total / seconds,
    p99: result.latency.p99,
    cpuPerRequest: total > 0 ? (cpuAfter.total - cpuBefore.total) / total : Number.NaN,
    userPerRequest: total > 0 ? (cpuAfter.user - cpuBefore.user) / total : Number.NaN,
    errors,
  };
}

/** The part of autocannon's API used here (it ships no types). */
interface AutocannonResult {
  requests: { total: number };
  latency: { p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannonModule = 'autocannon';
const { default: autocannon } = (await import(autocannonModule)) as { default: Autocannon };

interface CaseResult {
  case: string;
  baseline: ServerName;
  tessera: ServerName;
  bare: ServerName | null;
  results: Record<
    string,
    {
      rps: number;
      p99Ms: number;
      cpuUsPerRequest: number;
      userUsPerRequest: number;
      errors: number;
    }
  >;
  /**
   * Tessera over the baseline: req/s, and CPU per request (baseline ÷ Tessera); the median of
   * the rounds' ratios (each round measures both servers back to back).
   */
  ratios: { rps: number; cpu: number };
  /** CPU per request above the no-session floor of the same app, and its ratio. */
  sessionLayer: { baselineUs: number; tesseraUs: number; ratio: number } | null;
  targets: { rps: number; cpu: number } | null;
  met: boolean | null;
}

/**
 * A fresh process runs cold code (interpreted, then optimised over seconds): each server serves
 * both routes for a while first, so the first case measures the same warmed-up steady state as
 * the later ones (the per-case warm-up of 1 s left the first cases of a run slower for every
 * server).
 */
async function warmUp(child: Child): Promise<void> {
  const cookies = [await newSession(child)];
  await load(child, 'GET', '/read', cookies, WARM_UP_SECONDS);
  await load(child, 'POST', '/inc', cookies, WARM_UP_SECONDS);
}

async function runCase(
  label: string,
  servers: Child[],
  method: 'GET' | 'POST',
  path: string,
  sessions: number,
  target: number | null,
): Promise<CaseResult> {
  const cookies = new Map<Child, string[]>();
  for (const child of servers) {
    const list: string[] = [];
    for (let i = 0; i < sessions; i++) list.push(await newSession(child));
    cookies.set(child, list);
    await load(child, method, path, list, 1); // warm-up
  }
  const rounds = new Map<Child, Measure[]>(servers.map((c) => [c, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? servers : [...servers].reverse();
    for (const child of order) {
      rounds
        .get(child)
        ?.push(await load(child, method, path, cookies.get(child) ?? [], ROUND_SECONDS));
    }
  }
  const results: CaseResult['results'] = {};
  for (const [child, measures] of rounds) {
    results[child.name] = {
      rps: Math.round(median(measures.map((m) => m.rps))),
      p99Ms: median(measures.map((m) => m.p99)),
      cpuUsPerRequest: Number(median(measures.map((m) => m.cpuPerRequest)).toFixed(1)),
      userUsPerRequest: Number(median(measures.map((m) => m.userPerRequest)).toFixed(1)),
      errors: measures.reduce((sum, m) => sum + m.errors, 0),
    };
  }
  const [baseline, tessera, bare] = servers as [Child, Child, Child | undefined];
  const base = results[baseline.name] as CaseResult['results'][string];
  const ours = results[tessera.name] as CaseResult['results'][string];
  const floor = bare === undefined ? undefined : results[bare.name];
  const ratios = {
    rps: Number((ours.rps / base.rps).toFixed(2)),
    cpu: Number((base.cpuUsPerRequest / ours.cpuUsPerRequest).toFixed(2)),
  };
  let sessionLayer: CaseResult['sessionLayer'] = null;
  if (floor !== undefined) {
    const baselineUs = Number((base.cpuUsPerRequest - floor.cpuUsPerRequest).toFixed(1));
    const tesseraUs = Number((ours.cpuUsPerRequest - floor.cpuUsPerRequest).toFixed(1));
    sessionLayer = {
      baselineUs,
      tesseraUs,
      ratio: Number((baselineUs / Math.max(tesseraUs, 0.1)).toFixed(2)),
    };
  }
  return {
    case: label,
    baseline: baseline.name,
    tessera: tessera.name,
    bare: bare?.name ?? null,
    results,
    ratios,
    sessionLayer,
    targets: target === null ? null : { rps: target, cpu: target },
    met: target === null ? null : ratios.rps >= target && ratios.cpu >= target,
  };
}

/** 50 concurrent requests each set their own key in one session: how many keys survive. */
async function race(child: Child): Promise<number> {
  const cookie = await newSession(child);
  const replies = await Promise.all(
    Array.from({ length: RACE }, (_, i) => call(child.port, 'POST', `/set?key=race${i}`, cookie)),
  );
  const failed = replies.filter((r) => r.status !== 200);
  if (failed.length > 0) throw new Error(`${child.name}: ${failed.length} race requests failed`);
  const reply = await call(child.port, 'GET', '/keys', cookie);
  return (JSON.parse(reply.body) as { keys: number }).keys;
}

function printTable(cases: CaseResult[]): void {
  const rows: string[][] = [
    [
      'case',
      'server',
      'req/s',
      'p99 ms',
      'CPU µs/req',
      'user µs/req',
      'errors',
      'ratio req/s',
      'ratio CPU',
      'target',
      'session-layer CPU µs/req',
    ],
  ];
  for (const c of cases) {
    for (const [name, r] of Object.entries(c.results)) {
      const isOurs = name === c.tessera;
      let layer = '';
      if (c.sessionLayer && name === c.baseline) layer = String(c.sessionLayer.baselineUs);
      if (c.sessionLayer && isOurs)
        layer = `${c.sessionLayer.tesseraUs} (${c.sessionLayer.ratio}× less)`;
      rows.push([
        c.case,
        name,
        String(r.rps),
        String(r.p99Ms),
        String(r.cpuUsPerRequest),
        String(r.userUsPerRequest),
        String(r.errors),
        isOurs ? `${c.ratios.rps}×` : '',
        isOurs ? `${c.ratios.cpu}×` : '',
        isOurs && c.targets ? `≥${c.targets.rps}× ${c.met ? 'met' : 'MISSED'}` : '',
        layer,
      ]);
    }
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  '));
}

async function main(): Promise<void> {
  const started = Date.now();
  if (PINS !== null) pinThisProcess(PINS.driver);
  const names: ServerName[] = [
    'express-bare',
    'express-session',
    'tessera-express',
    'fastify-bare',
    'fastify-session',
    'tessera-fastify',
  ];
  const children = new Map<ServerName, Child>();
  try {
    for (const name of names) children.set(name, await startChild(name));
    for (const child of children.values()) await warmUp(child);
    const get = (name: ServerName): Child => children.get(name) as Child;
    const express = [get('express-session'), get('tessera-express'), get('express-bare')];
    const fastify = [get('fastify-session'), get('tessera-fastify'), get('fastify-bare')];
    console.log(
      `HTTP benchmark: ${ROUNDS} rounds × ${ROUND_SECONDS} s per server and case, ${CONNECTIONS} connections, Node ${process.version}, ${cpus().length} CPUs, ${describePinning(PINS)}`,
    );
    const cases: CaseResult[] = [];
    for (const [framework, servers, target] of [
      ['express', express, 1.3],
      ['fastify', fastify, 1.5],
    ] as const) {
      for (const sessions of [1, ROTATION]) {
        const who = sessions === 1 ? '1 shared session' : `${ROTATION} sessions`;
        cases.push(
          await runCase(
            `${framework} read-only, ${who}`,
            servers,
            'GET',
            '/read',
            sessions,
            target,
          ),
        );
        cases.push(
          await runCase(
            `${framework} increment, ${who}`,
            servers,
            'POST',
            '/inc',
            sessions,
            target,
          ),
        );
      }
    }
    const raceResult: Record<string, number> = {};
    for (const name of names) {
      if (!name.endsWith('-bare')) raceResult[name] = await race(get(name));
    }
    printTable(cases);
    console.log(
      `\nRace: ${RACE} concurrent requests each set their own key in one session; keys kept:`,
    );
    for (const [name, kept] of Object.entries(raceResult))
      console.log(`  ${name.padEnd(16)} ${kept}/${RACE}`);
    const summary = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      rounds: ROUNDS,
      roundSeconds: ROUND_SECONDS,
      connections: CONNECTIONS,
      pinning: PINS,
      quick: QUICK,
      cases,
      race: { requests: RACE, keysKept: raceResult },
      seconds: Math.round((Date.now() - started) / 1000),
    };
    if (!QUICK) {
      mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
      writeFileSync(
        new URL('./results/http.json', import.meta.url),
        `${JSON.stringify(summary, null, 2)}\n`,
      );
      console.log(`\nWrote bench/results/http.json (${summary.seconds} s)`);
    }
  } finally {
    for (const child of children.values()) child.process.kill();
  }
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt !== -1) {
  await serve(process.argv[serveAt + 1] as ServerName);
} else {
  await main();
}
