/**
 * Redis CPU per store operation, Tessera's Redis store beside connect-redis 9 (on node-redis,
 * as express-session drives it) in one run: 50 concurrent loops over one Redis server this
 * script starts. Per request, Tessera: read = `get` (HGETALL), increment = `get` + a one-key
 * data `patch`; connect-redis: read = `get` + `touch` (GET + EXPIRE: what express-session does
 * on an unmodified session), increment = `get` + `set` (GET + SET … EX). Tessera runs on a
 * client with ioredis auto-pipelining off and on (on is the default for clients the store
 * creates); since the store batches its own commands per event-loop turn on a standalone
 * client (`internal/commands.ts`), the two rows should now be alike.
 * Redis CPU comes from `INFO cpu` deltas, commands from `INFO commandstats` (script-internal
 * calls included, listed by name). Each setup runs ROUNDS times, alternated; medians.
 * Run: `node --import tsx bench/redis-cpu.ts [ops]` (`--quick`: 2,000 ops, 1 round).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import { Redis } from 'ioredis';
import { createClient } from 'redis';

import { startRedisServer } from '../test/support/redis-server.js';
import { median } from './stats.js';
import { lib } from './tessera.js';

const { createRedisStore } = await lib.redisStore();

const QUICK = process.argv.includes('--quick');
const OPS = QUICK ? 2_000 : Number(process.argv.find((arg) => /^\d+$/.test(arg)) ?? 20_000);
const ROUNDS = QUICK ? 1 : 5;
const LOOPS = 50;

type SetupName = 'tessera (auto-pipelining off)' | 'tessera' | 'connect-redis';
type CaseName = 'read' | 'inc';
/** One request of a case: what the store does for it. */
type Request = (kase: CaseName) => Promise<void>;

async function cpu(redis: Redis): Promise<number> {
  const text = await redis.info('cpu');
  let total = 0;
  for (const m of text.matchAll(/^used_cpu_(?:sys|user):([\d.]+)/gm)) total += Number(m[1]);
  return total;
}

async function calls(redis: Redis): Promise<Map<string, number>> {
  const text = await redis.info('commandstats');
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (m[1] !== 'info') out.set(m[1] as string, Number(m[2]));
  }
  return out;
}

async function tesseraSetup(
  url: string,
  pipelined: boolean,
): Promise<[Request, () => Promise<void>]> {
  const client = new Redis(url, { enableAutoPipelining: pipelined });
  const store = createRedisStore({ client }, { prefix: `t${pipelined ? 1 : 0}:` });
  const key = randomBytes(16).toString('hex');
  const t = Date.now();
  await store.create({
    key,
    handle: randomBytes(8).toString('hex'),
    userId: null,
    data: { count: 0 },
    meta: {},
    createdAt: t,
    lastSeenAt: t,
    authAt: null,
    expiresAt: t + 3_600_000,
    absoluteExpiresAt: t + 7_200_000,
  });
  const request: Request = async (kase) => {
    const record = await store.get(key);
    if (kase === 'inc') {
      await store.patch(key, { set: { count: ((record?.data.count as number) ?? 0) + 1 } });
    }
  };
  return [
    request,
    async () => {
      await store.close();
      client.disconnect();
    },
  ];
}

async function connectRedis(url: string): Promise<[Request, () => Promise<void>]> {
  const client = createClient({ url });
  await client.connect();
  const store = new ConnectRedisStore({ client, prefix: 'cr:' });
  const sid = randomBytes(16).toString('base64url');
  const cookie = () => ({
    originalMaxAge: 86_400_000,
    expires: new Date(Date.now() + 86_400_000),
    httpOnly: true,
    path: '/',
  });
  await store.set(sid, { cookie: cookie(), count: 0 } as never);
  const request: Request = async (kase) => {
    const sess = (await store.get(sid)) as unknown as { count: number } | null;
    const next = { cookie: cookie(), count: (sess?.count ?? 0) + (kase === 'inc' ? 1 : 0) };
    if (kase === 'inc') await store.set(sid, next as never);
    else await store.touch(sid, next as never);
  };
  return [request, () => client.quit().then(() => undefined)];
}

interface Sample {
  us: number;
  commands: Record<string, number>;
}

async function measure(probe: Redis, request: Request, kase: CaseName): Promise<Sample> {
  const cpuBefore = await cpu(probe);
  const callsBefore = await calls(probe);
  let left = OPS;
  await Promise.all(
    Array.from({ length: LOOPS }, async () => {
      while (left-- > 0) await request(kase);
    }),
  );
  const us = (((await cpu(probe)) - cpuBefore) * 1e6) / OPS;
  const commands: Record<string, number> = {};
  for (const [name, n] of await calls(probe)) {
    const delta = n - (callsBefore.get(name) ?? 0);
    if (delta > 0) commands[name] = Math.round((delta / OPS) * 100) / 100;
  }
  return { us, commands };
}

const server = await startRedisServer();
const probe = new Redis(server.url);
try {
  const setups: Array<[SetupName, Request, () => Promise<void>]> = [
    ['tessera (auto-pipelining off)', ...(await tesseraSetup(server.url, false))],
    ['tessera', ...(await tesseraSetup(server.url, true))],
    ['connect-redis', ...(await connectRedis(server.url))],
  ];
  const samples = new Map<string, Sample[]>();
  for (const kase of ['read', 'inc'] as const) {
    for (const [, request] of setups) await measure(probe, request, kase); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? setups : [...setups].reverse();
      for (const [name, request] of order) {
        const list = samples.get(`${kase} ${name}`) ?? [];
        list.push(await measure(probe, request, kase));
        samples.set(`${kase} ${name}`, list);
      }
    }
  }
  for (const [, , close] of setups) await close();
  const rows: Array<Record<string, unknown>> = [];
  for (const [label, list] of samples) {
    const us = median(list.map((s) => s.us));
    const commands = list[0]?.commands ?? {};
    const total = Object.values(commands).reduce((sum, n) => sum + n, 0);
    const perName = Object.entries(commands)
      .map(([name, n]) => `${name} ${n}`)
      .join(', ');
    rows.push({ label, us: Math.round(us * 100) / 100, rounds: list.map((s) => s.us), commands });
    console.log(
      `${label.padEnd(36)} Redis CPU ${us.toFixed(2).padStart(6)} µs/request (rounds ${list
        .map((s) => s.us.toFixed(1))
        .join(' ')}), ${total.toFixed(2)} commands/request: ${perName}`,
    );
  }
  if (!QUICK) {
    mkdirSync('bench/results', { recursive: true });
    writeFileSync(
      'bench/results/redis-cpu.json',
      `${JSON.stringify({ date: new Date().toISOString(), ops: OPS, loops: LOOPS, rows }, null, 2)}\n`,
    );
  }
} finally {
  probe.disconnect();
  await server.destroy();
}
