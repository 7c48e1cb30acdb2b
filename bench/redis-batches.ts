/**
 * How Redis receives each Express app's commands: the apps of `bench/redis.ts` (the floor on raw
 * ioredis, express-session + connect-redis, `tessera-session/express` on Tessera's Redis store),
 * one at a time, each with its own redis-server, both on the server CPU, under the same offered
 * load (autocannon `overallRate`, 3,000 requests per second by default: below every app's
 * ceiling, so each serves the same traffic). Per request: the redis-server's user and system
 * CPU (`INFO cpu`), its read and write system calls (`/proc/<pid>/io`: `syscr`, `syscw`), and
 * commands per read call (how large the batches arriving from the app are). Redis's work per
 * command is measured by `bench/redis-instructions.ts`; this shows the part that depends on
 * how the commands arrive.
 *
 * Run: `node --import tsx bench/redis-batches.ts` (about 90 s; `--quick`: 1 round of 1 s).
 * Options: `--rate N` (requests per second), `--sessions N` (default 1), `--case read|inc`
 * (default inc). Linux only (taskset, /proc). Writes bench/results/redis-batches.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { pinProcess } from './cpu-pinning.js';
import {
  beginPairedRun,
  type Child,
  load,
  newSession,
  QUICK,
  startChild,
  TIMING,
} from './paired.js';
import { median } from './stats.js';

const ROUNDS = TIMING.rounds;
const SECONDS = TIMING.roundSeconds;
function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : (process.argv[at + 1] ?? fallback);
}
const RATE = Number(option('rate', '3000'));
const SESSIONS = Number(option('sessions', '1'));
const CASE = option('case', 'inc');
if (!(RATE > 0) || !(SESSIONS >= 1) || (CASE !== 'inc' && CASE !== 'read')) {
  console.error('bench/redis-batches.ts: --rate N (> 0), --sessions N (>= 1), --case read|inc');
  process.exit(2);
}
const APPS = fileURLToPath(new URL('./redis.ts', import.meta.url));

interface Counters {
  userUs: number;
  sysUs: number;
  reads: number;
  writes: number;
  commands: number;
}
interface App {
  child: Child;
  probe: Redis;
  pid: number;
  cookies: string[];
  rounds: Array<Record<string, number>>;
}

async function counters(app: App): Promise<Counters> {
  const info = await app.probe.info();
  const io = readFileSync(`/proc/${app.pid}/io`, 'utf8');
  const field = (text: string, pattern: RegExp): number => Number(pattern.exec(text)?.[1] ?? NaN);
  return {
    userUs: field(info, /used_cpu_user:([\d.]+)/) * 1e6,
    sysUs: field(info, /used_cpu_sys:([\d.]+)/) * 1e6,
    reads: field(io, /syscr: (\d+)/),
    writes: field(io, /syscw: (\d+)/),
    commands: field(info, /total_commands_processed:(\d+)/),
  };
}

/** Load at the fixed rate; the requests completed. */
async function offer(app: App, seconds: number): Promise<number> {
  const inc = CASE === 'inc';
  const measure = await load(
    app.child,
    inc ? 'POST' : 'GET',
    inc ? '/inc' : '/read',
    app.cookies,
    seconds,
    RATE,
  );
  return measure.requests;
}

async function main(): Promise<void> {
  const { pins, started } = beginPairedRun(
    'Redis batches (bench/redis-batches.ts)',
    `one app at a time at ${RATE} req/s offered, ${CASE === 'inc' ? 'increment' : 'read-only'}, ${SESSIONS} session(s), each app with its own redis-server`,
  );
  const { startRedisServer } = await import('../test/support/redis-server.js');
  const { Redis: RedisClient } = await import('ioredis');
  const secret = randomBytes(32).toString('base64url');
  const servers: Array<{ destroy(): Promise<void> }> = [];
  const apps: App[] = [];
  try {
    for (const name of ['floor', 'connect-redis', 'tessera']) {
      const server = await startRedisServer();
      servers.push(server);
      if (server.pid === null) throw new Error('redis-server has no process id');
      pinProcess(server.pid, pins.server);
      const child = await startChild(name, APPS, ['--serve', name, server.url], pins, {
        BENCH_SECRET: secret,
      });
      const cookies: string[] = [];
      for (let i = 0; i < SESSIONS; i++) cookies.push(await newSession(child));
      apps.push({
        child,
        probe: new RedisClient(server.url),
        pid: server.pid,
        cookies,
        rounds: [],
      });
    }
    for (const app of apps) await offer(app, QUICK ? 1 : 2); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      for (const app of round % 2 === 0 ? apps : [...apps].reverse()) {
        const before = await counters(app);
        const requests = await offer(app, SECONDS);
        const after = await counters(app);
        const reads = after.reads - before.reads;
        app.rounds.push({
          rps: requests / SECONDS,
          redisUs: (after.userUs + after.sysUs - before.userUs - before.sysUs) / requests,
          redisUserUs: (after.userUs - before.userUs) / requests,
          redisSysUs: (after.sysUs - before.sysUs) / requests,
          readsPerRequest: reads / requests,
          writesPerRequest: (after.writes - before.writes) / requests,
          commandsPerRead: (after.commands - before.commands) / reads,
        });
      }
    }
    const results: Record<string, Record<string, number>> = {};
    for (const app of apps) {
      const first = app.rounds[0] ?? {};
      results[app.child.name] = Object.fromEntries(
        Object.keys(first).map((k) => [
          k,
          Math.round(median(app.rounds.map((r) => r[k] as number)) * 1000) / 1000,
        ]),
      );
    }
    console.log(
      '| app | req/s | Redis CPU µs/req | of it user / system | read calls/req | write calls/req | commands per read call |',
    );
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const [name, r] of Object.entries(results)) {
      console.log(
        `| ${name} | ${Math.round(r.rps ?? 0)} | ${r.redisUs} | ${r.redisUserUs} / ${r.redisSysUs} | ${r.readsPerRequest} | ${r.writesPerRequest} | ${r.commandsPerRead} |`,
      );
    }
    const ratio = (results.tessera?.redisUs ?? NaN) / (results['connect-redis']?.redisUs ?? NaN);
    console.log(`Redis CPU per request, Tessera ÷ connect-redis: ${ratio.toFixed(2)}×`);
    if (!QUICK) {
      mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
      writeFileSync(
        new URL('./results/redis-batches.json', import.meta.url),
        `${JSON.stringify({ started, rate: RATE, sessions: SESSIONS, case: CASE, rounds: ROUNDS, seconds: SECONDS, pins, results }, null, 2)}\n`,
      );
    }
  } finally {
    for (const app of apps) {
      app.child.process.kill('SIGTERM');
      app.probe.disconnect();
    }
    for (const server of servers) await server.destroy();
  }
}

await main();
