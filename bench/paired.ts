/**
 * Paired measurement for the socket benchmarks (`bench/http-paired.ts`, `bench/redis-paired.ts`):
 * the three servers of one comparison (the app with no session layer, the peer library's app and
 * Tessera's) run at the same time on the same CPU, each loaded by its own autocannon instance
 * (50 connections) from this process on the other CPUs.
 *
 * Measured one after another, each ratio also carries how fast the machine was in each server's
 * seconds; on the project's VM (other guests take CPU from it) the same code gave 1.01× in one
 * run and 1.34× in the next (docs/benchmarks.md, fourth round). Run together, the scheduler
 * splits the CPU between the three and a slow second slows all three alike, so each round's
 * ratio is nearly free of the machine's swings. Each ratio is the median of the rounds' own
 * ratios, reported with their range.
 *
 * What differs from serving one app at a time: the servers share the CPU's caches, and each gets
 * about a third of the CPU. The "CPU share" column says whether the load kept the CPU busy
 * (1.00: the servers, and their Redis servers where used, used the whole CPU).
 * @example const cases = await runPairedCases({ framework, bare, peer, tessera, target: 1.3 }, [1, 1_000], TIMING);
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { cpus } from 'node:os';
import {
  type CpuPinning,
  cpuPinning,
  describePinning,
  forkPinned,
  pinThisProcess,
} from './cpu-pinning.js';
import { median } from './stats.js';

export const CONNECTIONS = 50;

/** One server under load: its port and the CPU it (and its own Redis, if any) used so far. */
export interface Child {
  name: string;
  port: number;
  process: ChildProcess;
  /** Microseconds of CPU (user + system) used so far, its own Redis server's included. */
  cpu(): Promise<number>;
  /** Of that, its own Redis server's microseconds so far (servers with a Redis of their own). */
  redisCpu?(): Promise<number>;
}

/**
 * Starts a benchmark's server process (`module` with `args`, which answers `ready` with its port
 * and `cpu` with its `process.cpuUsage()` over IPC), on the server CPU when `pins` says so.
 */
export async function startChild(
  name: string,
  module: string,
  args: string[],
  pins: CpuPinning | null,
  env: NodeJS.ProcessEnv = {},
): Promise<Child> {
  const child = forkPinned(module, args, {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, NODE_ENV: 'production', ...env },
    cpuList: pins?.server ?? null,
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
    child.on('message', (m: { type: string; port?: number }) => {
      if (m.type === 'ready') resolve(m.port as number);
    });
  });
  return {
    name,
    port,
    process: child,
    cpu: () =>
      new Promise((resolve) => {
        const onMessage = (m: { type: string; usage?: NodeJS.CpuUsage }) => {
          if (m.type !== 'cpu' || m.usage === undefined) return;
          child.off('message', onMessage);
          resolve(m.usage.user + m.usage.system);
        };
        child.on('message', onMessage);
        child.send({ type: 'cpu' });
      }),
  };
}

function headersFor(port: number): Record<string, string> {
  return { origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' };
}

/** A new session on `child` (POST /inc), answered as its cookie pair (`none=0` for a bare app). */
export function newSession(child: Child): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: child.port,
        method: 'POST',
        path: '/inc',
        headers: headersFor(child.port),
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const cookie = res.headers['set-cookie']?.[0]?.split(';')[0];
          if (child.name.endsWith('-bare')) resolve('none=0');
          else if (res.statusCode === 200 && cookie) resolve(cookie);
          else reject(new Error(`${child.name}: could not create a session (${res.statusCode})`));
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The part of autocannon's API used here (it ships no types). */
interface AutocannonResult {
  requests: { total: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;
let loaded: Autocannon | null = null;

/** autocannon, loaded on first use (server processes that import this module never need it). */
async function autocannon(options: Record<string, unknown>): Promise<AutocannonResult> {
  if (loaded === null) {
    // A computed specifier: autocannon ships no type declarations.
    const name = 'autocannon';
    loaded = ((await import(name)) as { default: Autocannon }).default;
  }
  return loaded(options);
}

interface Measure {
  requests: number;
  cpuUs: number;
  /** Of `cpuUs`, the server's own Redis (0 without one). */
  redisUs: number;
  errors: number;
}

/**
 * `seconds` of autocannon load on `child` (50 connections, the cookies in turn): as fast as
 * it answers, or at `rate` requests per second overall when given.
 */
export async function load(
  child: Child,
  method: 'GET' | 'POST',
  path: string,
  cookies: string[],
  seconds: number,
  rate?: number,
): Promise<Measure> {
  let next = 0;
  const headers = headersFor(child.port);
  const before = await child.cpu();
  const redisBefore = (await child.redisCpu?.()) ?? 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${child.port}`,
    connections: CONNECTIONS,
    duration: seconds,
    ...(rate === undefined ? {} : { overallRate: rate }),
    requests: [
      {
        method,
        path,
        setupRequest: (req: Record<string, unknown>) => ({
          ...req,
          headers: { ...headers, cookie: cookies[next++ % cookies.length] },
        }),
      },
    ],
  });
  const after = await child.cpu();
  const redisAfter = (await child.redisCpu?.()) ?? 0;
  return {
    requests: result.requests.total,
    cpuUs: after - before,
    redisUs: redisAfter - redisBefore,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

/** The three servers of one comparison, and the ratio Tessera must reach. */
export interface Trio {
  /** How the cases are labelled, e.g. 'express' or 'express on Redis'. */
  framework: string;
  bare: Child;
  peer: Child;
  tessera: Child;
  /** One target for both routes, or one per route. */
  target: number | Record<'read' | 'inc', number>;
}

export interface PairedCase {
  case: string;
  peer: string;
  tessera: string;
  /** Medians over the rounds: req/s and CPU µs per request of each server. */
  servers: Record<string, { rps: number; cpuUsPerRequest: number; errors: number }>;
  /** Tessera / peer, the median of the rounds' own ratios (CPU: peer's µs ÷ Tessera's). */
  ratios: { rps: number; cpu: number };
  /** The lowest and highest of the rounds' req/s ratios. */
  rpsRatioRange: [number, number];
  /** Each round's ratios, in order (req/s, and CPU per request). */
  roundRatios: { rps: number[]; cpu: number[] };
  /** CPU per request above the no-session app of the same framework, µs (medians of rounds). */
  sessionLayer: { peerUs: number; tesseraUs: number };
  /** The three servers' CPU over wall time, median of the rounds (1 = the whole CPU). */
  cpuShare: number;
  /**
   * Servers with a Redis of their own: its CPU µs per request (medians of the rounds) for the
   * peer and Tessera, and Tessera's ÷ the peer's (the median of the rounds' own ratios; ≤ 1 is
   * Tessera costing its Redis no more).
   */
  redis?: { peerUs: number; tesseraUs: number; ratio: number };
  target: number;
  met: boolean;
}

/** Two decimals. */
export function round2(value: number): number {
  return Number(value.toFixed(2));
}

/** Timing of a paired run. */
export interface PairedTiming {
  rounds: number;
  roundSeconds: number;
  warmUpSeconds: number;
}

/** `--quick` on the command line: one round of 1 s (a smoke test). */
export const QUICK = process.argv.includes('--quick');

/** 7 rounds of 3 s after 3 s of warm-up per case, or 1 s of each with `--quick`. */
export const TIMING: PairedTiming = QUICK
  ? { rounds: 1, roundSeconds: 1, warmUpSeconds: 1 }
  : { rounds: 7, roundSeconds: 3, warmUpSeconds: 3 };

/**
 * One case: sessions made on each server, a warm-up, then `timing.rounds` rounds with the three
 * servers loaded at once.
 */
export async function runPairedCase(
  trio: Trio,
  route: 'read' | 'inc',
  sessions: number,
  timing: PairedTiming,
): Promise<PairedCase> {
  const { rounds: ROUNDS, roundSeconds: ROUND_SECONDS, warmUpSeconds: WARM_UP_SECONDS } = timing;
  const target = typeof trio.target === 'number' ? trio.target : trio.target[route];
  const method = route === 'read' ? 'GET' : 'POST';
  const path = `/${route}`;
  const children = [trio.bare, trio.peer, trio.tessera];
  const cookies = new Map<Child, string[]>();
  for (const child of children) {
    const list: string[] = [];
    for (let i = 0; i < sessions; i++) list.push(await newSession(child));
    cookies.set(child, list);
  }
  const loadAll = (seconds: number) =>
    Promise.all(children.map((c) => load(c, method, path, cookies.get(c) ?? [], seconds)));
  await loadAll(WARM_UP_SECONDS);
  const rounds: Measure[][] = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await loadAll(ROUND_SECONDS));
  const perRequest = (m: Measure) => m.cpuUs / Math.max(m.requests, 1);
  const redisPerRequest = (m: Measure) => m.redisUs / Math.max(m.requests, 1);
  const column = (index: number) => rounds.map((r) => r[index] as Measure);
  const servers: PairedCase['servers'] = {};
  children.forEach((child, index) => {
    const measures = column(index);
    servers[child.name] = {
      rps: Math.round(median(measures.map((m) => m.requests / ROUND_SECONDS))),
      cpuUsPerRequest: round2(median(measures.map(perRequest))),
      errors: measures.reduce((sum, m) => sum + m.errors, 0),
    };
  });
  const [bare, peer, ours] = [column(0), column(1), column(2)];
  const rpsRatios = rounds.map(
    (_, i) => (ours[i] as Measure).requests / (peer[i] as Measure).requests,
  );
  const cpuRatios = rounds.map(
    (_, i) => perRequest(peer[i] as Measure) / perRequest(ours[i] as Measure),
  );
  const ratios = { rps: round2(median(rpsRatios)), cpu: round2(median(cpuRatios)) };
  const who = sessions === 1 ? '1 shared session' : `${sessions} sessions`;
  return {
    case: `${trio.framework} ${route === 'read' ? 'read-only' : 'increment'}, ${who}`,
    peer: trio.peer.name,
    tessera: trio.tessera.name,
    servers,
    ratios,
    rpsRatioRange: [round2(Math.min(...rpsRatios)), round2(Math.max(...rpsRatios))],
    roundRatios: { rps: rpsRatios.map(round2), cpu: cpuRatios.map(round2) },
    sessionLayer: {
      peerUs: round2(
        median(
          rounds.map((_, i) => perRequest(peer[i] as Measure) - perRequest(bare[i] as Measure)),
        ),
      ),
      tesseraUs: round2(
        median(
          rounds.map((_, i) => perRequest(ours[i] as Measure) - perRequest(bare[i] as Measure)),
        ),
      ),
    },
    cpuShare: round2(
      median(rounds.map((r) => r.reduce((sum, m) => sum + m.cpuUs, 0) / (ROUND_SECONDS * 1e6))),
    ),
    ...(trio.peer.redisCpu && trio.tessera.redisCpu
      ? {
          redis: {
            peerUs: round2(median(peer.map(redisPerRequest))),
            tesseraUs: round2(median(ours.map(redisPerRequest))),
            ratio: round2(
              median(
                rounds.map(
                  (_, i) =>
                    redisPerRequest(ours[i] as Measure) / redisPerRequest(peer[i] as Measure),
                ),
              ),
            ),
          },
        }
      : {}),
    target,
    met: ratios.rps >= target && ratios.cpu >= target,
  };
}

/** Prints the cases as a table. */
export function printPaired(cases: PairedCase[]): void {
  const rows: string[][] = [
    [
      'case',
      'req/s bare / peer / Tessera',
      'CPU µs/req bare / peer / Tessera',
      'ratio req/s (range)',
      'ratio CPU',
      'layer µs peer / Tessera',
      'CPU share',
      'target',
    ],
  ];
  for (const c of cases) {
    const s = Object.values(c.servers);
    // A server that answered errors (a refused or failed request) makes the row meaningless.
    const errors = s.reduce((sum, x) => sum + x.errors, 0);
    rows.push([
      errors > 0 ? `${c.case} (${errors} ERRORS)` : c.case,
      s.map((x) => x.rps).join(' / '),
      s.map((x) => x.cpuUsPerRequest).join(' / '),
      `${c.ratios.rps}× (${c.rpsRatioRange[0]}–${c.rpsRatioRange[1]})`,
      `${c.ratios.cpu}×`,
      `${c.sessionLayer.peerUs} / ${c.sessionLayer.tesseraUs}`,
      String(c.cpuShare),
      `≥${c.target}× ${c.met ? 'met' : 'MISSED'}`,
    ]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  '));
  for (const c of cases) {
    if (c.redis === undefined) continue;
    console.log(
      `${c.case}: Redis CPU µs/req ${c.peer} / Tessera ${c.redis.peerUs} / ${c.redis.tesseraUs}, Tessera ÷ ${c.peer} ${c.redis.ratio}×`,
    );
  }
}

/** A fresh process runs cold code: each server serves both routes for `seconds` first. */
export async function warmUpServers(children: Child[], seconds: number): Promise<void> {
  const cookies = await Promise.all(children.map(newSession));
  for (const [method, path] of [
    ['GET', '/read'],
    ['POST', '/inc'],
  ] as const) {
    await Promise.all(
      children.map((c, i) => load(c, method, path, [cookies[i] as string], seconds)),
    );
  }
}

/** Every case of one trio: read-only and increment, over each session count. */
export async function runPairedCases(
  trio: Trio,
  sessionCounts: number[],
  timing: PairedTiming,
): Promise<PairedCase[]> {
  await warmUpServers([trio.bare, trio.peer, trio.tessera], timing.warmUpSeconds);
  const cases: PairedCase[] = [];
  for (const sessions of sessionCounts) {
    for (const route of ['read', 'inc'] as const) {
      cases.push(await runPairedCase(trio, route, sessions, timing));
    }
  }
  return cases;
}

/**
 * Starts a paired run: the CPUs to pin to (exits with a message where pinning is not possible),
 * this process pinned to the load generator's, the header line printed.
 */
export function beginPairedRun(title: string, what: string): { pins: CpuPinning; started: number } {
  const pins = cpuPinning();
  if (pins === null) {
    console.error(`${title} needs Linux with taskset and 2 or more CPUs`);
    process.exit(2);
  }
  pinThisProcess(pins.driver);
  console.log(
    `${title}: ${TIMING.rounds} rounds × ${TIMING.roundSeconds} s, ${what}, ${CONNECTIONS} connections each, Node ${process.version}, ${cpus().length} CPUs, ${describePinning(pins)}`,
  );
  return { pins, started: Date.now() };
}

/** CPU microseconds a redis-server has used so far (`INFO cpu`: main thread and children). */
export async function redisCpuUs(redis: import('ioredis').Redis): Promise<number> {
  const text = await redis.info('cpu');
  let total = 0;
  for (const match of text.matchAll(/^used_cpu_(?:sys|user):([\d.]+)/gm)) total += Number(match[1]);
  return total * 1e6;
}

/** Writes a paired run's summary to bench/results/NAME.json (not for `--quick` runs). */
export function writePairedResults(
  name: string,
  run: { timing: PairedTiming; pins: CpuPinning; cases: PairedCase[]; started: number },
  quick: boolean,
): void {
  if (quick) return;
  const summary = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    ...run.timing,
    connections: CONNECTIONS,
    pinning: run.pins,
    cases: run.cases,
    seconds: Math.round((Date.now() - run.started) / 1000),
  };
  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL(`${name}.json`, dir), `${JSON.stringify(summary, null, 2)}\n`);
  console.log(`\nWrote bench/results/${name}.json`);
}
