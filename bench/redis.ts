/**
 * Redis benchmark: one small Express 5 app on one shared Redis, four ways, in one run:
 * express-session + connect-redis (v9, on its documented node-redis client), `tessera-session/express`
 * + Tessera's Redis store, and the same with the invalidated read cache (`withReadCache`), all
 * three with `resave: false, saveUninitialized: false`; and the floor, the same routes with no
 * session layer on raw ioredis (the ceiling for any layer that reads Redis once per request).
 *
 * The Redis server is started here (test/support/redis-server.ts, 127.0.0.1, no persistence).
 * Each app runs in its own child process (Tessera loaded from its built package, bench/tessera.ts);
 * load comes from autocannon in this process: 50 connections. Each fresh app process first serves
 * both routes for 4 s; each case then starts with 1 s of warm-up per app, then 5 rounds of 3 s
 * per app and case, apps interleaved (alternating order), medians reported; each ratio is the
 * median of the rounds' own ratios. On Linux with `taskset`, the apps and redis-server share
 * the last CPU and autocannon has the others (bench/cpu-pinning.ts; `BENCH_NO_PIN=1` turns it
 * off). Cases: read-only (`GET /read`, reads a counter) and increment (`POST /inc`,
 * same-origin), each with one session shared by all connections and with 1,000 pre-created
 * sessions. Per request: req/s, p99, CPU of the app process, CPU of the
 * redis-server this benchmark starts (`INFO cpu` deltas), their sum (the ratio compares the
 * sums), Redis commands (from `INFO commandstats` deltas, script-internal calls included) and
 * Redis round trips (commands sent by a client, from a MONITOR sample of 200 sequential
 * requests; commands run inside a Lua script show as source "lua" and are listed apart).
 *
 * Run: `node --import tsx bench/redis.ts` (about 6 minutes; `--quick`: 1 round of 1 s).
 * Prints a table, writes bench/results/redis.json and the "Redis: Express on a shared store"
 * section as Markdown to bench/results/redis.md (docs/benchmarks.md quotes a run of it).
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { cpuPinning, describePinning, pinProcess, pinThisProcess } from './cpu-pinning.js';
import { redisCpuUs, startChild as startServer } from './paired.js';
import { median } from './stats.js';
import { lib } from './tessera.js';

const QUICK = process.argv.includes('--quick');
const ROUNDS = QUICK ? 1 : 5;
const PINS = cpuPinning();
const ROUND_SECONDS = QUICK ? 1 : 3;
const CONNECTIONS = 50;
const SESSION_COUNTS = [1, 1_000] as const;
const SAMPLE = 200;
const TARGETS = { read: 1.5, inc: 1.3 } as const;

type AppName = 'connect-redis' | 'tessera' | 'tessera+cache' | 'floor';
const APPS: AppName[] = ['connect-redis', 'tessera', 'tessera+cache', 'floor'];
type CaseName = 'read' | 'inc';

// ------------------------------------------------------------------ child: the apps

type Data = Record<string, unknown>;

async function serve(name: AppName, redisUrl: string, secret: string): Promise<void> {
  const { default: express } = await import('express');
  const app = express();
  if (name === 'floor') {
    // No session layer at all: the same routes on raw ioredis (auto-pipelining, as Tessera's
    // store), one GET per read and GET + SET per increment, no cookie parsing or signing. The
    // most any Express session layer that reads Redis once per request could reach here.
    const { Redis } = await import('ioredis');
    const redis = new Redis(redisUrl, { enableAutoPipelining: true });
    const key = (req: { headers: { cookie?: string } }): string =>
      `fl:${req.headers.cookie ?? 'none'}`;
    app.get('/read', async (req, res) => {
      res.json({ count: Number((await redis.get(key(req))) ?? 0) });
    });
    app.post('/inc', async (req, res) => {
      const count = Number((await redis.get(key(req))) ?? 0) + 1;
      await redis.set(key(req), String(count), 'EX', 86_400);
      if (!req.headers.cookie) res.setHeader('set-cookie', `fl=${randomBytes(8).toString('hex')}`);
      res.json({ count });
    });
  } else if (name === 'connect-redis') {
    const { default: session } = await import('express-session');
    const { RedisStore } = await import('connect-redis');
    const { createClient } = await import('redis');
    const client = createClient({ url: redisUrl });
    await client.connect();
    app.use(
      session({
        secret,
        resave: false, // connect-redis's recommended settings
        saveUninitialized: false,
        store: new RedisStore({ client, prefix: 'cr:' }),
      }),
    );
  } else {
    const { default: session } = await lib.express();
    const { createRedisStore, createRedisInvalidation } = await lib.redisStore();
    const { withReadCache } = await lib.readCache();
    const redis = createRedisStore(
      { url: redisUrl },
      { prefix: name === 'tessera' ? 'ts:' : 'tc:' },
    );
    const store =
      name === 'tessera'
        ? redis
        : withReadCache(redis, { invalidation: createRedisInvalidation(redis) });
    // The same settings as the connect-redis app: with express-session's defaults
    // (`resave: true`) the Express adapter would rewrite (touch) every unchanged session.
    app.use(session({ secret, store, resave: false, saveUninitialized: false }));
  }
  const data = (req: unknown): Data => (req as { session: Data }).session;
  if (name !== 'floor') {
    app.get('/read', (req, res) => {
      res.json({ count: (data(req).count as number | undefined) ?? 0 });
    });
    app.post('/inc', (req, res) => {
      const session = data(req);
      session.count = ((session.count as number | undefined) ?? 0) + 1;
      res.json({ count: session.count });
    });
  }
  const server = app.listen(0, '127.0.0.1', () => {
    process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port });
  });
  process.on('message', (message: { type: string }) => {
    if (message.type === 'cpu') process.send?.({ type: 'cpu', usage: process.cpuUsage() });
  });
  process.on('disconnect', () => process.exit(0));
}

// ------------------------------------------------------------------ parent: the load

interface Child {
  name: AppName;
  port: number;
  process: ChildProcess;
  cpu(): Promise<number>;
}

async function startChild(name: AppName, redisUrl: string, secret: string): Promise<Child> {
  const child = await startServer(
    name,
    fileURLToPath(import.meta.url),
    ['--serve', name, redisUrl],
    PINS,
    {
      BENCH_SECRET: secret,
    },
  );
  return { ...child, name };
}

function headersFor(port: number, cookie?: string): Record<string, string> {
  return {
    origin: `http://127.0.0.1:${port}`,
    'sec-fetch-site': 'same-origin',
    ...(cookie ? { cookie } : {}),
  };
}

function call(
  port: number,
  method: string,
  path: string,
  cookie?: string,
): Promise<{ status: number; cookie: string | null }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method, path, headers: headersFor(port, cookie) },
      (res) => {
        res.resume();
        res.on('end', () => {
          const first = res.headers['set-cookie']?.[0];
          resolve({
            status: res.statusCode ?? 0,
            cookie: first ? (first.split(';')[0] as string) : null,
          });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Redis command counts by name, from `INFO commandstats` (the INFO calls themselves left out). */
type Redis = import('ioredis').Redis;
async function commandStats(redis: Redis): Promise<Map<string, number>> {
  const text = await redis.info('commandstats');
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    const name = match[1] as string;
    if (name === 'info') continue;
    counts.set(name, Number(match[2]));
  }
  return counts;
}

function delta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, calls] of after) {
    const diff = calls - (before.get(name) ?? 0);
    if (diff > 0) out.set(name, diff);
  }
  return out;
}

/** The part of autocannon's API used here (the package ships no types). */
interface LoadResult {
  requests: { total: number };
  latency: { p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
type Autocannon = (options: Record<string, unknown>) => Promise<LoadResult>;

async function loadAutocannon(): Promise<Autocannon> {
  // A computed specifier: autocannon has no type declarations, and none are needed here.
  const name = 'autocannon';
  return ((await import(name)) as { default: Autocannon }).default;
}

interface Round {
  rps: number;
  redisCpuUs: number;
  p99: number;
  cpuUs: number;
  commands: number;
  byCommand: Record<string, number>;
  errors: number;
}

async function load(
  child: Child,
  redis: Redis,
  kase: CaseName,
  cookies: string[],
  seconds: number,
): Promise<Round> {
  const autocannon = await loadAutocannon();
  let next = 0;
  const cpuBefore = await child.cpu();
  const statsBefore = await commandStats(redis);
  const redisCpuBefore = await redisCpuUs(redis);
  const result = await autocannon({
    url: `http://127.0.0.1:${child.port}`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: kase === 'read' ? 'GET' : 'POST',
        path: `/${kase}`,
        setupRequest: (req: Record<string, unknown>) => ({
          ...req,
          headers: headersFor(child.port, cookies[next++ % cookies.length]),
        }),
      },
    ],
  });
  const redisCpuAfter = await redisCpuUs(redis);
  const statsAfter = await commandStats(redis);
  const cpuAfter = await child.cpu();
  const total = result.requests.total;
  const byCommand = Object.fromEntries(delta(statsBefore, statsAfter));
  const commands = Object.values(byCommand).reduce((sum, calls) => sum + calls, 0);
  return {
    rps: total / seconds,
    p99: result.latency.p99,
    cpuUs: total > 0 ? (cpuAfter - cpuBefore) / total : Number.NaN,
    redisCpuUs: total > 0 ? (redisCpuAfter - redisCpuBefore) / total : Number.NaN,
    commands: total > 0 ? commands / total : Number.NaN,
    byCommand: Object.fromEntries(
      Object.entries(byCommand).map(([name, calls]) => [name, round2(calls / Math.max(1, total))]),
    ),
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

/** Round trips per request: client-sent commands seen by MONITOR over sequential requests. */
async function roundTrips(
  child: Child,
  redis: Redis,
  kase: CaseName,
  cookies: string[],
): Promise<{
  roundTrips: number;
  scriptCalls: number;
  sent: Record<string, number>;
  inScripts: Record<string, number>;
}> {
  const monitor = await redis.monitor();
  let sent = 0;
  let inScripts = 0;
  const byName: Record<string, number> = {};
  const scriptByName: Record<string, number> = {};
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    const name = String(args[0]).toLowerCase();
    if (source === 'lua') {
      scriptByName[name] = (scriptByName[name] ?? 0) + 1;
      inScripts++;
      return;
    }
    byName[name] = (byName[name] ?? 0) + 1;
    sent++;
  });
  // Let MONITOR settle, so the sample holds only the requests below.
  await new Promise((resolve) => setTimeout(resolve, 100));
  for (let i = 0; i < SAMPLE; i++) {
    await call(
      child.port,
      kase === 'read' ? 'GET' : 'POST',
      `/${kase}`,
      cookies[i % cookies.length],
    );
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  monitor.disconnect();
  return {
    roundTrips: sent / SAMPLE,
    scriptCalls: inScripts / SAMPLE,
    sent: Object.fromEntries(Object.entries(byName).map(([name, n]) => [name, round2(n / SAMPLE)])),
    inScripts: Object.fromEntries(
      Object.entries(scriptByName).map(([name, n]) => [name, round2(n / SAMPLE)]),
    ),
  };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

interface AppResult {
  rps: number;
  p99Ms: number;
  cpuUsPerRequest: number;
  redisCpuUsPerRequest: number;
  /** App + Redis CPU per request: what the ratio compares. */
  totalCpuUsPerRequest: number;
  commandsPerRequest: number;
  commandsByName: Record<string, number>;
  roundTripsPerRequest: number;
  scriptCallsPerRequest: number;
  sentByName: Record<string, number>;
  scriptByName: Record<string, number>;
  errors: number;
  rounds: number[];
  /** App + Redis CPU per request in each round, in the order of `rounds`. */
  cpuRounds: number[];
}

interface CaseRun {
  kase: CaseName;
  sessions: number;
  apps: Record<string, AppResult>;
}

/** Seconds each fresh app process serves each route before the first case (cold code otherwise). */
const WARM_UP_SECONDS = QUICK ? 1 : 4;

/**
 * A fresh process runs cold code (interpreted, then optimised over seconds): each app serves both
 * routes for a while first, so the first case measures the same steady state as the later ones.
 */
async function warmUp(child: Child, redis: Redis): Promise<void> {
  const reply = await call(child.port, 'POST', '/inc');
  if (reply.status !== 200 || !reply.cookie) {
    throw new Error(`${child.name}: could not create a session (${reply.status})`);
  }
  await load(child, redis, 'read', [reply.cookie], WARM_UP_SECONDS);
  await load(child, redis, 'inc', [reply.cookie], WARM_UP_SECONDS);
}

async function runCase(
  children: Child[],
  redis: Redis,
  kase: CaseName,
  sessions: number,
): Promise<Record<string, AppResult>> {
  const cookies = new Map<Child, string[]>();
  for (const child of children) {
    const list: string[] = [];
    for (let i = 0; i < sessions; i++) {
      const reply = await call(child.port, 'POST', '/inc');
      if (reply.status !== 200 || !reply.cookie) {
        throw new Error(`${child.name}: could not create a session (${reply.status})`);
      }
      list.push(reply.cookie);
    }
    cookies.set(child, list);
    await load(child, redis, kase, list, 1); // warm-up
  }
  const rounds = new Map<Child, Round[]>(children.map((child) => [child, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? children : [...children].reverse();
    for (const child of order) {
      rounds
        .get(child)
        ?.push(await load(child, redis, kase, cookies.get(child) ?? [], ROUND_SECONDS));
    }
  }
  const out: Record<string, AppResult> = {};
  for (const child of children) {
    const list = rounds.get(child) ?? [];
    const middle = [...list].sort((a, b) => a.rps - b.rps)[list.length >> 1] as Round;
    const trips = await roundTrips(child, redis, kase, cookies.get(child) ?? []);
    const cpu = median(list.map((m) => m.cpuUs));
    const redisCpu = median(list.map((m) => m.redisCpuUs));
    out[child.name] = {
      rps: Math.round(median(list.map((m) => m.rps))),
      p99Ms: median(list.map((m) => m.p99)),
      cpuUsPerRequest: round2(cpu),
      redisCpuUsPerRequest: round2(redisCpu),
      totalCpuUsPerRequest: round2(median(list.map((m) => m.cpuUs + m.redisCpuUs))),
      commandsPerRequest: round2(median(list.map((m) => m.commands))),
      commandsByName: middle.byCommand,
      roundTripsPerRequest: round2(trips.roundTrips),
      scriptCallsPerRequest: round2(trips.scriptCalls),
      sentByName: trips.sent,
      scriptByName: trips.inScripts,
      errors: list.reduce((sum, m) => sum + m.errors, 0),
      rounds: list.map((m) => Math.round(m.rps)),
      cpuRounds: list.map((m) => round2(m.cpuUs + m.redisCpuUs)),
    };
  }
  return out;
}

async function main(): Promise<void> {
  const { startRedisServer } = await import('../test/support/redis-server.js');
  const { Redis } = await import('ioredis');
  const server = await startRedisServer();
  if (PINS !== null) {
    // The app and redis-server share the server CPU: req/s then follows their summed CPU per
    // request, which is what the CPU ratio compares; autocannon keeps the other CPUs.
    pinThisProcess(PINS.driver);
    if (server.pid !== null) pinProcess(server.pid, PINS.server);
  }
  const secret = randomBytes(32).toString('base64url');
  const children: Child[] = [];
  const redis = new Redis(server.url);
  try {
    for (const name of APPS) children.push(await startChild(name, server.url, secret));
    for (const child of children) await warmUp(child, redis);
    const cases: CaseRun[] = [];
    for (const sessions of SESSION_COUNTS) {
      for (const kase of ['read', 'inc'] as const) {
        cases.push({ kase, sessions, apps: await runCase(children, redis, kase, sessions) });
      }
    }
    report(cases);
  } finally {
    redis.disconnect();
    for (const child of children) child.process.kill('SIGTERM');
    await server.destroy();
  }
}

function report(cases: CaseRun[]): void {
  const ratio = (c: CaseRun, name: AppName, field: 'rps' | 'cpu'): number => {
    const ours = c.apps[name];
    const peer = c.apps['connect-redis'];
    if (!ours || !peer) return Number.NaN;
    // The median of the rounds' own ratios: each round measures the apps back to back, so a
    // disturbance that hits one side of one round is left out.
    return round2(
      median(
        ours.rounds.map((rps, i) =>
          field === 'rps'
            ? rps / (peer.rounds[i] as number)
            : (peer.cpuRounds[i] as number) / (ours.cpuRounds[i] as number),
        ),
      ),
    );
  };
  const label = (c: CaseRun): string =>
    `${c.kase === 'read' ? 'read-only' : 'increment'}, ${c.sessions === 1 ? '1 shared session' : `${c.sessions.toLocaleString('en-US')} sessions`}`;
  const summary = cases.map((c) => {
    const target = TARGETS[c.kase];
    const rps = ratio(c, 'tessera', 'rps');
    const cpu = ratio(c, 'tessera', 'cpu');
    return {
      case: label(c),
      target,
      rps,
      cpu,
      cachedRps: ratio(c, 'tessera+cache', 'rps'),
      cachedCpu: ratio(c, 'tessera+cache', 'cpu'),
      floorRps: ratio(c, 'floor', 'rps'),
      floorCpu: ratio(c, 'floor', 'cpu'),
      met: rps >= target && cpu >= target,
      roundTrips: c.apps.tessera?.roundTripsPerRequest ?? Number.NaN,
      redisCpu: `${c.apps.tessera?.redisCpuUsPerRequest} vs ${c.apps['connect-redis']?.redisCpuUsPerRequest}`,
    };
  });
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    /** 1-minute load average at the end: other work on the machine skews every figure. */
    loadAverage: round2(loadavg()[0] ?? 0),
    settings: {
      connections: CONNECTIONS,
      rounds: ROUNDS,
      roundSeconds: ROUND_SECONDS,
      sessionCounts: SESSION_COUNTS,
      monitorSample: SAMPLE,
      pinning: PINS,
      quick: QUICK,
    },
    cases,
    summary,
    targets: TARGETS,
  };
  mkdirSync('bench/results', { recursive: true });
  if (!QUICK) writeFileSync('bench/results/redis.json', `${JSON.stringify(result, null, 2)}\n`);
  const perName = (m: Record<string, number>): string =>
    Object.entries(m)
      .map(([c, n]) => `${c} ${n}`)
      .join(', ') || '—';
  const rows: string[] = [];
  for (const c of cases) {
    for (const name of APPS) {
      const r = c.apps[name];
      if (!r) continue;
      rows.push(
        `| ${label(c)} | ${name} | ${r.rps.toLocaleString('en-US')} | ${r.p99Ms} | ${r.cpuUsPerRequest} | ${r.redisCpuUsPerRequest} | ${r.totalCpuUsPerRequest} | ${r.roundTripsPerRequest} | ${perName(r.sentByName)} | ${perName(r.scriptByName)} | ${r.commandsPerRequest} |`,
      );
    }
  }
  const verdict = (ok: boolean): string => (ok ? 'met' : '**missed**');
  const targets = summary.map(
    (s) =>
      `| ${s.case} | ≥ ${s.target}× | ${s.rps}× | ${s.cpu}× | ${s.cachedRps}× / ${s.cachedCpu}× | ${s.floorRps}× / ${s.floorCpu}× | ${s.roundTrips} | ${s.redisCpu} | ${verdict(s.met)} |`,
  );
  const markdown = `## Redis: Express on a shared store

One small Express 5 app on one Redis server (started by the benchmark on loopback), in three
setups, all with \`resave: false, saveUninitialized: false\` (connect-redis's recommended
settings): express-session + connect-redis 9 (on node-redis); \`tessera-session/express\` +
Tessera's Redis store; and the same with the read cache (\`withReadCache\` +
\`createRedisInvalidation\`). A fourth app, "floor", has no session layer: the same routes on
raw ioredis (GET per read, GET + SET per increment, no cookie signing); its ratio is the most
any session layer that reads Redis once per request could reach against connect-redis here.
Each app runs in its own
process; autocannon drives it with ${CONNECTIONS} connections, ${ROUNDS} rounds of ${ROUND_SECONDS} s
per app and case (apps alternated, medians; each ratio is the median of the rounds' ratios);
${describePinning(PINS)}. Machine: ${result.cores} × ${result.cpu}, Node
${result.node}, ${result.date.slice(0, 10)}; 1-minute load average at the end: ${result.loadAverage}.

CPU per request is the app process plus redis-server (\`INFO cpu\` deltas); the CPU ratio
compares those sums. Round trips count commands a client sent (MONITOR sample of ${SAMPLE}
sequential requests); commands run inside Lua scripts are listed apart; "commandstats/req"
is every call \`INFO commandstats\` counted (script-internal included).

| case | app | req/s | p99 ms | app CPU µs/req | Redis CPU µs/req | total CPU µs/req | round trips/req | sent per request | inside scripts per request | commandstats/req |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |
${rows.join('\n')}

| case | target | Tessera req/s ratio | Tessera CPU ratio (app + Redis) | with read cache (req/s / CPU) | no session layer (req/s / CPU) | round trips | Redis CPU µs/req, Tessera vs connect-redis | |
| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |
${targets.join('\n')}

Reproduce: \`npm run bench -- redis\` (\`node --import tsx bench/redis.ts\`); raw figures in
\`bench/results/redis.json\`.
`;
  if (!QUICK) writeFileSync('bench/results/redis.md', markdown);
  console.log(markdown);
}

if (process.argv[2] === '--serve') {
  await serve(
    process.argv[3] as AppName,
    process.argv[4] as string,
    process.env.BENCH_SECRET ?? '',
  );
} else {
  await main();
}
