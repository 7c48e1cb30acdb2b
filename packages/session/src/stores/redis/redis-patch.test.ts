/**
 * The Redis store's patch paths on a real Redis: the small data-only script (what a request
 * that changes session data sends) and the full script it leaves user and expiry changes to.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { commandsDuring, startRedisServer } from '../../../../../test/support/redis-server.js';
import { redisStoreAndProbe } from '../../../../../test/support/redis-store-probe.js';
import { makeRecord } from '../conformance/index.js';
import { createManualClock } from '../conformance/manual-clock.js';
import type { SessionRecord } from '../store.js';
import { createRedisStore } from './redis-store.js';

const redis = await startRedisServer();
afterAll(() => redis.destroy());

const PREFIX = 'patch:';
const hashKey = (key: string): string => `${PREFIX}s:{${key}}`;

describe('redis store patch', () => {
  const t = redisStoreAndProbe(redis.url, PREFIX);

  function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
    return makeRecord(Date.now(), { data: { count: 1 }, ...overrides });
  }

  it('applies a data-only patch with one script call (HGET, HSET inside) and leaves the TTL alone', async () => {
    const stored = record({ userId: 'patch-user', meta: { ip: '198.51.100.1' } });
    await t.store.create(stored);
    await t.store.patch(stored.key, { set: { count: 1 } }); // loads the script (NOSCRIPT → EVAL)
    const ttlBefore = await t.probe.pttl(hashKey(stored.key));
    const ran = await commandsDuring(t.probe, async () => {
      expect(
        await t.store.patch(stored.key, {
          set: { count: 2 },
          meta: { ip: '198.51.100.2' },
          lastSeenAt: stored.lastSeenAt + 5,
        }),
      ).toBe(true);
    });
    expect(ran).toEqual({ evalsha: 1, hget: 1, hset: 1 });
    const ttlAfter = await t.probe.pttl(hashKey(stored.key));
    expect(ttlAfter).toBeGreaterThan(0);
    expect(ttlAfter).toBeLessThanOrEqual(ttlBefore);
    expect(await t.store.get(stored.key)).toEqual({
      ...stored,
      data: { count: 2 },
      meta: { ip: '198.51.100.2' },
      lastSeenAt: stored.lastSeenAt + 5,
    });
    expect((await t.store.listByUser('patch-user')).map((r) => r.key)).toContain(stored.key);
  });

  it('sets and clears authAt through the data-only path', async () => {
    const stored = record();
    await t.store.create(stored);
    expect(
      await t.store.patch(stored.key, { authAt: stored.createdAt + 1, unset: ['count'] }),
    ).toBe(true);
    expect(await t.store.get(stored.key)).toMatchObject({ authAt: stored.createdAt + 1, data: {} });
    expect(await t.store.patch(stored.key, { authAt: null })).toBe(true);
    expect((await t.store.get(stored.key))?.authAt).toBeNull();
  });

  it('never recreates a session hash when patches race its delete', async () => {
    // Load every script first: a NOSCRIPT retry would change the order the calls reach Redis.
    const warm = record();
    await t.store.create(warm);
    await t.store.patch(warm.key, { set: { a: 1 } });
    await t.store.delete(warm.key);
    for (let round = 0; round < 20; round++) {
      const stored = record();
      await t.store.create(stored);
      const patch = (i: number): Promise<boolean> =>
        t.store.patch(stored.key, { set: { [`k${i}`]: i } });
      // Patches issued before and after the delete in the same tick reach Redis in that
      // order (one auto-pipelined write): the first two land, the last two find nothing.
      const results = await Promise.all([
        patch(0),
        patch(1),
        t.store.delete(stored.key).then(() => null),
        patch(2),
        patch(3),
      ]);
      expect(results).toEqual([true, true, null, false, false]);
      expect(await t.probe.exists(hashKey(stored.key))).toBe(0);
      expect(await t.store.get(stored.key)).toBeNull();
    }
  });

  it('never recreates a session hash when patches race the revocation of its user', async () => {
    const user = 'patch-revoked';
    const sessions = [record({ userId: user }), record({ userId: user }), record({ userId: user })];
    for (const s of sessions) await t.store.create(s);
    /** Patches one session back to back until a patch answers false; how many landed. */
    const patchUntilGone = async (key: string): Promise<number> => {
      for (let i = 0; i < 10_000; i++) {
        if (!(await t.store.patch(key, { set: { [`k${i % 50}`]: i } }))) return i;
      }
      throw new Error('the session outlived its revocation');
    };
    const loops = sessions.map((s) => patchUntilGone(s.key));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await t.store.deleteByUser(user)).toBe(sessions.length);
    await Promise.all(loops);
    for (const s of sessions) {
      expect(await t.probe.exists(hashKey(s.key))).toBe(0);
      expect(await t.store.patch(s.key, { set: { late: true } })).toBe(false);
      expect(await t.probe.exists(hashKey(s.key))).toBe(0);
    }
    expect(await t.store.listByUser(user)).toEqual([]);
  });

  it('answers false to a data-only patch of a session expired on the store clock, writing nothing', async () => {
    const t0 = Date.now();
    const clock = createManualClock(t0);
    const clocked = createRedisStore({ url: redis.url }, { prefix: PREFIX, now: clock.now });
    try {
      const expiring = makeRecord(t0, { data: { a: 1 }, expiresAt: t0 + 60_000 });
      await clocked.create(expiring);
      clock.set(t0 + 60_000);
      const before = await t.probe.hgetall(hashKey(expiring.key));
      expect(await clocked.patch(expiring.key, { set: { b: 3 }, unset: ['a'] })).toBe(false);
      expect(await t.probe.hgetall(hashKey(expiring.key))).toEqual(before);
      expect(await clocked.get(expiring.key)).toBeNull();
    } finally {
      await clocked.close();
    }
  });

  it('writes large patches whole, on either side of the small script’s size limit', async () => {
    for (const size of [199, 200, 450]) {
      const stored = record({ data: { drop: 1 } });
      await t.store.create(stored);
      const set = Object.fromEntries(Array.from({ length: size }, (_, i) => [`k${i}`, i]));
      expect(await t.store.patch(stored.key, { set, unset: ['drop'] })).toBe(true);
      expect((await t.store.get(stored.key))?.data).toEqual(set);
    }
  });

  it('still moves the expiry, the handle key and the user index through the full script', async () => {
    const stored = record({ userId: 'patch-mover' });
    await t.store.create(stored);
    const later = stored.absoluteExpiresAt + 3_600_000;
    expect(
      await t.store.patch(stored.key, {
        set: { count: 3 },
        userId: 'patch-mover-2',
        expiresAt: stored.expiresAt + 60_000,
        absoluteExpiresAt: later,
      }),
    ).toBe(true);
    expect(await t.probe.pttl(hashKey(stored.key))).toBeGreaterThan(
      stored.expiresAt + 30_000 - Date.now(),
    );
    expect(await t.probe.pttl(`${PREFIX}h:{${stored.handle}}`)).toBeGreaterThan(
      stored.absoluteExpiresAt - Date.now(),
    );
    expect(await t.store.listByUser('patch-mover')).toEqual([]);
    expect((await t.store.listByUser('patch-mover-2')).map((r) => r.key)).toEqual([stored.key]);
    expect((await t.store.getByHandle(stored.handle))?.data).toEqual({ count: 3 });
  });
});
