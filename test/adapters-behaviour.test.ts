/**
 * One behaviour suite, run against every adapter (Express, Fastify, the fetch wrapper, and
 * the fetch wrapper as Hono middleware): what a user of any of them relies on is the same.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ADAPTERS,
  type AdapterHarness,
  type ControlledStore,
  cookiePair,
  createControlledStore,
  type HarnessResponse,
} from './support/adapter-harness.js';

const START = Date.UTC(2026, 0, 1);

for (const kind of ADAPTERS) {
  describe(`adapter behaviour: ${kind.name}`, () => {
    let store: ControlledStore;
    let app: AdapterHarness;
    let warnings: string[];

    beforeEach(async () => {
      const now = (): number => START;
      store = createControlledStore(now);
      warnings = [];
      app = await kind.create({
        store,
        now,
        storeTimeout: 100,
        logger: { warn: (message) => warnings.push(message) },
      });
    });

    afterEach(async () => {
      await app.close();
      await store.inner.close();
    });

    const jarOf = (res: HarnessResponse, https = false): string => {
      const pair = cookiePair(res, https ? app.httpsCookieName : app.cookieName);
      expect(pair, `Set-Cookie in ${JSON.stringify(res.setCookies)}`).not.toBeNull();
      return pair as string;
    };

    const signIn = async (): Promise<string> => {
      const res = await app.request({ method: 'POST', path: '/set?key=theme&value=dark' });
      expect(res.status).toBe(200);
      return jarOf(res);
    };

    it('sends no cookie and stores nothing for a request that set no data', async () => {
      const res = await app.request({ path: '/data' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ data: {} });
      expect(cookiePair(res, app.cookieName)).toBeNull();
      expect(store.writes()).toBe(0);
    });

    it('creates a session cookie once data is set, and the data persists across requests', async () => {
      const cookie = await signIn();
      const res = await app.request({ path: '/data', headers: { cookie } });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ data: { theme: 'dark' } });
      const incr1 = await app.request({ method: 'POST', path: '/incr', headers: { cookie } });
      const incr2 = await app.request({ method: 'POST', path: '/incr', headers: { cookie } });
      expect(incr1.body).toEqual({ count: 1 });
      expect(incr2.body).toEqual({ count: 2 });
      const after = await app.request({ path: '/data', headers: { cookie } });
      expect(after.body).toEqual({ data: { theme: 'dark', count: 2 } });
    });

    it('writes nothing to the store for a request that changed nothing', async () => {
      const cookie = await signIn();
      store.resetCounts();
      const res = await app.request({ path: '/data', headers: { cookie } });
      expect(res.status).toBe(200);
      expect(store.writes()).toBe(0);
      expect(store.counts.get('get')).toBe(1);
    });

    it('keeps all 50 keys when 50 concurrent requests each set their own key', async () => {
      const cookie = await signIn();
      const responses = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          app.request({ method: 'POST', path: `/set?key=k${i}&value=v${i}`, headers: { cookie } }),
        ),
      );
      expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
      const res = await app.request({ path: '/data', headers: { cookie } });
      const data = (res.body as { data: Record<string, unknown> }).data;
      for (let i = 0; i < 50; i++) expect(data[`k${i}`]).toBe(`v${i}`);
      expect(Object.keys(data)).toHaveLength(51);
    });

    it('gives a new session ID at login; the old cookie no longer signs in', async () => {
      const before = await signIn();
      const login = await app.request({
        method: 'POST',
        path: '/login?user=alice',
        headers: { cookie: before },
      });
      expect(login.status).toBe(200);
      const after = jarOf(login);
      expect(after).not.toBe(before);
      const mine = await app.request({ path: '/data', headers: { cookie: after } });
      expect(mine.body).toEqual({ data: { theme: 'dark', user: 'alice' } });
      const old = await app.request({ path: '/data', headers: { cookie: before } });
      expect(old.status).toBe(200);
      expect(old.body).toEqual({ data: {} });
    });

    it('never carries one user’s data into the next user’s session at login (issue 11, finding 2)', async () => {
      const anonymous = await signIn();
      const asAlice = jarOf(
        await app.request({
          method: 'POST',
          path: '/login?user=alice',
          headers: { cookie: anonymous },
        }),
      );
      await app.request({
        method: 'POST',
        path: '/set?key=isAdmin&value=yes',
        headers: { cookie: asAlice },
      });
      const again = jarOf(
        await app.request({
          method: 'POST',
          path: '/login?user=alice',
          headers: { cookie: asAlice },
        }),
      );
      const alices = await app.request({ path: '/data', headers: { cookie: again } });
      expect(alices.body).toEqual({ data: { theme: 'dark', user: 'alice', isAdmin: 'yes' } });
      const asMallory = await app.request({
        method: 'POST',
        path: '/login?user=mallory',
        headers: { cookie: again },
      });
      expect(asMallory.status).toBe(200);
      const mallorys = await app.request({ path: '/data', headers: { cookie: jarOf(asMallory) } });
      // The route wrote `user` on alice's session just before login: that goes too.
      expect(mallorys.body).toEqual({ data: {} });
    });

    it('takes the session ID only from the cookie: never from the URL or another header (checklist SID-04)', async () => {
      const cookie = await signIn();
      const value = cookie.slice(cookie.indexOf('=') + 1);
      for (const request of [
        { path: `/data?sid=${encodeURIComponent(value)}` },
        { path: `/data?${app.cookieName}=${encodeURIComponent(value)}` },
        { path: '/data', headers: { 'x-session-id': value, authorization: `Bearer ${value}` } },
      ]) {
        const res = await app.request(request);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ data: {} });
      }
    });

    it('clears the cookie at logout and forgets the session', async () => {
      const cookie = await signIn();
      const res = await app.request({ method: 'POST', path: '/logout', headers: { cookie } });
      expect(res.status).toBe(200);
      const cleared = res.setCookies.find((line) => line.startsWith(`${app.cookieName}=`));
      expect(cleared).toBeDefined();
      expect(cleared).toMatch(/Expires=Thu, 01 Jan 1970 00:00:00 GMT/);
      const again = await app.request({ path: '/data', headers: { cookie } });
      expect(again.body).toEqual({ data: {} });
    });

    it('refuses a cross-site POST that carries the session cookie with 403, allows same-origin', async () => {
      const cookie = await signIn();
      const crossSite = await app.request({
        method: 'POST',
        path: '/set?key=theme&value=evil',
        headers: { cookie, 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
      });
      expect(crossSite.status).toBe(403);
      const foreignOrigin = await app.request({
        method: 'POST',
        path: '/set?key=theme&value=evil',
        headers: { cookie, 'sec-fetch-site': '', origin: 'https://evil.example' },
      });
      expect(foreignOrigin.status).toBe(403);
      const sameOrigin = await app.request({
        method: 'POST',
        path: '/set?key=theme&value=light',
        headers: { cookie, 'sec-fetch-site': '' },
      });
      expect(sameOrigin.status).toBe(200);
      const res = await app.request({ path: '/data', headers: { cookie } });
      expect(res.body).toEqual({ data: { theme: 'light' } });
    });

    it('answers 503 while the store rejects, and keeps the cookie', async () => {
      const cookie = await signIn();
      store.mode = 'reject';
      const read = await app.request({ path: '/data', headers: { cookie } });
      expect(read.status).toBe(503);
      expect(cookiePair(read, app.cookieName)).toBeNull();
      const fresh = await app.request({ method: 'POST', path: '/set?key=a&value=b' });
      expect(fresh.status).toBe(503);
      store.mode = 'up';
      const back = await app.request({ path: '/data', headers: { cookie } });
      expect(back.body).toEqual({ data: { theme: 'dark' } });
    });

    it('answers 503 when the store hangs, within the store timeout', async () => {
      const cookie = await signIn();
      store.mode = 'hang';
      const started = performance.now();
      const read = await app.request({ path: '/data', headers: { cookie } });
      expect(read.status).toBe(503);
      expect(performance.now() - started).toBeLessThan(5_000);
    });

    it('treats garbage cookies as no session: a fresh anonymous session, never a 500', async () => {
      const name = app.cookieName;
      const garbage = [
        `${name}=%E0%A4%A`,
        `${name}=${'a'.repeat(5000)}`,
        `${name}=s:forged.signature`,
        `${name}="unterminated`,
        `${name}=${'A'.repeat(42)}A`,
        `${name}=x; ${name}=y; ${name}=z`,
        '=;;;==; ;',
        `${name}=\u00ff\u00fe`,
      ];
      for (const cookie of garbage) {
        const read = await app.request({ path: '/data', headers: { cookie } });
        expect(read.status, cookie).toBe(200);
        expect(read.body).toEqual({ data: {} });
        const write = await app.request({
          method: 'POST',
          path: '/set?key=a&value=b',
          headers: { cookie },
        });
        expect(write.status, cookie).toBe(200);
        const fresh = jarOf(write);
        const check = await app.request({ path: '/data', headers: { cookie: fresh } });
        expect(check.body).toEqual({ data: { a: 'b' } });
      }
    });

    it('sets a Secure cookie on HTTPS reported by a trusted proxy (with __Host- where the adapter names it so)', async () => {
      const res = await app.request({
        method: 'POST',
        path: '/set?key=theme&value=dark',
        https: true,
      });
      expect(res.status).toBe(200);
      const line = res.setCookies.find((l) => l.startsWith(`${app.httpsCookieName}=`));
      expect(line).toBeDefined();
      expect(line).toMatch(/; Secure/);
      expect(line).toMatch(/; HttpOnly/);
      expect(line).toMatch(/; SameSite=Lax/i);
      expect(line).not.toMatch(/; Domain=/i);
      const cookie = jarOf(res, true);
      const again = await app.request({ path: '/data', headers: { cookie }, https: true });
      expect(again.body).toEqual({ data: { theme: 'dark' } });
      expect(warnings).toEqual([]);
    });
  });
}
