import { afterEach, describe, expect, it, vi } from 'vitest';
import { createClient, type StorageLike } from './index.js';

const API = 'https://app.example';

/** A minimal Web Storage, as browsers expose it. */
class MemoryStorage implements StorageLike {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, String(value));
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/**
 * The network boundary: a fake Tessera service that knows one valid access token and one
 * live refresh token at a time, rotating both on refresh. `cookie` plays the browser's
 * HttpOnly refresh cookie: only requests with `credentials: 'include'` carry it.
 */
function fakeServer() {
  const server = {
    access: 'at-1',
    refresh: 'rt-1',
    generation: 1,
    cookie: null as string | null,
    signInCalls: [] as { body: Record<string, unknown>; credentials: string }[],
    refreshCalls: [] as { body: Record<string, unknown>; credentials: string }[],
    apiCalls: [] as { path: string; auth: string | null; body: string }[],
    refreshGate: null as Promise<void> | null,
    refreshStatus: null as number | null,
    onApiCall: (_count: number) => {},
  };
  async function fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const withCookie = request.credentials === 'include';
    if (url.pathname === '/api/token') {
      const body = (await request.json()) as Record<string, unknown>;
      server.signInCalls.push({ body, credentials: request.credentials });
      if (body.password !== 'right') return json(401, { error: 'invalid_credentials' });
      const inCookie = body.refresh_cookie === true && withCookie;
      if (inCookie) server.cookie = server.refresh;
      return json(200, {
        access_token: server.access,
        expires_in: 300,
        ...(inCookie ? {} : { refresh_token: server.refresh }),
      });
    }
    if (url.pathname === '/api/token/refresh') {
      const body = (await request.json()) as Record<string, unknown>;
      server.refreshCalls.push({ body, credentials: request.credentials });
      if (server.refreshGate) await server.refreshGate;
      if (server.refreshStatus !== null)
        return json(server.refreshStatus, { error: 'unavailable' });
      const fromCookie = body.refresh_token === undefined && withCookie;
      const presented = fromCookie ? server.cookie : body.refresh_token;
      if (presented !== server.refresh) return json(401, { error: 'invalid_grant' });
      server.generation++;
      server.access = `at-${server.generation}`;
      server.refresh = `rt-${server.generation}`;
      if (fromCookie) server.cookie = server.refresh;
      return json(200, {
        access_token: server.access,
        token_type: 'Bearer',
        expires_in: 300,
        ...(fromCookie ? {} : { refresh_token: server.refresh }),
      });
    }
    const auth = request.headers.get('authorization');
    server.apiCalls.push({ path: url.pathname, auth, body: await request.text() });
    server.onApiCall(server.apiCalls.length);
    if (
      url.origin === API &&
      url.pathname !== '/api/always-401' &&
      auth === `Bearer ${server.access}`
    ) {
      return json(200, { ok: true, auth });
    }
    return json(
      401,
      { error: 'invalid_token' },
      { 'www-authenticate': 'Bearer error="invalid_token"' },
    );
  }
  return { server, fetch };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('client: bearer token and single-flight refresh', () => {
  it('attaches the access token to the API origin only', async () => {
    const { server, fetch } = fakeServer();
    const client = createClient({ baseUrl: API, refreshToken: 'body', fetch });
    client.setTokens({ access_token: 'at-1', refresh_token: 'rt-1', expires_in: 300 });
    expect((await client.fetch('/api/me')).status).toBe(200);
    await client.fetch('https://elsewhere.example/collect');
    expect(server.apiCalls.map((c) => c.auth)).toEqual(['Bearer at-1', null]);
  });

  it('10 concurrent 401s cause exactly one refresh, then each request is retried once', async () => {
    const { server, fetch } = fakeServer();
    const client = createClient({ baseUrl: API, refreshToken: 'body', fetch });
    client.setTokens({ access_token: 'at-old', refresh_token: 'rt-1', expires_in: 300 });
    // Hold the refresh answer until all ten first attempts have reached the server.
    const gate = deferred();
    server.refreshGate = gate.promise;
    server.onApiCall = (count) => {
      if (count === 10) gate.resolve();
    };
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        client.fetch(`/api/me?i=${i}`, { method: 'POST', body: `payload-${i}` }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(server.refreshCalls).toHaveLength(1);
    expect(server.refreshCalls[0]?.body).toEqual({ refresh_token: 'rt-1' });
    expect(server.apiCalls).toHaveLength(20);
    const retries = server.apiCalls.slice(10);
    expect(retries.every((c) => c.auth === 'Bearer at-2')).toBe(true);
    // Bodies are replayed on retry.
    expect(retries.map((c) => c.body).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `payload-${i}`).sort(),
    );
    expect(client.getAccessToken()).toBe('at-2');
  });

  it('a 401 that arrives after a refresh finished retries with the new token, no second refresh', async () => {
    const { server, fetch } = fakeServer();
    const slowGate = deferred();
    // The slow request's first attempt stays on the wire until another one has refreshed.
    const slowFetch = async (request: Request): Promise<Response> => {
      const auth = request.headers.get('authorization');
      if (request.url.endsWith('/api/slow') && auth === 'Bearer at-old') await slowGate.promise;
      return fetch(request);
    };
    const client = createClient({ baseUrl: API, refreshToken: 'body', fetch: slowFetch });
    client.setTokens({ access_token: 'at-old', refresh_token: 'rt-1' });
    const slow = client.fetch('/api/slow');
    expect((await client.fetch('/api/me')).status).toBe(200);
    expect(server.refreshCalls).toHaveLength(1);
    slowGate.resolve();
    expect((await slow).status).toBe(200);
    expect(server.refreshCalls).toHaveLength(1);
    expect(server.apiCalls.filter((c) => c.path === '/api/slow').map((c) => c.auth)).toEqual([
      'Bearer at-old',
      'Bearer at-2',
    ]);
  });

  it('a request that is 401 again after the refresh is not retried a second time', async () => {
    const { server, fetch } = fakeServer();
    const client = createClient({ baseUrl: API, refreshToken: 'body', fetch });
    client.setTokens({ access_token: 'at-1', refresh_token: 'rt-1' });
    expect((await client.fetch('/api/always-401')).status).toBe(401);
    expect(server.refreshCalls).toHaveLength(1);
    expect(server.apiCalls).toHaveLength(2);
  });

  it('refreshes before sending when the access token is known to have expired', async () => {
    const { server, fetch } = fakeServer();
    let t = 1_000_000;
    const client = createClient({ baseUrl: API, refreshToken: 'body', fetch, now: () => t });
    client.setTokens({ access_token: 'at-1', refresh_token: 'rt-1', expires_in: 300 });
    t += 300_000;
    expect((await client.fetch('/api/me')).status).toBe(200);
    expect(server.refreshCalls).toHaveLength(1);
    expect(server.apiCalls.map((c) => c.auth)).toEqual(['Bearer at-2']);
  });
});

describe('client: sign-out', () => {
  it('invalid_grant clears the tokens and signals sign-out once, without a loop', async () => {
    const { server, fetch } = fakeServer();
    const client = createClient({ baseUrl: API, refreshToken: 'body', fetch });
    const signOuts: string[] = [];
    client.onSignOut((reason) => signOuts.push(reason));
    client.setTokens({ access_token: 'at-old', refresh_token: 'rt-stolen-and-revoked' });
    const responses = await Promise.all(Array.from({ length: 5 }, () => client.fetch('/api/me')));
    expect(responses.map((r) => r.status)).toEqual(Array(5).fill(401));
    expect(server.refreshCalls).toHaveLength(1);
    expect(server.apiCalls).toHaveLength(5);
    expect(signOuts).toEqual(['invalid_grant']);
    expect(client.getAccessToken()).toBeNull();
    // Signed out: later requests go without a token and cause no refresh.
    expect((await client.fetch('/api/me')).status).toBe(401);
    expect(server.refreshCalls).toHaveLength(1);
    expect(server.apiCalls.at(-1)?.auth).toBeNull();
  });

  it('a refresh endpoint that is down signs nobody out', async () => {
    const { server, fetch } = fakeServer();
    const client = createClient({ baseUrl: API, refreshToken: 'body', fetch });
    const signOuts: string[] = [];
    client.onSignOut((reason) => signOuts.push(reason));
    client.setTokens({ access_token: 'at-old', refresh_token: 'rt-1' });
    server.refreshStatus = 503;
    expect((await client.fetch('/api/me')).status).toBe(401);
    expect(signOuts).toEqual([]);
    expect(client.getAccessToken()).toBe('at-old');
    server.refreshStatus = null;
    expect((await client.fetch('/api/me')).status).toBe(200);
  });

  it('an unsubscribed listener is not called', async () => {
    const { fetch } = fakeServer();
    const client = createClient({ baseUrl: API, refreshToken: 'body', fetch });
    let calls = 0;
    const off = client.onSignOut(() => {
      calls++;
    });
    off();
    client.setTokens({ access_token: 'at-old', refresh_token: 'rt-bad' });
    await client.fetch('/api/me');
    expect(calls).toBe(0);
  });
});

describe('client: refresh token in an HttpOnly cookie', () => {
  it('by default signs in asking for the cookie, keeps no refresh token anywhere, refreshes with the cookie', async () => {
    const session = new MemoryStorage();
    const local = new MemoryStorage();
    vi.stubGlobal('sessionStorage', session);
    vi.stubGlobal('localStorage', local);
    const { server, fetch } = fakeServer();
    const client = createClient({ baseUrl: API, fetch });
    const res = await client.signIn({ username: 'alice', password: 'right' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ access_token: 'at-1' });
    expect(server.signInCalls).toEqual([
      {
        body: { username: 'alice', password: 'right', refresh_cookie: true },
        credentials: 'include',
      },
    ]);
    expect(server.cookie).toBe('rt-1');
    expect(client.getAccessToken()).toBe('at-1');
    expect(session.items.size + local.items.size).toBe(0);
    // A server that also puts a refresh token in the body: still not kept.
    client.setTokens({ access_token: 'at-1', refresh_token: 'rt-1' });
    expect(session.items.size + local.items.size).toBe(0);
    server.access = 'at-rotated-elsewhere';
    expect((await client.fetch('/api/me')).status).toBe(200);
    expect(server.refreshCalls).toEqual([{ body: {}, credentials: 'include' }]);
    expect(server.cookie).toBe('rt-2');
    expect(client.getAccessToken()).toBe('at-2');
    // A reload loses the access token; the cookie brings the session back on the first 401.
    const reloaded = createClient({ baseUrl: API, fetch });
    expect(reloaded.getAccessToken()).toBeNull();
    expect((await reloaded.fetch('/api/me')).status).toBe(200);
    expect(server.refreshCalls).toHaveLength(2);
    expect(session.items.size + local.items.size).toBe(0);
  });

  it('a refused sign-in stores nothing; a refused cookie signs out once', async () => {
    const { server, fetch } = fakeServer();
    const client = createClient({ baseUrl: API, fetch });
    const signOuts: string[] = [];
    client.onSignOut((reason) => signOuts.push(reason));
    expect((await client.signIn({ username: 'alice', password: 'wrong' })).status).toBe(401);
    expect(client.getAccessToken()).toBeNull();
    expect((await client.fetch('/api/me')).status).toBe(401);
    expect(signOuts).toEqual(['invalid_grant']);
    expect(server.refreshCalls).toHaveLength(1);
    await client.fetch('/api/me');
    expect(server.refreshCalls).toHaveLength(1);
  });

  it('refreshes with credentials included and never holds a refresh token', async () => {
    const { server, fetch } = fakeServer();
    server.cookie = 'rt-1';
    const storage = new MemoryStorage();
    const client = createClient({ baseUrl: API, fetch, storage, refreshToken: 'cookie' });
    client.setTokens({ access_token: 'at-old', refresh_token: 'must-not-be-kept' });
    expect([...storage.items.values()].join()).not.toContain('must-not-be-kept');
    expect((await client.fetch('/api/me')).status).toBe(200);
    expect(server.refreshCalls).toEqual([{ body: {}, credentials: 'include' }]);
  });
});

describe('client: storage', () => {
  const tokens = { access_token: 'at-1', refresh_token: 'rt-1', expires_in: 300 };

  it('memory (default) keeps tokens out of web storage and loses them on reload', () => {
    const session = new MemoryStorage();
    const local = new MemoryStorage();
    vi.stubGlobal('sessionStorage', session);
    vi.stubGlobal('localStorage', local);
    const { fetch } = fakeServer();
    createClient({ baseUrl: API, fetch }).setTokens(tokens);
    expect(session.items.size + local.items.size).toBe(0);
    expect(createClient({ baseUrl: API, fetch }).getAccessToken()).toBeNull();
  });

  for (const [kind, global] of [
    ['session', 'sessionStorage'],
    ['local', 'localStorage'],
  ] as const) {
    it(`'${kind}' (opt-in) keeps both tokens in ${global} across a reload, rotates and clears them`, async () => {
      const storage = new MemoryStorage();
      vi.stubGlobal(global, storage);
      const { server, fetch } = fakeServer();
      createClient({ baseUrl: API, fetch, storage: kind }).setTokens({
        ...tokens,
        access_token: 'at-old',
      });
      expect(storage.getItem('tessera.tokens')).toContain('rt-1');
      const reloaded = createClient({ baseUrl: API, fetch, storage: kind });
      expect(reloaded.getAccessToken()).toBe('at-old');
      expect((await reloaded.fetch('/api/me')).status).toBe(200);
      expect(storage.getItem('tessera.tokens')).toContain('rt-2');
      expect(server.refreshCalls[0]?.body).toEqual({ refresh_token: 'rt-1' });
      reloaded.clearTokens();
      expect(storage.items.size).toBe(0);
    });
  }

  it('refuses web storage that is not available, and falls back to memory on a failing write', () => {
    const { fetch } = fakeServer();
    expect(() => createClient({ baseUrl: API, fetch, storage: 'local' })).toThrow(/localStorage/);
    const full: StorageLike = {
      getItem: () => null,
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
      removeItem: () => {},
    };
    const client = createClient({ baseUrl: API, fetch, storage: full });
    client.setTokens(tokens);
    expect(client.getAccessToken()).toBe('at-1');
  });

  it('ignores a stored value that does not parse', () => {
    const storage = new MemoryStorage();
    storage.setItem('tessera.tokens', '{not json');
    const { fetch } = fakeServer();
    expect(createClient({ baseUrl: API, fetch, storage }).getAccessToken()).toBeNull();
  });
});

describe('client: options', () => {
  it('needs a baseUrl outside a browser and refuses bad settings', () => {
    expect(() => createClient()).toThrow(/`baseUrl` is required/);
    expect(() => createClient({ baseUrl: API, refreshToken: 'header' as 'body' })).toThrow(
      /`refreshToken`/,
    );
    const { fetch } = fakeServer();
    expect(() => createClient({ baseUrl: API, fetch }).setTokens({ access_token: '' })).toThrow(
      /access_token/,
    );
  });
});

describe('client: browser-safe', () => {
  it('imports no Node module, directly or through its own imports', async () => {
    const { readFileSync } = await import('node:fs');
    const { dirname, resolve } = await import('node:path');
    const { fileURLToPath } = await import('node:url');
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, 'utf8');
      for (const match of source.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
        const spec = match[1] as string;
        expect(spec.startsWith('.'), `${file} imports ${spec}`).toBe(true);
        visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      }
    };
    visit(resolve(dirname(fileURLToPath(import.meta.url)), 'index.ts'));
    expect(seen.size).toBeGreaterThanOrEqual(4);
  });
});
