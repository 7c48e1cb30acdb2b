/**
 * What reading one session costs the Redis client (ioredis, in this process), by the shape of
 * the reply: `HGETALL` of an anonymous Express session's hash as Tessera's Redis store lays it
 * out now (the packed fixed fields `_p`, the packed meta `_m` that every session gets, one data
 * key: 3 fields, 6 bulk strings), the same with the three meta keys as separate fields (as the
 * store wrote it before `_m`: 5 fields, 10 bulk strings), the layout written before `_p` (six
 * separate fixed fields too, as `layout: 'separate'` writes: 10 fields, 20 bulk strings), and
 * `GET` of the same session as one JSON string (1 bulk string, connect-redis's layout). 50
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
const HANDLE = 'Qm9keS1oYW5kbGUtMTIzNDU2';
const EXPIRES = String(now + 86_400_000);
const ABSOLUTE = String(now + 30 * 86_400_000);
/** Data and meta keys as `tessera-session/express` stores them for `req.session.count = 42`. */
const DATA: Record<string, string> = { 'd:count': '42' };
const META = { strategy: 'server', ip: '127.0.0.1', userAgent: 'autocannon' };
const KEYS: Record<string, string> = {
  ...DATA,
  ...Object.fromEntries(Object.entries(META).map(([name, v]) => [`m:${name}`, JSON.stringify(v)])),
};
const FIXED = [EXPIRES, now, now, ABSOLUTE, ABSOLUTE, HANDLE].join('|');
const PACKED: Record<string, string> = { _p: FIXED, _m: JSON.stringify(META), ...DATA };
const PACKED_FIXED: Record<string, string> = { _p: FIXED, ...KEYS };
const SEPARATE: Record<string, string> = {
  _h: HANDLE,
  _c: String(now),
  _l: String(now),
  _e: EXPIRES,
  _x: ABSOLUTE,
  _b: ABSOLUTE,
  ...KEYS,
};
const STRING = JSON.stringify({
  cookie: { originalMaxAge: null, httpOnly: true, path: '/' },
  count: 42,
});

const server = await startRedisServer();
const client = new Redis(server.url, { enableAutoPipelining: true });
try {
  await client.hset('bench:packed', PACKED);
  await client.hset('bench:packed-fixed', PACKED_FIXED);
  await client.hset('bench:separate', SEPARATE);
  await client.set('bench:string', STRING);
  const commands: Record<string, () => Promise<unknown>> = {
    'HGETALL, packed (6 bulk strings)': () => client.hgetall('bench:packed'),
    'HGETALL, meta as fields (10)': () => client.hgetall('bench:packed-fixed'),
    'HGETALL, separate (20 bulk strings)': () => client.hgetall('bench:separate'),
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
  for (const [name, us] of Object.entries(results)) console.log(`  ${name.padEnd(36)} ${us}`);
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
