/**
 * A real PostgreSQL server for tests: `initdb` into a temp directory, `pg_ctl start` on a free
 * 127.0.0.1 port with the unix socket in that directory, `pg_ctl stop -m fast` and removal at
 * the end. As root, the binaries run as the `postgres` user (who then owns the directory).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from './redis-server.js';

export interface PostgresServerHandle {
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  readonly connectionString: string;
  readonly dir: string;
  /** `pg_ctl stop` (`fast` by default, `immediate` to simulate a crash); keeps the data. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): Promise<void>;
}

const runningDirs = new Set<string>();
let exitHookInstalled = false;

/**
 * The newest `/usr/lib/postgresql/<version>/bin` that has `initdb`.
 * @example postgresBinDir() // '/usr/lib/postgresql/15/bin'
 */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      if (existsSync(join(root, version, 'bin', 'initdb'))) return join(root, version, 'bin');
    }
  }
  throw new Error(
    'PostgreSQL binaries not found under /usr/lib/postgresql (apt-get install postgresql)',
  );
}

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function run(bin: string, args: string[]): string {
  const command = asRoot ? 'runuser' : bin;
  const argv = asRoot ? ['-u', 'postgres', '--', bin, ...args] : args;
  return execFileSync(command, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function installExitHook(bin: string): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const data of runningDirs) {
      try {
        run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']);
      } catch {
        // Already stopped.
      }
    }
  });
}

/**
 * Starts a throwaway PostgreSQL cluster (trust authentication, loopback only).
 * @example const pg = await startPostgresServer(); afterAll(() => pg.destroy());
 */
export async function startPostgresServer(): Promise<PostgresServerHandle> {
  const bin = postgresBinDir();
  installExitHook(bin);
  const port = await findFreePort();
  const dir = mkdtempSync(join(tmpdir(), 'tessera-pg-'));
  chmodSync(dir, 0o755);
  if (asRoot) execFileSync('chown', ['postgres:postgres', dir]);
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  run(join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '-A',
    'trust',
    '--no-sync',
    '-E',
    'UTF8',
  ]);

  let started = false;
  const handle: PostgresServerHandle = {
    port,
    connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`,
    dir,
    async start() {
      if (started) return;
      const settings = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
      try {
        run(join(bin, 'pg_ctl'), [
          '-D',
          data,
          '-l',
          log,
          '-o',
          settings,
          '-w',
          '-t',
          '30',
          'start',
        ]);
      } catch (error) {
        const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
        throw new Error(`pg_ctl start failed: ${String(error)}\n${text}`);
      }
      started = true;
      runningDirs.add(data);
    },
    async stop(mode = 'fast') {
      if (!started) return;
      run(join(bin, 'pg_ctl'), ['-D', data, '-m', mode, '-w', 'stop']);
      started = false;
      runningDirs.delete(data);
    },
    async destroy() {
      try {
        await handle.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  try {
    await handle.start();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return handle;
}
