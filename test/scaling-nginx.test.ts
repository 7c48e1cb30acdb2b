/**
 * The tested scale-out deployment (docs/scaling.md): nginx with TLS, round-robin and no sticky
 * sessions, in front of two instances of an Express 5 app on `tessera-session/express`, sharing one
 * Redis (and, in a second case, one PostgreSQL) with the invalidated read cache on. Everything
 * is real and on 127.0.0.1: nginx, the two app processes, redis-server, PostgreSQL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NginxHandle, nginxSiteConfig, startNginx } from './support/nginx.js';
import { type PostgresServerHandle, startPostgresServer } from './support/postgres-server.js';
import { type RedisServerHandle, startRedisServer } from './support/redis-server.js';

const APP = fileURLToPath(new URL('./support/scale-app.ts', import.meta.url));
const DOC = fileURLToPath(new URL('../docs/scaling.md', import.meta.url));
// Longer than the whole revocation check: an instance that still answered from its cache
// after one second would have missed the invalidation, not merely waited for the TTL.
const CACHE_TTL_MS = 10_000;

interface App {
  readonly id: string;
  readonly port: number;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

function startApp(id: string, storeUrl: string, secret: string): Promise<App> {
  const child = spawn(process.execPath, ['--import', 'tsx', APP], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      SCALE_APP_ID: id,
      SCALE_STORE_URL: storeUrl,
      SCALE_SECRET: secret,
      SCALE_CACHE_TTL_MS: String(CACHE_TTL_MS),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`app ${id} did not start: ${err}`));
    }, 20_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString('utf8');
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        clearTimeout(timer);
        resolve({ id, port: (JSON.parse(line) as { port: number }).port, stop });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`app ${id} exited (${code}): ${err}`));
    });
  });
}

interface Reply {
  status: number;
  instance: string;
  cacheHits: number;
  setCookie: string[];
  body: Record<string, unknown>;
}

function client(
  nginx: NginxHandle,
): (method: string, path: string, cookie?: string) => Promise<Reply> {
  const agent = new Agent({ ca: nginx.certificate, keepAlive: true });
  return (method, path, cookie) =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = { origin: nginx.origin };
      if (cookie) headers.cookie = cookie;
      const req = httpsRequest(
        { host: '127.0.0.1', port: nginx.port, method, path, agent, headers },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => {
            text += chunk.toString('utf8');
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              instance: String(res.headers['x-instance']),
              cacheHits: Number(res.headers['x-cache-hits']),
              setCookie: res.headers['set-cookie'] ?? [],
              body: parseBody(text),
            }),
          );
        },
      );
      req.once('error', reject);
      req.end();
    });
}

/** The JSON body, or `{ raw }` for anything else (an nginx error page, say). */
function parseBody(text: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { raw: text };
  }
}

/** `name=value` of the session cookie in a reply. */
function sessionCookie(reply: Reply): string {
  const header = reply.setCookie.find((line) => line.startsWith('__Host-tessera.sid='));
  if (!header) throw new Error(`no session cookie in ${JSON.stringify(reply.setCookie)}`);
  return header.split(';')[0] as string;
}

describe.each([
  ['Redis', 'redis'],
  ['PostgreSQL', 'postgres'],
] as const)('nginx round-robin over two instances on one %s', (_label, backend) => {
  let redis: RedisServerHandle | undefined;
  let postgres: PostgresServerHandle | undefined;
  const apps: App[] = [];
  let nginx: NginxHandle | undefined;
  let call: ReturnType<typeof client>;

  beforeAll(async () => {
    let url: string;
    if (backend === 'redis') {
      redis = await startRedisServer();
      url = redis.url;
    } else {
      postgres = await startPostgresServer();
      url = postgres.connectionString;
    }
    const secret = randomBytes(32).toString('base64url');
    apps.push(...(await Promise.all(['a', 'b'].map((id) => startApp(id, url, secret)))));
    nginx = await startNginx(apps.map((app) => `127.0.0.1:${app.port}`));
    call = client(nginx);
  });

  afterAll(async () => {
    await nginx?.destroy();
    await Promise.all(apps.map((app) => app.stop()));
    await redis?.destroy();
    await postgres?.destroy();
  });

  it('alternates requests between the two instances', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) seen.push((await call('GET', '/me')).instance);
    expect(new Set(seen)).toEqual(new Set(['a', 'b']));
    for (let i = 1; i < seen.length; i++) expect(seen[i]).not.toBe(seen[i - 1]);
  });

  it('uses one session on both instances: a counter increments across 10 requests', async () => {
    const login = await call('POST', '/login?user=carol');
    expect(login.status).toBe(200);
    const cookie = sessionCookie(login);
    const writers = new Set<string>();
    const readers = new Set<string>();
    for (let count = 1; count <= 10; count++) {
      const write = await call('GET', '/count', cookie);
      expect(write.status).toBe(200);
      expect(write.body.count).toBe(count);
      writers.add(write.instance);
      // Then reads until each instance has shown the new count: the other one had the session
      // in its cache, and drops it when the invalidation arrives (milliseconds later, not
      // synchronously: see docs/scaling.md), well within the cache's TTL.
      const fresh = new Set<string>();
      const since = Date.now();
      while (fresh.size < 2 && Date.now() - since < 1000) {
        const reply = await call('GET', '/me', cookie);
        expect(reply.status).toBe(200);
        readers.add(reply.instance);
        if (reply.body.count === count) fresh.add(reply.instance);
      }
      expect(fresh).toEqual(new Set(['a', 'b']));
    }
    expect(writers).toEqual(new Set(['a', 'b']));
    expect(readers).toEqual(new Set(['a', 'b']));
  });

  it('honours sign-out-everywhere on the other instance within one second, cache on', async () => {
    const first = sessionCookie(await call('POST', '/login?user=dave'));
    const second = sessionCookie(await call('POST', '/login?user=dave'));
    // Read the second session through both instances until each serves it from its cache.
    const hits = new Map<string, number>();
    for (let i = 0; i < 6; i++) {
      const reply = await call('GET', '/me', second);
      expect(reply.status).toBe(200);
      hits.set(reply.instance, reply.cacheHits);
    }
    expect(hits.get('a')).toBeGreaterThan(0);
    expect(hits.get('b')).toBeGreaterThan(0);

    const logout = await call('POST', '/logout/all', first);
    expect(logout.status).toBe(200);
    expect(logout.body.ended).toBe(2);
    const revokedAt = Date.now();
    const other = logout.instance === 'a' ? 'b' : 'a';
    let honouredAfter = Number.POSITIVE_INFINITY;
    while (Date.now() - revokedAt < 1000) {
      const reply = await call('GET', '/me', second);
      if (reply.instance === other && reply.status === 401) {
        honouredAfter = Date.now() - revokedAt;
        break;
      }
      expect(reply.status === 200 || reply.status === 401).toBe(true);
    }
    expect(honouredAfter).toBeLessThan(1000);
    // And it stays revoked everywhere.
    for (let i = 0; i < 4; i++) expect((await call('GET', '/me', second)).status).toBe(401);
  });

  it('sets a Secure __Host- cookie when nginx forwards X-Forwarded-Proto: https', async () => {
    const login = await call('POST', '/login?user=erin');
    const header = login.setCookie.find((line) => line.startsWith('__Host-tessera.sid='));
    expect(header).toBeDefined();
    const attributes = (header as string)
      .split(';')
      .slice(1)
      .map((part) => part.trim().toLowerCase());
    expect(attributes).toContain('secure');
    expect(attributes).toContain('path=/');
    expect(attributes).toContain('httponly');
    expect(attributes.some((part) => part.startsWith('domain='))).toBe(false);
  });
});

describe('docs/scaling.md', () => {
  it('shows the nginx site config that this test runs', () => {
    const shown = nginxSiteConfig({
      listen: '443',
      upstreams: ['10.0.0.11:3000', '10.0.0.12:3000'],
      certificate: '/etc/ssl/certs/example.com.pem',
      certificateKey: '/etc/ssl/private/example.com.key',
    });
    expect(readFileSync(DOC, 'utf8')).toContain(shown);
  });
});
