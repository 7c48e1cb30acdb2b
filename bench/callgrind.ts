/**
 * Instructions per request under valgrind (callgrind): runs bench/callgrind-loop.ts twice per
 * app, route and session count (N = 500 and 1,500 requests by default), divides the
 * difference in instructions by the difference in N (start-up cancels out), and prints each
 * count with Tessera's ratio to its peer (whole request, and session layer only: minus the
 * bare framework). Repeatable to about 1 %, also on a busy machine, unlike timings.
 *
 * The Redis pair (`express-redis` vs `express-session-redis`, not in the default set) starts a
 * throwaway redis-server per run; only the app process is counted.
 *
 * Run: `node --import tsx bench/callgrind.ts [--apps express,express-session,express-bare]
 * [--routes read,inc] [--sessions 1,1000] [--n 500,1500] [--jobs 2]` (defaults: all six apps,
 * both routes, 1 and 1,000 sessions). Needs valgrind and a built package (`npm run build`; bench/tessera.ts). Writes bench/results/callgrind.json.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ALL_APPS = [
  'express',
  'express-session',
  'express-bare',
  'fastify',
  'fastify-session',
  'fastify-bare',
];
/** Tessera's app → its peer (and the bare framework, for the session-layer ratio). */
const PAIRS: Array<{ tessera: string; peer: string; bare: string }> = [
  { tessera: 'express', peer: 'express-session', bare: 'express-bare' },
  { tessera: 'fastify', peer: 'fastify-session', bare: 'fastify-bare' },
  { tessera: 'express-redis', peer: 'express-session-redis', bare: 'express-bare' },
];

function option(name: string, fallback: string): string[] {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? process.argv[index + 1] : undefined;
  return (value ?? fallback).split(',').filter((part) => part !== '');
}

const apps = option('apps', ALL_APPS.join(','));
const routes = option('routes', 'read,inc');
const sessionCounts = option('sessions', '1,1000').map(Number);
const [smallN, largeN] = option('n', '500,1500').map(Number) as [number, number];
const jobs = Number(option('jobs', '1')[0]);

/** Total instructions of one loop run (valgrind's "Collected" line). */
function instructions(app: string, route: string, n: number, sessions: number): Promise<number> {
  const out = join(tmpdir(), `tessera-cg-${process.pid}-${app}-${route}-${n}-${sessions}`);
  const args = [
    '--tool=callgrind',
    `--callgrind-out-file=${out}`,
    process.execPath,
    // No background compiler or GC threads: the work done per request does not depend on how
    // the threads were scheduled (without it, counts on a busy machine varied up to 2×).
    '--single-threaded',
    '--import',
    'tsx',
    'bench/callgrind-loop.ts',
    app,
    route,
    String(n),
    String(sessions),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('valgrind', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      rmSync(out, { force: true });
      const match = /Collected : (\d+)/.exec(stderr);
      if (code !== 0 || !match) {
        reject(new Error(`valgrind ${app} ${route} ${n}: exit ${code}\n${stderr.slice(-2000)}`));
        return;
      }
      resolve(Number(match[1]));
    });
  });
}

interface Cell {
  app: string;
  route: string;
  sessions: number;
}

async function perRequest(cell: Cell): Promise<number> {
  const [small, large] = await Promise.all([
    instructions(cell.app, cell.route, smallN, cell.sessions),
    instructions(cell.app, cell.route, largeN, cell.sessions),
  ]);
  return Math.round((large - small) / (largeN - smallN));
}

async function runAll(cells: Cell[]): Promise<Map<string, number>> {
  const results = new Map<string, number>();
  const queue = [...cells];
  // Each cell runs its two valgrind processes side by side; `jobs` cells at a time.
  const workers = Array.from({ length: Math.max(1, jobs) }, async () => {
    for (let cell = queue.shift(); cell !== undefined; cell = queue.shift()) {
      const count = await perRequest(cell);
      results.set(`${cell.app} ${cell.route} ${cell.sessions}`, count);
      console.log(
        `${cell.app.padEnd(16)} ${cell.route.padEnd(5)} ${String(cell.sessions).padStart(5)} session(s)  ${count.toLocaleString('en').padStart(11)} instructions/request`,
      );
    }
  });
  await Promise.all(workers);
  return results;
}

const cells = sessionCounts.flatMap((sessions) =>
  routes.flatMap((route) => apps.map((app) => ({ app, route, sessions }))),
);
console.log(`callgrind: N = ${smallN} and ${largeN}, (difference) / ${largeN - smallN}`);
const results = await runAll(cells);

const ratios: Record<string, { whole: number; layer?: number }> = {};
for (const { tessera: framework, peer, bare: bareApp } of PAIRS) {
  for (const sessions of sessionCounts) {
    for (const route of routes) {
      const get = (app: string) => results.get(`${app} ${route} ${sessions}`);
      const tessera = get(framework);
      const other = get(peer);
      if (tessera === undefined || other === undefined) continue;
      const bare = get(bareApp);
      const entry: { whole: number; layer?: number } = { whole: other / tessera };
      if (bare !== undefined) entry.layer = (other - bare) / (tessera - bare);
      ratios[`${framework} ${route} ${sessions}`] = entry;
      const layer = entry.layer === undefined ? '' : `, session layer ${entry.layer.toFixed(2)}×`;
      console.log(
        `${framework} ${route}, ${sessions} session(s): Tessera vs ${peer}: whole request ${entry.whole.toFixed(2)}×${layer} fewer instructions`,
      );
    }
  }
}
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./results/callgrind.json', import.meta.url),
  `${JSON.stringify({ node: process.version, n: [smallN, largeN], instructions: Object.fromEntries(results), ratios }, null, 2)}\n`,
);
console.log('\nWrote bench/results/callgrind.json');
