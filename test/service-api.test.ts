/**
 * End-to-end tests of the reference service's JSON API, against a started `tessera serve`
 * on a temporary SQLite file: the token flow with rotation and reuse detection, revocation
 * taking effect at once, cookie sessions through the form login, CSRF refusals, bad input,
 * login throttling, metrics and logs.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  postJson,
  type StartedService,
  startServiceProcess,
  tempDir,
} from './support/service.js';

const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';
let service: StartedService;
let url: string;
const secretsSeen: string[] = [];

interface TokenPair {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
  session_id: string;
}

async function signIn(
  username: string,
  password: string,
  headers: Record<string, string> = {},
): Promise<TokenPair> {
  const res = await postJson(`${url}/api/token`, { username, password }, headers);
  expect(res.status).toBe(200);
  const pair = (await res.json()) as TokenPair;
  secretsSeen.push(pair.access_token, pair.refresh_token);
  return pair;
}

function bearer(token: string): RequestInit {
  return { headers: { authorization: `Bearer ${token}` } };
}

async function formLogin(username: string, password: string): Promise<string> {
  const res = await call(`${url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: url },
    body: new URLSearchParams({ username, password }).toString(),
  });
  expect(res.status).toBe(303);
  expect(res.headers.get('location')).toBe('/dashboard');
  const cookie = res.headers.get('set-cookie') ?? '';
  const pair = cookie.split(';')[0] ?? '';
  secretsSeen.push(decodeURIComponent(pair.split('=')[1] ?? ''));
  return pair;
}

beforeAll(async () => {
  const dir = tempDir();
  service = await startServiceProcess(['--demo', '--store', `sqlite:${join(dir, 'tessera.db')}`], {
    TESSERA_REFRESH_GRACE: '0',
    TESSERA_METRICS_TOKEN: METRICS_TOKEN,
  });
  url = service.url;
});

afterAll(async () => {
  expect(await service.stop()).toBe(0);
});

describe('token flow (hybrid strategy)', () => {
  it('issues a pair, answers /api/me, rotates, detects reuse and revokes the family', async () => {
    const first = await signIn('alice', 'alice-password');
    expect(first.token_type).toBe('Bearer');
    expect(first.expires_in).toBe(300);
    expect(first.session_id).toMatch(/^[A-Za-z0-9_-]{22}$/);

    const me = await call(`${url}/api/me`, bearer(first.access_token));
    expect(me.status).toBe(200);
    expect(me.headers.get('cache-control')).toBe('no-store');
    const body = (await me.json()) as Record<string, string>;
    expect(body).toMatchObject({
      sub: 'alice',
      username: 'alice',
      session_id: first.session_id,
      strategy: 'hybrid',
    });
    expect(new Date(body.expires_at as string).getTime()).toBeGreaterThan(Date.now());

    const rotated = await postJson(`${url}/api/token/refresh`, {
      refresh_token: first.refresh_token,
    });
    expect(rotated.status).toBe(200);
    const second = (await rotated.json()) as TokenPair;
    secretsSeen.push(second.access_token, second.refresh_token);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.session_id).toBe(first.session_id);
    expect((await call(`${url}/api/me`, bearer(second.access_token))).status).toBe(200);

    // The spent token presented again: theft. The whole session ends.
    const reuse = await postJson(`${url}/api/token/refresh`, {
      refresh_token: first.refresh_token,
    });
    expect(reuse.status).toBe(401);
    expect(await reuse.json()).toMatchObject({ error: 'invalid_grant' });
    const successor = await postJson(`${url}/api/token/refresh`, {
      refresh_token: second.refresh_token,
    });
    expect(successor.status).toBe(401);
    const revoked = await call(`${url}/api/me`, bearer(second.access_token));
    expect(revoked.status).toBe(401);
    expect(revoked.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
  });

  it('logout ends the session: its access and refresh tokens stop working at once', async () => {
    const pair = await signIn('alice', 'alice-password');
    const out = await call(`${url}/api/logout`, { method: 'POST', ...bearer(pair.access_token) });
    expect(out.status).toBe(204);
    expect((await call(`${url}/api/me`, bearer(pair.access_token))).status).toBe(401);
    const refresh = await postJson(`${url}/api/token/refresh`, {
      refresh_token: pair.refresh_token,
    });
    expect(refresh.status).toBe(401);
  });

  it('lists the caller’s sessions and revokes one of them, never another user’s', async () => {
    const a = await signIn('bob', 'bob-password', { 'user-agent': 'device-a' });
    const b = await signIn('bob', 'bob-password', { 'user-agent': 'device-b' });
    const alice = await signIn('alice', 'alice-password');
    const list = await call(`${url}/api/sessions`, bearer(a.access_token));
    const { sessions } = (await list.json()) as { sessions: Array<Record<string, unknown>> };
    const ids = sessions.map((s) => s.session_id);
    expect(ids).toEqual(expect.arrayContaining([a.session_id, b.session_id]));
    expect(ids).not.toContain(alice.session_id);
    const mine = sessions.find((s) => s.session_id === a.session_id);
    expect(mine).toMatchObject({
      current: true,
      strategy: 'hybrid',
      user_agent: 'device-a',
      ip: '127.0.0.1',
    });
    expect(Object.keys(mine ?? {}).sort()).toEqual(
      [
        'created_at',
        'current',
        'expires_at',
        'ip',
        'last_seen_at',
        'session_id',
        'strategy',
        'user_agent',
      ].sort(),
    );

    const other = await call(`${url}/api/sessions/${alice.session_id}`, {
      method: 'DELETE',
      ...bearer(a.access_token),
    });
    expect(other.status).toBe(404);
    expect((await call(`${url}/api/me`, bearer(alice.access_token))).status).toBe(200);

    const del = await call(`${url}/api/sessions/${b.session_id}`, {
      method: 'DELETE',
      ...bearer(a.access_token),
    });
    expect(del.status).toBe(204);
    expect((await call(`${url}/api/me`, bearer(b.access_token))).status).toBe(401);
    expect((await call(`${url}/api/me`, bearer(a.access_token))).status).toBe(200);
  });

  it('publishes only public keys in the JWKS', async () => {
    const res = await call(`${url}/.well-known/jwks.json`);
    const jwks = (await res.json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const key of jwks.keys) {
      expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
      expect(key.d).toBeUndefined();
    }
  });
});

describe('cookie sessions through the API', () => {
  it('a form sign-in gives a cookie session that /api/me and /api/sessions see', async () => {
    const cookie = await formLogin('alice', 'alice-password');
    expect(cookie.startsWith('tessera.sid=')).toBe(true);
    const me = await call(`${url}/api/me`, { headers: { cookie } });
    expect(me.status).toBe(200);
    const body = (await me.json()) as Record<string, string>;
    expect(body).toMatchObject({ sub: 'alice', strategy: 'server' });
    const list = (await (await call(`${url}/api/sessions`, { headers: { cookie } })).json()) as {
      sessions: Array<{ session_id: string; current: boolean; strategy: string }>;
    };
    expect(list.sessions.filter((s) => s.current).map((s) => s.session_id)).toEqual([
      body.session_id,
    ]);
    expect(new Set(list.sessions.map((s) => s.strategy))).toEqual(new Set(['server', 'hybrid']));
  });

  it('refuses cross-origin state changes with 403 and keeps the session', async () => {
    const cookie = await formLogin('bob', 'bob-password');
    const evil = 'http://127.0.0.1:1';
    const logout = await call(`${url}/logout`, {
      method: 'POST',
      headers: { cookie, origin: evil, 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    });
    expect(logout.status).toBe(403);
    const apiLogout = await call(`${url}/api/logout`, {
      method: 'POST',
      headers: { cookie, 'sec-fetch-site': 'cross-site' },
    });
    expect(apiLogout.status).toBe(403);
    const login = await call(`${url}/login`, {
      method: 'POST',
      headers: { origin: evil, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=bob&password=bob-password',
    });
    expect(login.status).toBe(403);
    expect((await call(`${url}/api/me`, { headers: { cookie } })).status).toBe(200);
    // A same-origin form without its CSRF token is refused too.
    const noToken = await call(`${url}/logout/all`, {
      method: 'POST',
      headers: { cookie, origin: url, 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    });
    expect(noToken.status).toBe(403);
    expect((await call(`${url}/api/me`, { headers: { cookie } })).status).toBe(200);
  });

  it('sends the security headers on pages and API answers', async () => {
    for (const path of ['/', '/api/me', '/healthz']) {
      const res = await call(`${url}${path}`);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBeTruthy();
    }
    const page = await call(`${url}/`);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<label for="username">');
  });
});

describe('bad input never yields a 500', () => {
  const cases: Array<[string, () => Promise<Response>, number]> = [
    ['malformed JSON', () => postJson(`${url}/api/token`, '{"username":'), 400],
    ['JSON array body', () => postJson(`${url}/api/token`, '[1,2]'), 400],
    ['wrong field types', () => postJson(`${url}/api/token`, { username: 1, password: [] }), 400],
    [
      'wrong content type',
      () =>
        call(`${url}/api/token`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain' },
          body: '{}',
        }),
      415,
    ],
    [
      'form body on the JSON API',
      () =>
        call(`${url}/api/token/refresh`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'a=b',
        }),
      415,
    ],
    [
      'JSON body on the login form',
      () => postJson(`${url}/login`, { username: 'a' }, { origin: url }),
      415,
    ],
    [
      'oversized body',
      () => postJson(`${url}/api/token`, { username: 'x'.repeat(40_000), password: 'y' }),
      413,
    ],
    [
      'non-string refresh token',
      () => postJson(`${url}/api/token/refresh`, { refresh_token: 42 }),
      400,
    ],
    [
      'garbage refresh token',
      () => postJson(`${url}/api/token/refresh`, { refresh_token: '../../etc/passwd' }),
      401,
    ],
    ['garbage bearer token', () => call(`${url}/api/me`, bearer('not.a.token')), 401],
    [
      'a bearer header without a token',
      () => call(`${url}/api/me`, { headers: { authorization: 'Basic abc' } }),
      401,
    ],
    [
      'a token with a forged signature',
      () =>
        call(
          `${url}/api/me`,
          bearer(`${'eyJhbGciOiJFZERTQSJ9'}.${'eyJzdWIiOiJhbGljZSJ9'}.${'A'.repeat(86)}`),
        ),
      401,
    ],
    [
      'garbage session cookie on a page',
      () => call(`${url}/dashboard`, { headers: { cookie: 'tessera.sid=%E0%A4%A; other=%%%' } }),
      303,
    ],
    [
      'garbage session cookie on the API',
      () => call(`${url}/api/me`, { headers: { cookie: 'tessera.sid=s%3Aabc.def' } }),
      401,
    ],
    [
      'bad percent-encoding in a path',
      () => call(`${url}/api/sessions/%E0%A4%A`, { method: 'DELETE' }),
      400,
    ],
    ['unknown API path', () => call(`${url}/api/nope`), 404],
  ];
  for (const [name, send, status] of cases) {
    it(`${name} → ${status}`, async () => {
      const res = await send();
      expect(res.status).toBe(status);
      if (res.headers.get('content-type')?.includes('json')) {
        const body = (await res.json()) as { error?: string; message?: string };
        expect(typeof body.error).toBe('string');
        expect(typeof body.message).toBe('string');
      }
    });
  }

  it('oversized headers → 431', async () => {
    const res = await call(`${url}/api/me`, { headers: { 'x-filler': 'a'.repeat(20_000) } });
    expect(res.status).toBe(431);
  });
});

describe('login throttling', () => {
  it('answers 429 with Retry-After after repeated failures for one user, not for others', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await postJson(`${url}/api/token`, {
        username: 'mallory',
        password: `guess-${i}`,
      });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: 'invalid_credentials' });
    }
    const blocked = await postJson(`${url}/api/token`, {
      username: 'mallory',
      password: 'guess-6',
    });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    const form = await call(`${url}/login`, {
      method: 'POST',
      headers: { origin: url, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=mallory&password=x',
    });
    expect(form.status).toBe(429);
    expect(form.headers.get('retry-after')).toBeTruthy();
    // Successes are never counted: many sign-ins in a row all pass.
    for (let i = 0; i < 8; i++) await signIn('bob', 'bob-password');
  });

  it('gives one generic answer for an unknown user and a wrong password', async () => {
    const unknown = await postJson(`${url}/api/token`, {
      username: 'nobody-here',
      password: 'x'.repeat(10),
    });
    const wrong = await postJson(`${url}/api/token`, {
      username: 'alice',
      password: 'x'.repeat(10),
    });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(await unknown.json()).toEqual(await wrong.json());
  });
});

describe('operations', () => {
  it('reports health', async () => {
    const res = await call(`${url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('exposes Prometheus metrics for the events above', async () => {
    const res = await call(`${url}/metrics`, bearer(METRICS_TOKEN));
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    const value = (pattern: RegExp): number => Number(pattern.exec(text)?.[1] ?? Number.NaN);
    expect(value(/^tessera_sessions_created_total\{strategy="hybrid"\} (\d+)/m)).toBeGreaterThan(5);
    expect(
      value(/^tessera_sessions_created_total\{strategy="server"\} (\d+)/m),
    ).toBeGreaterThanOrEqual(2);
    expect(value(/^tessera_refresh_rotations_total (\d+)/m)).toBeGreaterThanOrEqual(1);
    expect(value(/^tessera_refresh_reuse_detections_total (\d+)/m)).toBe(1);
    expect(value(/^tessera_csrf_blocks_total (\d+)/m)).toBeGreaterThanOrEqual(4);
    expect(
      value(/^tessera_login_failures_total\{reason="credentials"\} (\d+)/m),
    ).toBeGreaterThanOrEqual(5);
    expect(
      value(/^tessera_login_failures_total\{reason="throttled"\} (\d+)/m),
    ).toBeGreaterThanOrEqual(2);
    expect(
      value(/^tessera_sessions_revoked_total\{reason="revoke"\} (\d+)/m),
    ).toBeGreaterThanOrEqual(1);
    expect(value(/^tessera_sessions_active (\d+)/m)).toBeGreaterThan(0);
    expect(text).toMatch(
      /^tessera_store_latency_seconds_bucket\{le="0.005",operation="get",outcome="ok"\} \d+/m,
    );
  });

  it('never writes a token, password or session cookie to its logs', () => {
    const logs = service.output();
    expect(logs).toContain('"event":"refresh_reuse"');
    expect(logs).not.toContain('alice-password');
    expect(logs).not.toContain('bob-password');
    for (const secret of secretsSeen) {
      expect(secret.length).toBeGreaterThan(20);
      expect(logs).not.toContain(secret);
    }
  });
});
