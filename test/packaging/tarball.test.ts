/**
 * The packages as a user gets them: `npm pack` both workspaces, lint the tarballs (publint,
 * Are the Types Wrong), install the library's tarball into fresh apps with only a framework
 * beside it, and run them: CommonJS and ES-module Express and Fastify apps doing a two-request
 * session over a real socket, TypeScript consumers under node10, nodenext and bundler
 * resolution (strict, exactOptionalPropertyTypes, skipLibCheck off), and the one-line error of
 * a store whose driver is missing. The npm registry must be reachable (it is in CI); when it
 * is not, the install fails the suite with npm's own message.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumerFiles } from './consumers.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'node_modules', '.bin');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; never throws, so a test can show what went wrong. */
async function sh(command: string, args: string[], cwd: string): Promise<Result> {
  try {
    const { stdout, stderr } = await run(command, args, {
      cwd,
      maxBuffer: 32 * 1024 * 1024,
      env: { ...process.env, NODE_OPTIONS: '', npm_config_update_notifier: 'false' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === 'number' ? e.code : 1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
    };
  }
}

/** The newest modification time of the non-test sources under dir. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (!entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

let work = '';
const tarballs: Record<'session' | 'server', string> = { session: '', server: '' };

async function pack(workspace: 'session' | 'server'): Promise<string> {
  const result = await sh(
    'npm',
    ['pack', '--json', '--pack-destination', work],
    join(ROOT, 'packages', workspace),
  );
  expect(result.code, result.stderr).toBe(0);
  const [info] = JSON.parse(result.stdout) as Array<{ filename: string }>;
  return join(work, (info as { filename: string }).filename);
}

/** A fresh app: package.json, the library's tarball and the given packages from the registry. */
async function app(name: string, deps: string[], files: Record<string, string>): Promise<string> {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true }));
  const result = await sh(
    'npm',
    ['install', '--no-audit', '--no-fund', '--loglevel=error', tarballs.session, ...deps],
    dir,
  );
  if (result.code !== 0) {
    throw new Error(
      `npm install ${deps.join(' ')} failed in a fresh app (the npm registry must be reachable):\n${result.stderr}`,
    );
  }
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return dir;
}

const apps: Record<'express' | 'fastify' | 'types', string> = {
  express: '',
  fastify: '',
  types: '',
};

beforeAll(async () => {
  const session = join(ROOT, 'packages', 'session');
  const built = statSync(join(session, 'dist', 'index.js'), { throwIfNoEntry: false });
  if (!built || built.mtimeMs < newestSource(join(session, 'src'))) {
    throw new Error(
      'packages/session/dist is missing or older than src/: run `npm run build` first.',
    );
  }
  work = mkdtempSync(join(tmpdir(), 'tessera-pack-'));
  tarballs.session = await pack('session');
  tarballs.server = await pack('server');
  const files = consumerFiles();
  [apps.express, apps.fastify, apps.types] = await Promise.all([
    app('express-app', ['express'], files.express),
    app('fastify-app', ['fastify'], files.fastify),
    app(
      'types-app',
      ['express', '@types/express', '@types/express-session', 'fastify'],
      files.types,
    ),
  ]);
}, 240_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the tarballs', () => {
  it('pass publint, and Are the Types Wrong finds no problem in tessera-session', async () => {
    for (const tarball of [tarballs.session, tarballs.server]) {
      const lint = await sh(join(BIN, 'publint'), ['--strict', tarball], work);
      expect(lint.code, lint.stdout + lint.stderr).toBe(0);
      expect(lint.stdout).toContain('All good!');
    }
    // tessera-server is a CLI with no importable entry point, so there are no types to check.
    const attw = await sh(join(BIN, 'attw'), ['--format', 'ascii', tarballs.session], work);
    expect(attw.code, attw.stdout + attw.stderr).toBe(0);
    expect(attw.stdout).toContain('No problems found');
  }, 120_000);

  it('hold no benchmark, test, PNG, source map or TypeScript source, and a LICENSE', async () => {
    for (const workspace of ['session', 'server'] as const) {
      const result = await sh(
        'npm',
        ['pack', '--dry-run', '--json'],
        join(ROOT, 'packages', workspace),
      );
      const [info] = JSON.parse(result.stdout) as Array<{ files: Array<{ path: string }> }>;
      const paths = (info as { files: Array<{ path: string }> }).files.map((f) => f.path);
      expect(paths).toContain('LICENSE');
      const unwanted = paths.filter((p) =>
        /\.(bench|test)\.|\.png$|\.map$|(^|\/)src\/|(?<!\.d)\.ts$|\.tsbuildinfo$/.test(p),
      );
      expect(unwanted).toEqual([]);
    }
  }, 60_000);
});

describe('installed into fresh apps', () => {
  it.each([
    ['Express, CommonJS', 'express', 'server.cjs'],
    ['Express, ES module', 'express', 'server.mjs'],
    ['Fastify, CommonJS', 'fastify', 'server.cjs'],
    ['Fastify, ES module', 'fastify', 'server.mjs'],
  ] as const)(
    '%s: a session cookie set by one request is read back by the next',
    async (_, which, file) => {
      const result = await sh(process.execPath, [file], apps[which]);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout.trim())).toEqual({
        first: 'ok',
        second: { views: 2 },
        cookie: true,
      });
      expect(result.stderr).not.toMatch(/ExperimentalWarning|ERR_/);
    },
    60_000,
  );

  it('require() gives express-session’s shape and every other subpath', async () => {
    const result = await sh(process.execPath, ['shape.cjs'], apps.express);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      express: ['function', 'function', 'function', 'function', 'function', 'function'],
      sameAsImport: true,
      subpaths: 'all loaded',
      fastify: ['function', 'function'],
    });
    expect(result.stderr).not.toMatch(/ExperimentalWarning/);
  }, 60_000);

  it.each([
    ['stores/redis', 'ioredis'],
    ['stores/postgres', 'pg'],
    ['stores/sqlite', 'better-sqlite3'],
  ])(
    'tessera-session/%s without %s: one line naming the package, from import and require',
    async (subpath, peer) => {
      const line = `tessera-session/${subpath} needs the "${peer}" package: npm install ${peer}`;
      for (const code of [
        `import('tessera-session/${subpath}').catch((e) => { console.log(e.code + ' ' + e.message); })`,
        `try { require('tessera-session/${subpath}') } catch (e) { console.log(e.code + ' ' + e.message) }`,
      ]) {
        const result = await sh(process.execPath, ['-e', code], apps.express);
        expect(result.stdout.trim()).toBe(`ERR_CONFIG ${line}`);
      }
    },
    60_000,
  );

  // One program per module format: a project mixing .mts and .cts files that both import the
  // library loads both declaration flavours, whose global augmentations then collide. Each
  // compile checks every declaration file (@types/node included), so they run two at a time.
  it('TypeScript consumers compile under nodenext (ES and CommonJS files), node10 and bundler, and beside @types/express-session; strict, skipLibCheck off', async () => {
    const configs = ['nodenext', 'nodenext-cjs', 'node10', 'bundler', 'coexist'];
    const report: string[] = [];
    const queue = [...configs];
    const worker = async (): Promise<void> => {
      for (let config = queue.shift(); config; config = queue.shift()) {
        const r = await sh(process.execPath, [TSC, '-p', `tsconfig.${config}.json`], apps.types);
        report.push(`${config}: exit ${r.code}\n${r.stdout}${r.stderr}`);
      }
    };
    await Promise.all([worker(), worker()]);
    expect(report.sort()).toEqual(configs.map((config) => `${config}: exit 0\n`).sort());
  }, 300_000);
});
