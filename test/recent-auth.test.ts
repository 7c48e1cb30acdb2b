/**
 * Step-up authentication (ASVS 7.5.1/7.5.3) in every adapter: `requireRecentAuth(maxAge)`
 * lets a fresh sign-in through, answers 403 `reauth_required` once the sign-in is older than
 * the window (by the session manager's clock), lets the user back in after signing in again
 * (a new session ID), answers 401 without a signed-in session, and refuses a bad window at
 * construction.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { requireRecentAuth as expressRecentAuth } from '../packages/session/src/adapters/express/index.js';
import { requireRecentAuth as fastifyRecentAuth } from '../packages/session/src/adapters/fastify/index.js';
import { requireRecentAuth as fetchRecentAuth } from '../packages/session/src/adapters/fetch/index.js';
import { isTesseraError } from '../packages/session/src/shared/errors.js';
import {
  ADAPTERS,
  type AdapterHarness,
  type ControlledStore,
  cookiePair,
  createControlledStore,
  RECENT_AUTH_SECONDS,
} from './support/adapter-harness.js';

const START = Date.UTC(2026, 0, 1);
const GUARDED = ADAPTERS.filter((kind) => kind.name !== 'hono');

for (const kind of GUARDED) {
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
    });
  });
}

describe('requireRecentAuth: configuration', () => {
  it.each([
    ['express', expressRecentAuth],
    ['fastify', fastifyRecentAuth],
    ['fetch', fetchRecentAuth],
  ] as const)('%s refuses a window that is not a positive finite number', (_name, factory) => {
    for (const bad of [0, -5, Number.NaN, Number.POSITIVE_INFINITY, '300' as unknown as number]) {
      let thrown: unknown;
      try {
        factory(bad);
      } catch (error) {
        thrown = error;
      }
      expect(isTesseraError(thrown) && thrown.code).toBe('ERR_CONFIG');
    }
    expect(() => factory(0.5)).not.toThrow();
  });
});
