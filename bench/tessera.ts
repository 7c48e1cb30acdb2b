/**
 * Where the benchmarks load Tessera from. By default the built package,
 * `packages/session/dist` (what `npm install tessera-session` gives users: tsc's plain ES2022
 * output); `npm run bench` builds it first. `TESSERA_BENCH_SRC=1` loads the TypeScript sources
 * through tsx instead, with no build: handy while editing, but not what users run, since
 * tsx's transform wraps every function it creates in a `__name(...)` call that each
 * per-request closure then pays.
 *
 * @example
 * const { default: session } = await lib.express();
 */
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const FROM_SOURCE = process.env.TESSERA_BENCH_SRC === '1';
const SRC = new URL('../packages/session/src/', import.meta.url);
const DIST = new URL('../packages/session/dist/', import.meta.url);

/** The newest modification time of a file under `dir`, in ms. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || entry.name.endsWith('.test.ts')) continue;
    latest = Math.max(latest, statSync(`${entry.parentPath}/${entry.name}`).mtimeMs);
  }
  return latest;
}

let checked = false;

/** Refuses a missing or stale build: figures for code other than the checked-out one mislead. */
function checkBuild(): void {
  if (checked || FROM_SOURCE) return;
  checked = true;
  let built: number;
  try {
    built = statSync(fileURLToPath(new URL('index.js', DIST))).mtimeMs;
  } catch {
    throw new Error(
      'bench: packages/session/dist is missing; run `npm run build` (npm run bench does) or set TESSERA_BENCH_SRC=1',
    );
  }
  if (built < newest(fileURLToPath(SRC))) {
    throw new Error(
      'bench: packages/session/dist is older than src/; run `npm run build` (npm run bench does) or set TESSERA_BENCH_SRC=1',
    );
  }
}

/** Where Tessera is loaded from, for the benchmark's header line. */
export const TESSERA_FROM = FROM_SOURCE ? 'src (tsx)' : 'dist (built package)';

/** Imports a module of tessera-session by its path under src/ or dist/ (same layout, `.js`). */
export function tessera<T>(subpath: string): Promise<T> {
  checkBuild();
  return import(new URL(subpath, FROM_SOURCE ? SRC : DIST).href) as Promise<T>;
}

/** The modules the benchmarks use, typed from their sources, loaded as {@link tessera} says. */
export const lib = {
  express: () =>
    tessera<typeof import('../packages/session/src/adapters/express/index.js')>(
      'adapters/express/index.js',
    ),
  fastify: () =>
    tessera<typeof import('../packages/session/src/adapters/fastify/index.js')>(
      'adapters/fastify/index.js',
    ),
  memoryStore: () =>
    tessera<typeof import('../packages/session/src/stores/memory/index.js')>(
      'stores/memory/index.js',
    ),
  redisStore: () =>
    tessera<typeof import('../packages/session/src/stores/redis/index.js')>(
      'stores/redis/index.js',
    ),
  sqliteStore: () =>
    tessera<typeof import('../packages/session/src/stores/sqlite/index.js')>(
      'stores/sqlite/index.js',
    ),
  readCache: () =>
    tessera<typeof import('../packages/session/src/stores/cache/index.js')>(
      'stores/cache/index.js',
    ),
  ids: () => tessera<typeof import('../packages/session/src/shared/ids.js')>('shared/ids.js'),
  tokenGuard: () =>
    tessera<typeof import('../packages/session/src/http/token-guard.js')>('http/token-guard.js'),
  accessTokens: () =>
    tessera<typeof import('../packages/session/src/tokens/access-tokens.js')>(
      'tokens/access-tokens.js',
    ),
  dpop: () => tessera<typeof import('../packages/session/src/tokens/dpop.js')>('tokens/dpop.js'),
  dpopProof: () =>
    tessera<typeof import('../packages/session/src/tokens/dpop-proof.js')>('tokens/dpop-proof.js'),
  keyring: () =>
    tessera<typeof import('../packages/session/src/tokens/keyring.js')>('tokens/keyring.js'),
};
