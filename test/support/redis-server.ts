/**
 * Real Redis servers for tests: a standalone `redis-server` or a 3-master Cluster, each on
 * free 127.0.0.1 ports with a throwaway directory, stopped by PID. `stop()`/`start()` keep the
 * port and directory so outage tests can take the backend away and bring it back.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServerHandle {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** PID of the running server, or null while stopped. */
  readonly pid: number | null;
  /** Stops the server (SIGTERM by default, SIGKILL to simulate a crash); keeps port and dir. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts it again on the same port and directory. */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): Promise<void>;
}

export interface RedisServerOptions {
  /** Append-only file with `appendfsync always` (durability tests). Default false. */
  aof?: boolean;
  /** Extra `redis-server` arguments. */
  args?: string[];
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A failed or interrupted test run must not leave servers behind.
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/**
 * A free TCP port on 127.0.0.1 (and, when `alsoFree` is given, `port + alsoFree` free too).
 * @example const port = await findFreePort();
 */
export async function findFreePort(alsoFree?: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        const found = typeof address === 'object' && address ? address.port : 0;
        server.close(() => resolve(found));
      });
    });
    if (alsoFree === undefined) return port;
    if (port + alsoFree < 65536 && (await isPortFree(port + alsoFree))) return port;
  }
  throw new Error('findFreePort: no free port pair found');
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Sends one inline command and answers the first reply line, or null on failure. */
function sendInline(port: number, command: string): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let buffer = '';
    const done = (value: string | null): void => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(1000, () => done(null));
    socket.once('error', () => done(null));
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      if (buffer.includes('\r\n')) {
        // Bulk replies: "$n\r\n<payload>\r\n"; wait for the whole payload.
        if (buffer.startsWith('$')) {
          const length = Number(buffer.slice(1, buffer.indexOf('\r\n')));
          const start = buffer.indexOf('\r\n') + 2;
          if (buffer.length >= start + length) done(buffer.slice(start, start + length));
          return;
        }
        done(buffer.slice(0, buffer.indexOf('\r\n')));
      }
    });
  });
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function launch(port: number, dir: string, args: string[]): ChildProcess {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no', ...args],
    { stdio: 'ignore' },
  );
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

function stopChild(child: ChildProcess, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

function makeServer(port: number, dir: string, args: string[]): RedisServerHandle {
  let child: ChildProcess | null = null;
  const handle: RedisServerHandle = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get pid() {
      return child?.pid ?? null;
    },
    async start() {
      if (child) return;
      child = launch(port, dir, args);
      const started = child;
      await waitFor(async () => {
        if (started.exitCode !== null) throw new Error(`redis-server on ${port} exited early`);
        return (await sendInline(port, 'PING')) === '+PONG';
      }, `redis-server on port ${port}`);
    },
    async stop(signal = 'SIGTERM') {
      if (!child) return;
      const stopping = child;
      child = null;
      await stopChild(stopping, signal);
    },
    async destroy() {
      await handle.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return handle;
}

/**
 * Starts a standalone redis-server on a free port.
 * @example const redis = await startRedisServer(); afterAll(() => redis.destroy());
 */
export async function startRedisServer(
  options: RedisServerOptions = {},
): Promise<RedisServerHandle> {
  installExitHook();
  const port = await findFreePort();
  const dir = mkdtempSync(join(tmpdir(), 'tessera-redis-'));
  const persistence = options.aof
    ? ['--save', '', '--appendonly', 'yes', '--appendfsync', 'always']
    : ['--save', '', '--appendonly', 'no'];
  const server = makeServer(port, dir, [...persistence, ...(options.args ?? [])]);
  try {
    await server.start();
  } catch (error) {
    await server.destroy();
    throw error;
  }
  return server;
}

export interface RedisClusterHandle {
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3` */
  readonly url: string;
  readonly nodes: RedisServerHandle[];
  /** Stops every node and removes their directories. */
  destroy(): Promise<void>;
}

/**
 * Starts three cluster-enabled redis-server processes and joins them into a 3-master Cluster
 * with `redis-cli --cluster create`.
 * @example const cluster = await startRedisCluster(); afterAll(() => cluster.destroy());
 */
export async function startRedisCluster(): Promise<RedisClusterHandle> {
  installExitHook();
  const nodes: RedisServerHandle[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const port = await findFreePort(10_000);
      const dir = mkdtempSync(join(tmpdir(), 'tessera-redis-cluster-'));
      const node = makeServer(port, dir, [
        '--save',
        '',
        '--appendonly',
        'no',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, 'nodes.conf'),
        '--cluster-node-timeout',
        '5000',
      ]);
      nodes.push(node);
      await node.start();
    }
    const created = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((node) => `127.0.0.1:${node.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (created.status !== 0) {
      throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    }
    for (const node of nodes) {
      await waitFor(
        async () =>
          ((await sendInline(node.port, 'CLUSTER INFO')) ?? '').includes('cluster_state:ok'),
        `cluster state ok on ${node.port}`,
      );
    }
  } catch (error) {
    await Promise.all(nodes.map((node) => node.destroy()));
    throw error;
  }
  return {
    url: `redis+cluster://${nodes.map((node) => `127.0.0.1:${node.port}`).join(',')}`,
    nodes,
    async destroy() {
      await Promise.all(nodes.map((node) => node.destroy()));
    },
  };
}

/** The part of a Redis client `commandsDuring` needs (ioredis's `info`). */
interface InfoClient {
  info(section: 'commandstats'): Promise<string>;
}

/**
 * The commands Redis ran while `body` ran (script-internal calls included), by name with
 * their counts, from `INFO commandstats` before and after; the INFO calls themselves are left
 * out. Use a server no other test talks to meanwhile.
 * @example expect(await commandsDuring(probe, () => store.get(key))).toEqual({ hgetall: 1 });
 */
export async function commandsDuring(
  probe: InfoClient,
  body: () => Promise<unknown>,
): Promise<Record<string, number>> {
  const read = async (): Promise<Map<string, number>> => {
    const calls = new Map<string, number>();
    const info = await probe.info('commandstats');
    for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      calls.set(m[1] as string, Number(m[2]));
    }
    return calls;
  };
  const before = await read();
  await body();
  const out: Record<string, number> = {};
  for (const [name, n] of await read()) {
    const delta = n - (before.get(name) ?? 0);
    if (name !== 'info' && delta > 0) out[name] = delta;
  }
  return out;
}
