/**
 * Instructions redis-server executes per request (user space, counted by valgrind's callgrind),
 * Tessera's Redis store beside connect-redis 9 on node-redis. Unlike CPU time, the count barely
 * moves with other load on the machine, so it compares the two stores' Redis cost on a busy
 * machine. Kernel time (socket reads and writes) is not counted; `bench/redis-cpu.ts` measures
 * that side. Per request: Tessera read = `get` (HGETALL), increment = `get` + a one-key data
 * `patch` (one HSET, no script); apart, a patch that also moves `lastSeenAt` (the small
 * script) and the `touch` that slides a session's expiry; connect-redis read = `get` + `touch`
 * (GET + EXPIRE), increment = `get` + `set` (GET + SET … EX); 50 concurrent loops, ioredis
 * auto-pipelining on (the store's default).
 * Also the floor of any Lua script: `EVALSHA` of `return 1` with one key and three arguments.
 * Needs valgrind (`callgrind_control`). Run: `node --import tsx bench/redis-instructions.ts`.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import { Redis } from 'ioredis';
import { createClient } from 'redis';

import { findFreePort } from '../test/support/redis-server.js';
import { lib } from './tessera.js';

const { createRedisStore } = await lib.redisStore();

const OPS = process.argv.includes('--quick') ? 500 : 5_000;
const LOOPS = 50;

if (spawnSync('callgrind_control', ['--version']).status !== 0) {
  console.log('bench/redis-instructions.ts: valgrind is not installed; skipped.');
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'tessera-callgrind-'));
const port = await findFreePort();
const valgrind = spawn(
  'valgrind',
  [
    '--tool=callgrind',
    `--callgrind-out-file=${join(dir, 'cg.%p')}`,
    'redis-server',
    ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
  ],
  { stdio: 'ignore' },
);
const pid = String(valgrind.pid);
const url = `redis://127.0.0.1:${port}`;

/** Total instructions of the newest callgrind dump. */
function lastDump(): number {
  const dumps = readdirSync(dir)
    .filter((name) => /^cg\.\d+\.\d+$/.test(name))
    .sort((a, b) => Number(a.split('.')[2]) - Number(b.split('.')[2]));
  const text = readFileSync(join(dir, dumps[dumps.length - 1] as string), 'utf8');
  const match = /^(?:summary|totals): (\d+)/m.exec(text);
  return Number(match?.[1]);
}

async function perRequest(request: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 200; i++) await request(); // warm-up (and script loading)
  execFileSync('callgrind_control', ['-z', pid], { stdio: 'ignore' });
  let left = OPS;
  await Promise.all(
    Array.from({ length: LOOPS }, async () => {
      while (left-- > 0) await request();
    }),
  );
  execFileSync('callgrind_control', ['-d', pid], { stdio: 'ignore' });
  return Math.round(lastDump() / OPS);
}

try {
  // valgrind takes a few seconds to start redis-server: retry quietly until it answers.
  const probe = new Redis(url, { retryStrategy: () => 200 });
  probe.on('error', () => {});
  await probe.ping();
  const client = new Redis(url, { enableAutoPipelining: true });
  const store = createRedisStore({ client });
  const key = randomBytes(32).toString('hex');
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
  const node = createClient({ url });
  await node.connect();
  const peer = new ConnectRedisStore({ client: node });
  const sid = randomBytes(16).toString('base64url');
  const session = (count: number) => ({
    cookie: { originalMaxAge: 86_400_000, expires: new Date(t + 86_400_000), httpOnly: true },
    count,
  });
  await peer.set(sid, session(0) as never);
  const floor = (await client.script('LOAD', 'return 1')) as string;
  let n = 0;
  const rows: Array<[string, () => Promise<unknown>]> = [
    ['tessera read (HGETALL)', () => store.get(key)],
    [
      'tessera increment (HGETALL + HSET)',
      async () => {
        await store.get(key);
        await store.patch(key, { set: { count: ++n } });
      },
    ],
    ['tessera set-only patch alone (HSET)', () => store.patch(key, { set: { count: ++n } })],
    [
      'tessera patch moving lastSeenAt (EVALSHA)',
      () => store.patch(key, { set: { count: ++n }, lastSeenAt: t + n }),
    ],
    [
      'tessera touch alone (EVALSHA)',
      () => store.touch(key, Date.now(), Math.min(Date.now() + 3_600_000, t + 7_200_000)),
    ],
    [
      'connect-redis read (GET + EXPIRE)',
      () => peer.get(sid).then(() => peer.touch(sid, session(n) as never)),
    ],
    [
      'connect-redis increment (GET + SET)',
      () => peer.get(sid).then(() => peer.set(sid, session(++n) as never)),
    ],
    [
      'any Lua script: EVALSHA `return 1`, 1 key, 3 args',
      () => client.evalsha(floor, 1, key, '1', '2', '3'),
    ],
  ];
  console.log(`redis-server instructions per request (callgrind, ${OPS} requests, ${LOOPS} loops)`);
  for (const [label, request] of rows) {
    console.log(`${label.padEnd(52)} ${String(await perRequest(request)).padStart(8)}`);
  }
  await store.close();
  client.disconnect();
  await node.quit();
  probe.disconnect();
} finally {
  valgrind.kill('SIGTERM');
  await new Promise((resolve) => valgrind.once('exit', resolve));
  rmSync(dir, { recursive: true, force: true });
}
