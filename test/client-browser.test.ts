/**
 * `tessera-session/client` end to end in a real Chromium against the running service: a small
 * page served by the test on 127.0.0.1 (which also passes `/api/*` through to the service, so
 * page and API share an origin, as in a deployment behind one host) imports the built client
 * bundle, signs in with `signIn()` (the refresh token in the service's HttpOnly cookie), calls
 * the API with the access token, refreshes after the access token is dropped, and signs out.
 * The refresh token never reaches page JavaScript: not in a response body, not in
 * localStorage or sessionStorage, not in `document.cookie`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/browser.js';
import { ROOT, type StartedService, startServiceProcess, tempDir } from './support/service.js';

const DIST = join(ROOT, 'packages/session/dist');

const PAGE = `<!doctype html><meta charset="utf-8"><title>client test</title>
<script type="module">
  import { createClient } from '/lib/client/index.js';
  const api = createClient();
  const json = async (res) => ({ status: res.status, body: await res.json().catch(() => null) });
  window.steps = {
    signIn: async () => json(await api.signIn({ username: 'alice', password: 'alice-password' })),
    me: async () => json(await api.fetch('/api/me')),
    token: () => api.getAccessToken(),
    dropAccessToken: () => api.clearTokens(),
    signOut: async () => (await api.fetch('/api/logout', { method: 'POST' })).status,
    refresh: () => api.refresh(),
    readable: () => ({
      cookie: document.cookie,
      local: JSON.stringify({ ...localStorage }),
      session: JSON.stringify({ ...sessionStorage }),
    }),
  };
  window.ready = true;
</script>`;

let service: StartedService;
let browser: Browser;
let site: Server;
let siteUrl: string;
/** Paths the page's requests reached the service with, in order. */
const apiCalls: string[] = [];

/** Serves the page and the built library; passes `/api/*` through to the service. */
function serveSite(target: URL): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE);
      return;
    }
    if (path.startsWith('/lib/')) {
      const file = normalize(join(DIST, path.slice('/lib/'.length)));
      if (!file.startsWith(DIST) || !existsSync(file) || !file.endsWith('.js')) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      res.end(readFileSync(file));
      return;
    }
    if (!path.startsWith('/api/')) {
      res.writeHead(404).end();
      return;
    }
    apiCalls.push(`${req.method} ${path}`);
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        // The Host header stays the page's, as a reverse proxy that preserves it sends it.
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
}

/** The newest modification time of the files the client bundle is built from. */
function newestClientSource(): number {
  const src = join(ROOT, 'packages/session/src');
  let newest = 0;
  for (const folder of ['client', 'shared']) {
    for (const name of readdirSync(join(src, folder))) {
      newest = Math.max(newest, statSync(join(src, folder, name)).mtimeMs);
    }
  }
  return newest;
}

beforeAll(async () => {
  const built = statSync(join(DIST, 'client/index.js'), { throwIfNoEntry: false });
  if (!built || built.mtimeMs < newestClientSource()) {
    throw new Error(
      'packages/session/dist/client is missing or older than src/: run `npm run build` first',
    );
  }
  service = await startServiceProcess([
    '--demo',
    '--store',
    `sqlite:${join(tempDir(), 'tessera.db')}`,
  ]);
  site = serveSite(new URL(service.url));
  await new Promise<void>((done) => site.listen(0, '127.0.0.1', done));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  if (site) {
    site.closeAllConnections();
    await new Promise((done) => site.close(done));
  }
  await service?.stop();
});

describe('tessera-session/client in Chromium against the service', () => {
  it('signs in, calls the API, refreshes through the HttpOnly cookie, signs out; no script ever sees the refresh token', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const bodies: string[] = [];
    page.on('response', async (response) => {
      if (response.url().includes('/api/')) bodies.push(await response.text().catch(() => ''));
    });
    await page.goto(siteUrl);
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
    const step = <T>(name: string): Promise<T> =>
      page.evaluate(
        (n) => (window as unknown as { steps: Record<string, () => unknown> }).steps[n]?.(),
        name,
      ) as Promise<T>;

    const signedIn = await step<{ status: number; body: Record<string, unknown> }>('signIn');
    expect(signedIn.status).toBe(200);
    expect(typeof signedIn.body.access_token).toBe('string');
    expect(signedIn.body).not.toHaveProperty('refresh_token');
    const [refreshCookie] = (await context.cookies()).filter((c) => c.name.endsWith('tessera.rt'));
    expect(refreshCookie).toMatchObject({
      httpOnly: true,
      sameSite: 'Strict',
      path: '/api/token/refresh',
    });
    const firstRefresh = refreshCookie?.value as string;
    expect(firstRefresh.length).toBeGreaterThan(20);

    const me = await step<{ status: number; body: Record<string, unknown> }>('me');
    expect(me).toMatchObject({ status: 200, body: { username: 'alice', strategy: 'hybrid' } });
    const firstAccess = await step<string>('token');

    // Drop the access token: the next call gets a 401, refreshes with the cookie, retries.
    await step('dropAccessToken');
    expect(await step('token')).toBeNull();
    apiCalls.length = 0;
    const again = await step<{ status: number; body: Record<string, unknown> }>('me');
    expect(again).toMatchObject({ status: 200, body: { username: 'alice' } });
    expect(apiCalls).toEqual(['GET /api/me', 'POST /api/token/refresh', 'GET /api/me']);
    const secondAccess = await step<string>('token');
    expect(secondAccess).not.toBe(firstAccess);
    const [rotated] = (await context.cookies()).filter((c) => c.name.endsWith('tessera.rt'));
    expect(rotated?.value).not.toBe(firstRefresh);

    // Nothing a script can read holds either refresh token.
    const readable = await step<{ cookie: string; local: string; session: string }>('readable');
    for (const secret of [firstRefresh, rotated?.value as string]) {
      for (const place of [readable.cookie, readable.local, readable.session, ...bodies]) {
        expect(place).not.toContain(secret);
      }
    }
    expect(readable.cookie).not.toContain('tessera.rt');
    expect(readable.local).toBe('{}');
    expect(readable.session).toBe('{}');

    // Sign out: the session ends, so neither the access token nor the cookie works any more.
    expect(await step<number>('signOut')).toBe(204);
    expect(await step('refresh')).toBeNull();
    const after = await step<{ status: number }>('me');
    expect(after.status).toBe(401);
    await context.close();
  }, 20_000);
});
