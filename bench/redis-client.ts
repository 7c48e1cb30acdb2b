/**
 * What reading one session costs the Redis client (ioredis, in this process), by the shape of
 * the reply: `HGETALL` of a session hash as Tessera's Redis store lays it out (the 6 fields of
 * an anonymous session, one data key, one meta key: 16 bulk strings), `HVALS` of the same hash
 * (8), and `GET` of the same session as one JSON string (1, connect-redis's layout). 50
 * concurrent loops over one auto-pipelining client, as the store creates it; client CPU per
 * command (`process.cpuUsage()`), 5 rounds, medians. Redis's own CPU is `bench/redis-cpu.ts`'s.
 *
 * Run: `node --import tsx bench/redis-client.ts` (about 30 s; `--quick`: 1 round of 5,000).
 * Writes bench/results/redis-client.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Redis } from 'ioredis';
import { startRedisServer } from '../test/support/redis-server.js';
import { median } from './stats.js';

const QUICK = process.argv.includes('--quick');
const ROUNDS = QUICK ? 1 : 5;
const PER_ROUND = QUICK ? 5_000 : 40_000;
const LOOPS = 50;

const version = (
  JSON.parse(
    readFileSync(createRequire(import.meta.url).resolve('ioredis/package.json'), 'utf8'),
  ) as { version: string }
).version;

const now = Date.now();
const HASH: Record<string, string> = {
  _h: 'Qm9keS1oYW5kbGUtMTIzNDU2',
  _c: String(now),
  _l: String(now),
  _e: String(now + 86_400_000),
  _x: String(now + 30 * 86_400_000),
  _b: String(now + 30 * 86_400_000),
  'd:count': '42',
  'm:cookieMaxAge': 'null',
};
const STRING = JSON.stringify({
  cookie: { originalMaxAge: null, httpOnly: true, path: '/' },
  count: 42,
});

const server = await startRedisServer();
const client = new Redis(server.url, { enableAutoPipelining: true });
try {
  await client.hset('bench:hash', HASH);
  await client.set('bench:string', STRING);
  const commands: Record<string, () => Promise<unknown>> = {
    'HGETALL (16 bulk strings)': () => client.hgetall('bench:hash'),
    'HVALS (8 bulk strings)': () => client.hvals('bench:hash'),
    'GET (1 bulk string)': () => client.get('bench:string'),
  };
  const run = async (command: () => Promise<unknown>, count: number): Promise<void> => {
    let started = 0;
    await Promise.all(
      Array.from({ length: LOOPS }, async () => {
        while (started++ < count) await command();
      }),
    );
  };
  const samples = new Map<string, number[]>(Object.keys(commands).map((name) => [name, []]));
  for (const command of Object.values(commands)) await run(command, PER_ROUND / 2); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, command] of Object.entries(commands)) {
      const before = process.cpuUsage();
      await run(command, PER_ROUND);
      const used = process.cpuUsage(before);
      samples.get(name)?.push((used.user + used.system) / PER_ROUND);
    }
  }
  const results = Object.fromEntries(
    [...samples].map(([name, values]) => [name, Math.round(median(values) * 100) / 100]),
  );
  console.log(
    `Redis client CPU per command, ioredis ${version}, ${LOOPS} loops, ${ROUNDS} × ${PER_ROUND}, medians (µs)`,
  );
  for (const [name, us] of Object.entries(results)) console.log(`  ${name.padEnd(28)} ${us}`);
  if (!QUICK) {
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    writeFileSync(
      new URL('./results/redis-client.json', import.meta.url),
      `${JSON.stringify({ node: process.version, ioredis: version, rounds: ROUNDS, perRound: PER_ROUND, results }, null, 2)}\n`,
    );
  }
} finally {
  client.disconnect();
  await server.destroy();
}
