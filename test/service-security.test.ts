/**
 * The audit's service-side findings (issue 11), each reproduced against the service started
 * in-process. The store-dependent part (secrets sealed in the store, the token `sid` check,
 * logout, demo-user removal, step-up, account deletion) runs on the memory store, a real
 * SQLite file, a real Redis and a real PostgreSQL (each server started once for the file,
 * a fresh database per test); the rest on SQLite or memory: secrets at rest sealed with a
 * generated master key and private file modes, access tokens accepted only for token
 * sessions, login throttling that cannot lock a user out, metrics behind a token and cheap
 * to scrape, logout and credential-setting responses, demo users, and the configured origin.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createAccessTokens, loadKeyring } from 'tessera-session/tokens';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveServiceConfig, type ServiceConfig } from '../packages/server/src/service/config.js';
import { loadOrCreateKeyring, loadOrCreateSecret } from '../packages/server/src/service/keys.js';
import { openStore } from '../packages/server/src/service/open-store.js';
import {
  type RunningService,
  startService,
  TOKEN_AUDIENCE,
  TOKEN_ISSUER,
} from '../packages/server/src/service/serve.js';
import { type PostgresServerHandle, startPostgresServer } from './support/postgres-server.js';
import { type RedisServerHandle, startRedisServer } from './support/redis-server.js';
import { call, tempDir } from './support/service.js';

const running: RunningService[] = [];
const quiet = new Writable({ write: (_c, _e, done) => done() });

async function start(
  flags: Parameters<typeof resolveServiceConfig>[0],
  env: Record<string, string> = {},
  now?: () => number,
): Promise<RunningService> {
  const config: ServiceConfig = resolveServiceConfig(
    { port: '0', ...flags },
    { TESSERA_LOG_LEVEL: 'silent', ...env },
  );
  const service = await startService(config, {
    logDestination: quiet,
    ...(now ? { now } : {}),
  });
  running.push(service);
  return service;
}

afterEach(async () => {
  for (const service of running.splice(0)) await service.close();
});

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

async function formLogin(url: string, user: string, extra: Record<string, string> = {}) {
  return call(`${url}/login`, {
    method: 'POST',
    headers: { origin: url, 'content-type': 'application/x-www-form-urlencoded', ...extra },
    body: `username=${user}&password=${user}-password`,
  });
}

function cookieOf(res: Response): string {
  return (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
}

describe('finding 1: secrets at rest', () => {
  it('generates a 0600 master key beside the store, makes the folder 0700 and the database 0600, and seals every secret', async () => {
    const dir = join(tempDir(), 'data');
    const db = join(dir, 'tessera.db');
    const service = await start({ store: `sqlite:${db}`, demo: true });
    expect((await formLogin(service.url, 'alice')).status).toBe(303);
    expect(mode(dir)).toBe(0o700);
    expect(mode(join(dir, 'tessera.key'))).toBe(0o600);
    expect(readFileSync(join(dir, 'tessera.key'), 'utf8').trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    for (const suffix of ['', '-wal', '-shm']) expect(mode(`${db}${suffix}`)).toBe(0o600);
    const sqlite = new Database(db, { readonly: true, fileMustExist: true });
    try {
      const rows = sqlite
        .prepare("SELECT ns, value FROM tessera_kv WHERE ns IN ('service', 'keys')")
        .all() as Array<{ ns: string; value: string }>;
      expect(rows.length).toBe(3);
      for (const row of rows) {
        expect(row.value).not.toMatch(/"plain"|"d":/);
        expect(row.value).toMatch(/"data":"/);
      }
    } finally {
      sqlite.close();
    }
  });

  it('re-seals secrets an older version left in plaintext, keeping their values', async () => {
    const db = join(tempDir(), 'tessera.db');
    const before = await openStore(`sqlite:${db}`);
    const cookieSecret = await loadOrCreateSecret(before, 'cookie', undefined);
    const kid = (await loadOrCreateKeyring(before, undefined)).activeKid;
    await before.close();
    const service = await start({ store: `sqlite:${db}` });
    await service.close();
    const key = readFileSync(join(db, '..', 'tessera.key'), 'utf8').trim();
    const after = await openStore(`sqlite:${db}`);
    try {
      const stored = JSON.stringify([
        await after.kvGet('service', 'cookie'),
        ...(await after.kvList('keys')).map((entry) => entry.value),
      ]);
      expect(stored).not.toMatch(/"plain"|"d":/);
      expect(await loadOrCreateSecret(after, 'cookie', key)).toBe(cookieSecret);
      expect((await loadKeyring(after, { masterKey: key })).activeKid).toBe(kid);
    } finally {
      await after.close();
    }
  });
});

describe('finding 5: login throttling cannot lock a user out', () => {
  it('five wrong passwords from address A do not stop the right password from address B', async () => {
    const service = await start({ store: 'memory:', demo: true }, { TESSERA_TRUST_PROXY: '1' });
    const from = (address: string, password: string) =>
      call(`${service.url}/api/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
        body: JSON.stringify({ username: 'alice', password }),
      });
    for (let i = 0; i < 5; i++) expect((await from('203.0.113.5', `wrong-${i}`)).status).toBe(401);
    const blocked = await from('203.0.113.5', 'alice-password');
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await from('198.51.100.7', 'alice-password')).status).toBe(200);
    // Another address of the attacker's /64 is the same address for the throttle.
    for (let i = 0; i < 5; i++) {
      expect((await from(`2001:db8:1:2::${i + 1}`, `wrong-${i}`)).status).toBe(401);
    }
    expect((await from('2001:db8:1:2:ffff::9', 'alice-password')).status).toBe(429);
    expect((await from('2001:db8:1:3::1', 'alice-password')).status).toBe(200);
  });
});

describe('finding 6: metrics', () => {
  it('has no anonymous /metrics: 404 without a configured token, 401 with a wrong one', async () => {
    const open = await start({ store: 'memory:' });
    expect((await call(`${open.url}/metrics`)).status).toBe(404);
    const guarded = await start({ store: 'memory:' }, { TESSERA_METRICS_TOKEN: 'x'.repeat(24) });
    expect((await call(`${guarded.url}/metrics`)).status).toBe(401);
    const wrong = await call(`${guarded.url}/metrics`, {
      headers: { authorization: `Bearer ${'y'.repeat(24)}` },
    });
    expect(wrong.status).toBe(401);
    const right = await call(`${guarded.url}/metrics`, {
      headers: { authorization: `Bearer ${'x'.repeat(24)}` },
    });
    expect(right.status).toBe(200);
  });

  it('serves metrics on a separate listener, and a scrape does not query the store per user', async () => {
    const service = await start({ store: 'memory:', demo: true }, { TESSERA_METRICS_PORT: '0' });
    const address = service.metricsServer?.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const scrape = async (): Promise<string> => {
      const res = await call(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      return res.text();
    };
    await Promise.all(Array.from({ length: 8 }, scrape));
    for (let i = 0; i < 8; i++) await scrape();
    const text = await scrape();
    const lookups = Number(
      /^tessera_store_latency_seconds_count\{operation="listByUser",outcome="ok"\} (\d+)/m.exec(
        text,
      )?.[1] ?? 0,
    );
    // Two users, one sample for all 17 scrapes (it was two lookups per scrape).
    expect(lookups).toBe(2);
    expect((await call(`http://127.0.0.1:${port}/healthz`)).status).toBe(404);
  });
});

describe('finding 8: sign-out, credentials on the wire, demo users, origin', () => {
  it('sends HSTS on every secure response', async () => {
    const service = await start({ store: 'memory:' }, { TESSERA_TRUST_PROXY: '1' });
    for (const path of ['/healthz', '/api/me', '/nope', '/']) {
      const res = await call(`${service.url}${path}`, {
        headers: { 'x-forwarded-proto': 'https' },
      });
      expect(res.headers.get('strict-transport-security'), path).toMatch(/max-age=\d+/);
    }
  });

  it('takes the app origin from TESSERA_ORIGIN, not from the Host header', async () => {
    const service = await start(
      { store: 'memory:', demo: true },
      { TESSERA_ORIGIN: 'https://auth.example.com' },
    );
    // The Host-derived origin is no longer trusted...
    expect((await formLogin(service.url, 'alice')).status).toBe(403);
    // ...the configured one is.
    const ok = await formLogin(service.url, 'alice', { origin: 'https://auth.example.com' });
    expect(ok.status).toBe(303);
  });

  it('refuses to start on a non-loopback address without TESSERA_ORIGIN (unless --demo)', () => {
    expect(() => resolveServiceConfig({ host: '0.0.0.0' }, {})).toThrow(/TESSERA_ORIGIN/);
    expect(resolveServiceConfig({ host: '0.0.0.0', demo: true }, {}).development).toBe(true);
    expect(
      resolveServiceConfig({ host: '0.0.0.0' }, { TESSERA_ORIGIN: 'https://a.example' }).origin,
    ).toBe('https://a.example');
    expect(resolveServiceConfig({}, {}).development).toBe(true);
    expect(() => resolveServiceConfig({}, { TESSERA_ORIGIN: 'https://a.example/path' })).toThrow(
      /TESSERA_ORIGIN/,
    );
  });
});

describe('login CSRF', () => {
  it('a browser sign-in needs the sign-in form’s token bound to its pre-session cookie', async () => {
    const service = await start({ store: 'memory:', demo: true });
    const url = service.url;
    const page = await call(`${url}/`);
    const nonceCookie = cookieOf(page);
    expect(nonceCookie).toMatch(/^tessera\.login=/);
    expect(page.headers.get('set-cookie')).toMatch(/HttpOnly/i);
    expect(page.headers.get('set-cookie')).toMatch(/SameSite=Strict/i);
    const token = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
    const post = (cookie: string, csrf: string | null) =>
      call(`${url}/login`, {
        method: 'POST',
        headers: {
          origin: url,
          'sec-fetch-site': 'same-origin',
          'content-type': 'application/x-www-form-urlencoded',
          ...(cookie ? { cookie } : {}),
        },
        body: `username=alice&password=alice-password${csrf === null ? '' : `&_csrf=${encodeURIComponent(csrf)}`}`,
      });
    expect((await post('', null)).status).toBe(403);
    expect((await post(nonceCookie, null)).status).toBe(403);
    expect((await post('', token)).status).toBe(403);
    const other = cookieOf(await call(`${url}/`));
    expect((await post(other, token)).status).toBe(403);
    expect((await post(nonceCookie, token)).status).toBe(303);
    // A client that is not a browser (no Fetch Metadata, no token) keeps the Origin check only.
    expect((await formLogin(url, 'bob')).status).toBe(303);
  });
});

describe('refresh token in a cookie for browser clients', () => {
  it('keeps the refresh token out of the body, in an HttpOnly Secure SameSite=Strict cookie scoped to the refresh path', async () => {
    const service = await start({ store: 'memory:', demo: true }, { TESSERA_REFRESH_GRACE: '0' });
    const url = service.url;
    const login = await call(`${url}/api/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'alice-password', refresh_cookie: true }),
    });
    expect(login.status).toBe(200);
    const body = (await login.json()) as Record<string, unknown>;
    expect(body.refresh_token).toBeUndefined();
    expect(typeof body.access_token).toBe('string');
    const setCookie = login.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^__Secure-tessera\.rt=/);
    for (const flag of [/HttpOnly/i, /Secure/, /SameSite=Strict/i, /Path=\/api\/token\/refresh/]) {
      expect(setCookie).toMatch(flag);
    }
    const cookie = cookieOf(login);
    const refresh = (headers: Record<string, string>) =>
      call(`${url}/api/token/refresh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: '{}',
      });
    // Another site cannot spend it.
    expect(
      (await refresh({ cookie, 'sec-fetch-site': 'cross-site', origin: 'https://evil.test' }))
        .status,
    ).toBe(403);
    const rotated = await refresh({ cookie, origin: url });
    expect(rotated.status).toBe(200);
    expect(((await rotated.json()) as Record<string, unknown>).refresh_token).toBeUndefined();
    const next = cookieOf(rotated);
    expect(next).not.toBe(cookie);
    // The spent cookie is a reuse: refused, and the session is revoked.
    expect((await refresh({ cookie, origin: url })).status).toBe(401);
    expect((await refresh({ cookie: next, origin: url })).status).toBe(401);
  });
});

/** A store the security suite runs on; `fresh()` answers the URL of an empty store. */
interface Backend {
  name: string;
  fresh(): Promise<string>;
  /** Keeps data across a restart of the service (everything but memory). */
  persistent: boolean;
  env: Record<string, string>;
}

// One master key for every service of the file: never a key file in the working folder.
const MASTER_KEY = randomBytes(32).toString('base64url');
const keyEnv = { TESSERA_MASTER_KEY: MASTER_KEY };
let redisServer: RedisServerHandle | undefined;
let postgresServer: PostgresServerHandle | undefined;
let databases = 0;

const backends: Backend[] = [
  { name: 'memory', persistent: false, env: {}, fresh: async () => 'memory:' },
  {
    name: 'SQLite',
    persistent: true,
    env: keyEnv,
    fresh: async () => `sqlite:${join(tempDir(), 'tessera.db')}`,
  },
  {
    name: 'Redis',
    persistent: true,
    env: keyEnv,
    async fresh() {
      redisServer ??= await startRedisServer();
      // Redis has 16 numbered databases; one per test keeps the tests apart.
      databases += 1;
      if (databases > 15) throw new Error('more Redis tests than numbered databases');
      return `${redisServer.url}/${databases}`;
    },
  },
  {
    name: 'PostgreSQL',
    persistent: true,
    env: keyEnv,
    async fresh() {
      postgresServer ??= await startPostgresServer();
      const name = `security_${randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: postgresServer.connectionString });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return postgresServer.connectionString.replace(/\/postgres$/, `/${name}`);
    },
  },
];

afterAll(async () => {
  await redisServer?.destroy();
  await postgresServer?.destroy();
});

describe.each(backends)('the store-dependent findings on $name', (backend) => {
  beforeAll(async () => {
    // Start the server (if any) before the first test's clock starts.
    await backend.fresh();
  }, 60_000);

  // The memory store keeps nothing at rest: nothing to seal, nothing to survive a restart.
  if (backend.persistent) {
    it('keeps every service secret sealed in the store', async () => {
      const store = await backend.fresh();
      const service = await start({ store, demo: true }, backend.env);
      expect((await formLogin(service.url, 'alice')).status).toBe(303);
      await service.close();
      const copy = await openStore(store);
      try {
        const stored = [
          await copy.kvGet('service', 'cookie'),
          await copy.kvGet('service', 'csrf'),
          ...(await copy.kvList('keys')).map((entry) => entry.value),
        ];
        expect(stored.length).toBeGreaterThanOrEqual(3);
        for (const value of stored) {
          const text = JSON.stringify(value);
          expect(text).not.toMatch(/"plain"|"d":/);
          expect(text).toMatch(/"data":"/);
        }
      } finally {
        await copy.close();
      }
    });
  }

  it('refuses an access token whose sid names a browser (cookie) session', async () => {
    const service = await start({ store: await backend.fresh(), demo: true }, backend.env);
    const cookie = cookieOf(await formLogin(service.url, 'alice'));
    const me = (await (await call(`${service.url}/api/me`, { headers: { cookie } })).json()) as {
      session_id: string;
    };
    // A token signed with the service's own key (as a leaked key would allow).
    const masterKey = backend.env.TESSERA_MASTER_KEY;
    const keys = await loadKeyring(service.store, masterKey ? { masterKey } : {});
    const forger = createAccessTokens({ keys, issuer: TOKEN_ISSUER, audience: TOKEN_AUDIENCE });
    const forged = await forger.sign({ sub: 'alice', sid: me.session_id });
    const res = await call(`${service.url}/api/me`, {
      headers: { authorization: `Bearer ${forged}` },
    });
    expect(res.status).toBe(401);
    // A token session of the same user is accepted (the control).
    const pair = (await (
      await call(`${service.url}/api/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password: 'alice-password' }),
      })
    ).json()) as { access_token: string };
    const ok = await call(`${service.url}/api/me`, {
      headers: { authorization: `Bearer ${pair.access_token}` },
    });
    expect(ok.status).toBe(200);
  });

  it('logout sends Clear-Site-Data, no-store and a cookie with Max-Age=0; a sign-in is no-store', async () => {
    const service = await start({ store: await backend.fresh(), demo: true }, backend.env);
    const login = await formLogin(service.url, 'alice');
    expect(login.headers.get('cache-control')).toBe('no-store');
    const cookie = cookieOf(login);
    const page = await (await call(`${service.url}/dashboard`, { headers: { cookie } })).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
    const out = await call(`${service.url}/logout`, {
      method: 'POST',
      headers: {
        cookie,
        origin: service.url,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: `_csrf=${encodeURIComponent(csrf)}`,
    });
    expect(out.status).toBe(303);
    expect(out.headers.get('clear-site-data')).toBe('"cookies"');
    expect(out.headers.get('cache-control')).toBe('no-store');
    expect(out.headers.get('set-cookie')).toMatch(/^tessera\.sid=;.*Max-Age=0/i);
  });

  if (backend.persistent) {
    it('removes the demo users (and their sessions) when restarted without --demo', async () => {
      const store = await backend.fresh();
      const demo = await start({ store, demo: true }, backend.env);
      const cookie = cookieOf(await formLogin(demo.url, 'alice'));
      await demo.close();
      const real = await start({ store }, backend.env);
      expect((await formLogin(real.url, 'alice')).status).toBe(401);
      expect((await call(`${real.url}/dashboard`, { headers: { cookie } })).status).toBe(303);
    });
  }

  describe('step-up authentication and account deletion', () => {
    async function csrfOf(url: string, cookie: string): Promise<string> {
      const page = await (await call(`${url}/sessions`, { headers: { cookie } })).text();
      return /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
    }

    function postForm(url: string, path: string, cookie: string, body: string) {
      return call(`${url}${path}`, {
        method: 'POST',
        headers: { cookie, origin: url, 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
    }

    it('records authentication level 1 and method pwd for every sign-in (pages and token API)', async () => {
      const service = await start({ store: await backend.fresh(), demo: true }, backend.env);
      expect((await formLogin(service.url, 'alice')).status).toBe(303);
      const token = await call(`${service.url}/api/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password: 'alice-password' }),
      });
      expect(token.status).toBe(200);
      const records = await service.store.listByUser('alice');
      expect(records.map((r) => r.meta.strategy).sort()).toEqual(['hybrid', 'server']);
      for (const record of records) {
        expect(record.meta).toMatchObject({ authLevel: 1, authMethods: ['pwd'] });
      }
    });

    it('signing out everywhere needs a recent sign-in; signing in again rotates the ID and allows it', async () => {
      let offset = 0;
      const now = () => Date.now() + offset;
      const service = await start({ store: await backend.fresh(), demo: true }, backend.env, now);
      const url = service.url;
      const cookie = cookieOf(await formLogin(url, 'alice'));
      offset = 6 * 60_000; // past the default 300 s
      const stale = await postForm(
        url,
        '/logout/all',
        cookie,
        `_csrf=${await csrfOf(url, cookie)}`,
      );
      expect(stale.status).toBe(403);
      expect(await stale.text()).toContain('sign in again');
      // Still signed in: the refusal changed nothing.
      expect((await call(`${url}/dashboard`, { headers: { cookie } })).status).toBe(200);
      const again = await formLogin(url, 'alice', { cookie });
      expect(again.status).toBe(303);
      const fresh = cookieOf(again);
      expect(fresh).not.toBe(cookie);
      expect((await call(`${url}/dashboard`, { headers: { cookie } })).status).toBe(303);
      const done = await postForm(url, '/logout/all', fresh, `_csrf=${await csrfOf(url, fresh)}`);
      expect(done.status).toBe(303);
      expect((await call(`${url}/dashboard`, { headers: { cookie: fresh } })).status).toBe(303);
    });

    it('ending another session and deleting the account through the API need a recent sign-in', async () => {
      let offset = 0;
      const service = await start(
        { store: await backend.fresh(), demo: true },
        backend.env,
        () => Date.now() + offset,
      );
      const signIn = async () =>
        (await (
          await call(`${service.url}/api/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ username: 'bob', password: 'bob-password' }),
          })
        ).json()) as { access_token: string; session_id: string };
      const other = await signIn();
      const mine = await signIn();
      const auth = { authorization: `Bearer ${mine.access_token}` };
      offset = 6 * 60_000;
      const revoke = await call(`${service.url}/api/sessions/${other.session_id}`, {
        method: 'DELETE',
        headers: auth,
      });
      expect(revoke.status).toBe(403);
      expect(await revoke.json()).toMatchObject({ error: 'reauth_required' });
      expect(
        (await call(`${service.url}/api/me`, { method: 'DELETE', headers: auth })).status,
      ).toBe(403);
      offset = 0;
      const deleted = await call(`${service.url}/api/me`, { method: 'DELETE', headers: auth });
      expect(deleted.status).toBe(204);
      for (const pair of [other, mine]) {
        const me = await call(`${service.url}/api/me`, {
          headers: { authorization: `Bearer ${pair.access_token}` },
        });
        expect(me.status).toBe(401);
      }
      const login = await call(`${service.url}/api/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'bob', password: 'bob-password' }),
      });
      expect(login.status).toBe(401);
    });
  });
});
