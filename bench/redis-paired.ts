/**
 * Redis benchmark, paired (bench/paired.ts): Express 5 on Redis three ways, at the same time on
 * the last CPU, each app with its own redis-server on that CPU too: the floor (the same routes on
 * raw ioredis, no session layer), express-session + connect-redis, and `tessera-session/express`
 * on Tessera's Redis store (the apps of `bench/redis.ts`, `--serve NAME URL`). Each app's CPU per
 * request counts its process and its redis-server (`INFO cpu`), as the issue asks; each redis-
 * server's own CPU per request is printed below the table (Tessera's against connect-redis's,
 * the "Redis CPU per request ≤ connect-redis's"). Cases:
 * read-only and increment, over one shared session and over 1,000 sessions; targets 1.5×
 * (read-only) and 1.3× (increment) against connect-redis.
 *
 * Run: `node --import tsx bench/redis-paired.ts` (about 3 minutes; `--quick`: 1 round of 1 s).
 * Needs Linux with `taskset`, 2 or more CPUs and `redis-server`. Prints a table and writes
 * `bench/results/redis-paired.json`.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import type { RedisServerHandle } from '../test/support/redis-server.js';
import { pinProcess } from './cpu-pinning.js';
import {
  beginPairedRun,
  type Child,
  printPaired,
  QUICK,
  redisCpuUs,
  runPairedCases,
  startChild,
  TIMING,
  writePairedResults,
} from './paired.js';

const APPS = fileURLToPath(new URL('./redis.ts', import.meta.url));

async function main(): Promise<void> {
  const { pins, started } = beginPairedRun(
    'Paired Redis benchmark (bench/redis-paired.ts)',
    'three apps at once, each with its own redis-server',
  );
  const { startRedisServer } = await import('../test/support/redis-server.js');
  const { Redis: RedisClient } = await import('ioredis');
  const secret = randomBytes(32).toString('base64url');
  const servers: RedisServerHandle[] = [];
  const clients: Redis[] = [];
  const children: Child[] = [];
  try {
    for (const name of ['floor', 'connect-redis', 'tessera']) {
      const server = await startRedisServer();
      servers.push(server);
      if (server.pid !== null) pinProcess(server.pid, pins.server);
      const client = new RedisClient(server.url);
      clients.push(client);
      const app = await startChild(name, APPS, ['--serve', name, server.url], pins, {
        BENCH_SECRET: secret,
      });
      children.push({
        ...app,
        cpu: async () => (await app.cpu()) + (await redisCpuUs(client)),
        redisCpu: () => redisCpuUs(client),
      });
    }
    const [bare, peer, tessera] = children as [Child, Child, Child];
    const trio = {
      framework: 'express on Redis',
      bare,
      peer,
      tessera,
      target: { read: 1.5, inc: 1.3 },
    };
    const cases = await runPairedCases(trio, [1, 1_000], TIMING);
    printPaired(cases);
    writePairedResults('redis-paired', { timing: TIMING, pins, cases, started }, QUICK);
  } finally {
    for (const child of children) child.process.kill('SIGTERM');
    for (const client of clients) client.disconnect();
    for (const server of servers) await server.destroy();
  }
}

await main();
