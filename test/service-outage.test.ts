/**
 * The reference service on a real Redis and a real PostgreSQL whose server dies mid-run:
 * every request that needs the store answers 503 (never a crash, a 500 or a signed-out or
 * signed-in answer without the store), cookies are kept, and once the server is back the
 * service recovers by itself with every session intact.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { type PostgresServerHandle, startPostgresServer } from './support/postgres-server.js';
import { type RedisServerHandle, startRedisServer } from './support/redis-server.js';
import { call, postJson, type StartedService, startServiceProcess } from './support/service.js';

interface Backend {
  url: string;
  kill(): Promise<void>;
  revive(): Promise<void>;
  destroy(): Promise<void>;
}

async function redisBackend(): Promise<Backend> {
  // AOF with appendfsync always: what was committed before the crash survives it.
  const server: RedisServerHandle = await startRedisServer({ aof: true });
  return {
    url: server.url,
    kill: () => server.stop('SIGKILL'),
    revive: () => server.start(),
    destroy: () => server.destroy(),
  };
}

async function postgresBackend(): Promise<Backend> {
  const server: PostgresServerHandle = await startPostgresServer();
  return {
    url: server.connectionString,
    kill: () => server.stop('immediate'),
    revive: () => server.start(),
    destroy: () => server.destroy(),
  };
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check().catch(() => false)) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

describe.each([
  ['Redis', redisBackend],
  ['PostgreSQL', postgresBackend],
] as const)('service on %s through an outage', (_name, makeBackend) => {
  it('answers 503 while the store is down, keeps cookies, and recovers by itself', async () => {
    const backend = await makeBackend();
    cleanups.push(() => backend.destroy());
    const service: StartedService = await startServiceProcess(['--demo', '--store', backend.url]);
    cleanups.push(() => service.stop());
    const base = service.url;

    const login = await call(`${base}/login`, {
      method: 'POST',
      headers: { origin: base, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=alice&password=alice-password',
    });
    expect(login.status).toBe(303);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const tokens = (await (
      await postJson(`${base}/api/token`, { username: 'bob', password: 'bob-password' })
    ).json()) as { access_token: string };
    const bearer = { authorization: `Bearer ${tokens.access_token}` };
    expect((await call(`${base}/api/me`, { headers: { cookie } })).status).toBe(200);

    await backend.kill();

    await until(async () => (await call(`${base}/healthz`)).status === 503, 10_000);
    expect(await (await call(`${base}/healthz`)).json()).toEqual({ status: 'unavailable' });
    const checks: Array<[string, RequestInit]> = [
      ['/api/me', { headers: { cookie } }],
      ['/api/me', { headers: bearer }],
      ['/api/sessions', { headers: bearer }],
      ['/dashboard', { headers: { cookie } }],
    ];
    for (const [path, init] of checks) {
      const res = await call(`${base}${path}`, init);
      expect(res.status, `${path} while the store is down`).toBe(503);
      // An outage signs nobody out: no cookie is cleared.
      expect(res.headers.get('set-cookie') ?? '').not.toMatch(/Max-Age=0|Expires=Thu, 01 Jan 1970/);
      if (path.startsWith('/api/')) {
        expect(await res.json()).toMatchObject({ error: 'store_unavailable' });
      }
    }
    const token = await postJson(`${base}/api/token`, {
      username: 'alice',
      password: 'alice-password',
    });
    expect(token.status).toBe(503);
    expect(service.child.exitCode).toBeNull();

    await backend.revive();
    await until(async () => (await call(`${base}/healthz`)).status === 200, 15_000);
    const me = await call(`${base}/api/me`, { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ sub: 'alice' });
    expect((await call(`${base}/api/me`, { headers: bearer })).status).toBe(200);
    expect(service.output()).not.toMatch(/Unhandled|uncaught/i);
  });
});
