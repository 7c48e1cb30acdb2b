#!/usr/bin/env node
// `npm run bench [-- NAME ...] [--quick]`: builds tessera-session, then runs the benchmarks (all, or
// the named ones) one after the other, each in its own Node process, beside the peer libraries in
// the same run. `TESSERA_BENCH_SRC=1` skips the build and loads the sources through tsx. Results
// are printed and written to bench/results/NAME.json.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const BENCHES = {
  stores: ['--expose-gc'], // memory and SQLite stores vs express-session's MemoryStore
  tokens: [], // sign/verify vs jose, jsonwebtoken, fast-jwt and the node:crypto floor
  http: [], // Express and Fastify apps vs express-session and @fastify/session, over sockets
  'http-paired': [], // the same apps, the three of a comparison at once on one CPU: steadier ratios
  'http-inprocess': [], // the same, in one process without sockets: the session layer's own cost
  redis: [], // Express on Redis vs express-session + connect-redis
  'redis-paired': [], // the same, the three apps (each with its own Redis) at once on one CPU
  'redis-cpu': [], // Redis CPU per load/patch, ioredis auto-pipelining off and on
  'redis-batches': [], // Redis CPU and system calls per request at one offered rate: how commands arrive
  'redis-client': [], // ioredis client CPU per session read, by reply shape (HGETALL, HVALS, GET)
};

const args = process.argv.slice(2);
// Flags (e.g. `--quick`: 1 short round, a smoke test) go to every benchmark.
const flags = args.filter((arg) => arg.startsWith('--'));
const wanted = args.filter((arg) => !arg.startsWith('--'));
const unknown = wanted.filter((name) => !(name in BENCHES));
if (unknown.length > 0) {
  console.error(
    `npm run bench: unknown benchmark ${unknown.join(', ')}; choose from ${Object.keys(BENCHES).join(', ')}`,
  );
  process.exit(2);
}
// The benchmarks load the built package (bench/tessera.ts), what users install: build it from the
// sources as they stand, so the figures are those of the checked-out code.
if (process.env.TESSERA_BENCH_SRC !== '1') {
  console.log('npm run bench: building tessera-session (the benchmarks load its dist/)');
  const build = spawnSync('npm', ['run', 'build', '-w', 'tessera-session'], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
let failed = 0;
for (const name of wanted.length > 0 ? wanted : Object.keys(BENCHES)) {
  const file = `bench/${name}.ts`;
  if (!existsSync(file)) continue;
  console.log(`\n=== bench/${name}.ts ===`);
  const result = spawnSync(
    process.execPath,
    [...BENCHES[name], '--import', 'tsx', file, ...flags],
    {
      stdio: 'inherit',
    },
  );
  if (result.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
