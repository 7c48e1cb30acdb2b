/**
 * HTTP benchmark, paired (bench/paired.ts): for Express 5 and Fastify 5, the app with no session
 * layer, the peer (express-session + its MemoryStore, @fastify/session + @fastify/cookie) and
 * Tessera's adapter on its memory store (the apps of `bench/http.ts`, `--serve NAME`, each in its
 * own process) run at the same time on the last CPU, each loaded by 50 connections. Cases:
 * read-only (`GET /read`) and increment (`POST /inc`, same-origin), over one shared session and
 * over 1,000 sessions. Req/s and CPU per request are reported as Tessera / peer ratios, the
 * median of the rounds' own ratios, and the session layer as CPU above the bare app.
 *
 * With `--bare-shaped`, Express's bare app also re-adds `req.res` and `res.req` as Tessera's
 * middleware does (docs/express.md, "Why an Express app gets faster"): the session layer is
 * then Tessera's own cost, without the speed-up that change gives the rest of the app.
 *
 * Run: `node --import tsx bench/http-paired.ts [--bare-shaped]` (about 4 minutes; `--quick`:
 * 1 round of 1 s).
 * Needs Linux with `taskset` and 2 or more CPUs. Prints a table and writes
 * `bench/results/http-paired.json`.
 */
import { fileURLToPath } from 'node:url';
import {
  beginPairedRun,
  type Child,
  type PairedCase,
  printPaired,
  QUICK,
  runPairedCases,
  startChild,
  TIMING,
  writePairedResults,
} from './paired.js';

const SERVERS = fileURLToPath(new URL('./http.ts', import.meta.url));

async function main(): Promise<void> {
  const { pins, started } = beginPairedRun(
    'Paired HTTP benchmark (bench/http-paired.ts)',
    'three servers at once',
  );
  const cases: PairedCase[] = [];
  for (const [framework, peer, target] of [
    ['express', 'express-session', 1.3],
    ['fastify', 'fastify-session', 1.5],
  ] as const) {
    const children: Child[] = [];
    try {
      const bareName =
        framework === 'express' && process.argv.includes('--bare-shaped')
          ? 'express-shaped-bare'
          : `${framework}-bare`;
      for (const name of [bareName, peer, `tessera-${framework}`]) {
        children.push(await startChild(name, SERVERS, ['--serve', name], pins));
      }
      const [bare, peerChild, tessera] = children as [Child, Child, Child];
      const trio = { framework, bare, peer: peerChild, tessera, target };
      cases.push(...(await runPairedCases(trio, [1, 1_000], TIMING)));
    } finally {
      for (const child of children) child.process.kill();
    }
  }
  printPaired(cases);
  writePairedResults('http-paired', { timing: TIMING, pins, cases, started }, QUICK);
}

await main();
