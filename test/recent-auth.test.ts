/**
 * Step-up authentication (ASVS 7.5.1/7.5.3, 7.5 levels) in every adapter (Express, Fastify,
 * fetch, Hono): `requireRecentAuth(maxAge)` lets a fresh sign-in through, answers 403
 * `reauth_required` once the sign-in is older than the window (by the session manager's
 * clock), lets the user back in after signing in again (a new session ID), answers 401
 * without a signed-in session; `requireRecentAuth(maxAge, { level })` also wants the
 * session's authentication level, names it in the refusal, and lets the user through after
 * `stepUp` (a new ID, data kept); a bad window or level is refused at construction.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { requireRecentAuth as expressRecentAuth } from '../packages/session/src/adapters/express/index.js';
import { requireRecentAuth as fastifyRecentAuth } from '../packages/session/src/adapters/fastify/index.js';
import {
  requireRecentAuth as fetchRecentAuth,
  honoRecentAuth,
} from '../packages/session/src/adapters/fetch/index.js';
import { createRecentAuthCheck } from '../packages/session/src/http/recent-auth.js';
import { isTesseraError } from '../packages/session/src/shared/errors.js';
import {
  ADAPTERS,
  type AdapterHarness,
  type ControlledStore,
  cookiePair,
  createControlledStore,
  RECENT_AUTH_SECONDS,
  STRONG_LEVEL,
} from './support/adapter-harness.js';

const START = Date.UTC(2026, 0, 1);

for (const kind of ADAPTERS) {
  describe(`requireRecentAuth: ${kind.name}`, () => {
    let store: ControlledStore;
    let app: AdapterHarness;
    let time: number;

    beforeEach(async () => {
      time = START;
      const now = (): number => time;
      store = createControlledStore(now);
      app = await kind.create({ store, now, logger: { warn: () => {} } });
    });

    afterEach(async () => {
      await app.close();
      await store.inner.close();
    });

    const signIn = async (): Promise<string> => {
      const res = await app.request({ method: 'POST', path: '/login?user=alice' });
      expect(res.status).toBe(200);
      const jar = cookiePair(res, app.cookieName);
      expect(jar).not.toBeNull();
      return jar as string;
    };
    const sensitive = (jar?: string) =>
      app.request({ path: '/sensitive', ...(jar ? { headers: { cookie: jar } } : {}) });
    const strong = (jar: string) => app.request({ path: '/strong', headers: { cookie: jar } });
    const post = async (path: string, jar: string): Promise<string> => {
      const res = await app.request({ method: 'POST', path, headers: { cookie: jar } });
      expect(res.status).toBe(200);
      return cookiePair(res, app.cookieName) ?? jar;
    };

    it('lets a fresh sign-in through, within the window', async () => {
      const jar = await signIn();
      time += RECENT_AUTH_SECONDS * 1000;
      const res = await sensitive(jar);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ok: true });
    });

    it('answers 403 reauth_required once the sign-in is older than the window, and a new sign-in lets the user back in', async () => {
      const first = await signIn();
      time += RECENT_AUTH_SECONDS * 1000 + 1000;
      const stale = await sensitive(first);
      expect(stale.status).toBe(403);
      expect(stale.body).toMatchObject({ error: 'reauth_required' });
      expect(typeof (stale.body as { message?: unknown }).message).toBe('string');
      // The session itself is still alive: only the sensitive route wants a fresh sign-in.
      expect((await app.request({ path: '/data', headers: { cookie: first } })).status).toBe(200);

      const res = await app.request({
        method: 'POST',
        path: '/login?user=alice',
        headers: { cookie: first },
      });
      expect(res.status).toBe(200);
      const second = cookiePair(res, app.cookieName);
      expect(second).not.toBeNull();
      expect(second).not.toBe(first);
      expect((await sensitive(second as string)).status).toBe(200);
      // The old ID was rotated away: it no longer carries the sign-in.
      expect((await sensitive(first)).status).toBe(401);
    });

    it('answers 401 unauthorized without a signed-in session', async () => {
      const anonymous = await sensitive();
      expect(anonymous.status).toBe(401);
      expect(anonymous.body).toMatchObject({ error: 'unauthorized' });

      const set = await app.request({ method: 'POST', path: '/set?key=theme&value=dark' });
      const jar = cookiePair(set, app.cookieName) as string;
      const unsigned = await sensitive(jar);
      expect(unsigned.status).toBe(401);
      expect(unsigned.body).toMatchObject({ error: 'unauthorized' });
      expect((await strong(jar)).status).toBe(401);
    });

    it('answers 403 reauth_required naming the level to a fresh sign-in below it; stepUp lets the user through with a new ID and the data kept', async () => {
      const first = await signIn();
      expect((await sensitive(first)).status).toBe(200);
      const below = await strong(first);
      expect(below.status).toBe(403);
      expect(below.body).toMatchObject({ error: 'reauth_required', level: STRONG_LEVEL });
      expect((await app.request({ path: '/auth', headers: { cookie: first } })).body).toMatchObject(
        { user: 'alice', level: 1, methods: [] },
      );

      time += 60_000;
      const second = await post(`/stepup?level=${STRONG_LEVEL}&methods=pwd,otp`, first);
      expect(second).not.toBe(first);
      expect((await strong(second)).status).toBe(200);
      const auth = await app.request({ path: '/auth', headers: { cookie: second } });
      expect(auth.body).toEqual({ user: 'alice', level: 2, methods: ['pwd', 'otp'] });
      const data = await app.request({ path: '/data', headers: { cookie: second } });
      expect((data.body as { data: Record<string, unknown> }).data).toMatchObject({
        user: 'alice',
      });
      // The ID from before the step-up is dead: it carries neither the user nor the level.
      expect((await strong(first)).status).toBe(401);
    });

    it('answers 400 to a step-up with a bad level and leaves the session as it was', async () => {
      const jar = await signIn();
      for (const level of ['0', '1.5', 'x']) {
        const res = await app.request({
          method: 'POST',
          path: `/stepup?level=${level}`,
          headers: { cookie: jar },
        });
        expect(res.status).toBe(400);
        expect(cookiePair(res, app.cookieName)).toBeNull();
      }
      const auth = await app.request({ path: '/auth', headers: { cookie: jar } });
      expect(auth.body).toEqual({ user: 'alice', level: 1, methods: [] });
    });

    it('wants the level within the window: a second factor older than it answers 403 with the level', async () => {
      const jar = await post(`/login?user=alice&level=${STRONG_LEVEL}&methods=pwd,otp`, '');
      expect((await strong(jar)).status).toBe(200);
      time += RECENT_AUTH_SECONDS * 1000 + 1000;
      const stale = await strong(jar);
      expect(stale.status).toBe(403);
      expect(stale.body).toMatchObject({ error: 'reauth_required', level: STRONG_LEVEL });
      // A password typed again is recent but weaker: it does not count as the second factor.
      const weaker = await post('/stepup?level=1&methods=pwd', jar);
      expect((await sensitive(weaker)).status).toBe(200);
      expect((await strong(weaker)).status).toBe(403);
      const again = await post(`/stepup?level=${STRONG_LEVEL}&methods=otp`, weaker);
      expect((await strong(again)).status).toBe(200);
    });

    it('forgets the level at logout', async () => {
      const jar = await post(`/login?user=alice&level=${STRONG_LEVEL}`, '');
      await post('/logout', jar);
      const auth = await app.request({ path: '/auth', headers: { cookie: jar } });
      expect(auth.body).toEqual({ user: null, level: null, methods: [] });
      expect((await strong(jar)).status).toBe(401);
    });
  });
}

describe('requireRecentAuth: configuration', () => {
  const codeOf = (make: () => unknown): unknown => {
    try {
      make();
    } catch (error) {
      return isTesseraError(error) ? error.code : error;
    }
    return undefined;
  };
  const factories = [
    ['express', expressRecentAuth],
    ['fastify', fastifyRecentAuth],
    ['fetch', fetchRecentAuth],
    ['hono', honoRecentAuth],
  ] as const;

  it.each(factories)(
    '%s refuses a window that is not a positive finite number',
    (_name, factory) => {
      for (const bad of [0, -5, Number.NaN, Number.POSITIVE_INFINITY, '300' as unknown as number]) {
        expect(codeOf(() => factory(bad))).toBe('ERR_CONFIG');
      }
      expect(() => factory(0.5)).not.toThrow();
    },
  );

  it.each(factories)(
    '%s refuses a level that is not a positive integer, and unknown options',
    (_name, factory) => {
      for (const level of [0, -1, 1.5, Number.NaN, '2', null]) {
        expect(codeOf(() => factory(300, { level: level as number }))).toBe('ERR_CONFIG');
      }
      expect(codeOf(() => factory(300, { levle: 2 } as never))).toBe('ERR_CONFIG');
      expect(() => factory(300, { level: 3 })).not.toThrow();
      expect(() => factory(300, {})).not.toThrow();
    },
  );
});

describe('createRecentAuthCheck: the one decision behind every guard and the service', () => {
  const now = START + 1000;
  const recent = { userId: 'alice', authAt: START, now };

  it('counts a signed-in session without a recorded level as level 1, and a higher level as enough', () => {
    expect(createRecentAuthCheck(300).check(recent)).toEqual({ ok: true });
    expect(createRecentAuthCheck(300, { level: 1 }).check({ ...recent, authLevel: null })).toEqual({
      ok: true,
    });
    const strong = createRecentAuthCheck(300, { level: 2 });
    expect(strong.check({ ...recent, authLevel: null })).toMatchObject({
      ok: false,
      status: 403,
      body: { error: 'reauth_required', level: 2 },
    });
    expect(strong.check({ ...recent, authLevel: 3 })).toEqual({ ok: true });
  });

  it('keeps the one-argument answers: no level in the body of a plain reauth_required', () => {
    const result = createRecentAuthCheck(300).check({ ...recent, now: START + 301_000 });
    expect(result).toMatchObject({ ok: false, status: 403 });
    expect(result.ok ? null : result.body).not.toHaveProperty('level');
    expect(createRecentAuthCheck(300).check({ ...recent, userId: null })).toMatchObject({
      status: 401,
      body: { error: 'unauthorized' },
    });
  });
});
