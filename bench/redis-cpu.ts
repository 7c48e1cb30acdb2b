/**
 * Redis CPU per store operation, with and without ioredis auto-pipelining: 50 concurrent
 * loops over one Redis server this script starts, each doing a session load (`get`) and,
 * for `inc`, a one-key data patch. Redis CPU comes from `INFO cpu` deltas, commands from
 * `INFO commandstats`. Run: `node --import tsx bench/redis-cpu.ts [ops]` (`--quick`: 2,000).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createRedisStore } from '../packages/session/src/stores/redis/index.js';
import { startRedisServer } from '../test/support/redis-server.js';

const QUICK = process.argv.includes('--quick');
const OPS = QUICK ? 2_000 : Number(process.argv.find((arg) => /^\d+$/.test(arg)) ?? 20_000);
const LOOPS = 50;

async function cpu(redis: Redis): Promise<number> {
  const text = await redis.info('cpu');
  let total = 0;
  for (const m of text.matchAll(/^used_cpu_(?:sys|user):([\d.]+)/gm)) total += Number(m[1]);
  return total;
}

async function calls(redis: Redis): Promise<number> {
  const text = await redis.info('commandstats');
  let total = 0;
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (m[1] !== 'info') total += Number(m[2]);
  }
  return total;
}

const server = await startRedisServer();
const probe = new Redis(server.url);
try {
  for (const pipelined of [false, true, false, true]) {
    const client = new Redis(server.url, { enableAutoPipelining: pipelined });
    const store = createRedisStore({ client }, { prefix: `p${pipelined ? 1 : 0}:` });
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
    for (const kase of ['read', 'inc'] as const) {
      const cpuBefore = await cpu(probe);
      const callsBefore = await calls(probe);
      let left = OPS;
      await Promise.all(
        Array.from({ length: LOOPS }, async () => {
          while (left-- > 0) {
            const record = await store.get(key);
            if (kase === 'inc') {
              await store.patch(key, { set: { count: ((record?.data.count as number) ?? 0) + 1 } });
            }
          }
        }),
      );
      const us = (((await cpu(probe)) - cpuBefore) * 1e6) / OPS;
      const per = ((await calls(probe)) - callsBefore) / OPS;
      console.log(
        `${kase.padEnd(4)} autoPipelining=${String(pipelined).padEnd(5)} Redis CPU ${us.toFixed(1)} µs/request, ${per.toFixed(2)} commands/request (script-internal included)`,
      );
    }
    await store.close?.();
    client.disconnect();
  }
} finally {
  probe.disconnect();
  await server.destroy();
}
