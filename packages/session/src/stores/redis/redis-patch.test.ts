/**
 * The Redis store's patch paths on a real Redis: one HSET for a patch that only sets fields
 * (what a request that changes session data sends; a small settling script when that HSET added
 * a field), the small patch script for one that also deletes fields or moves lastSeenAt, and
 * the full script for user and expiry changes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { commandsDuring, startRedisServer } from '../../../../../test/support/redis-server.js';
import { redisStoreAndProbe } from '../../../../../test/support/redis-store-probe.js';
import { makeRecord } from '../conformance/index.js';
import { createManualClock } from '../conformance/manual-clock.js';
import type { SessionPatch, SessionRecord } from '../store.js';
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

  /** Applies `patch` to `stored`: the commands Redis ran, a TTL left alone, the record read back. */
  async function expectPatched(
    stored: SessionRecord,
    patch: SessionPatch,
    commands: Record<string, number>,
    expected: SessionRecord,
  ): Promise<void> {
    const ttlBefore = await t.probe.pttl(hashKey(stored.key));
    const ran = await commandsDuring(t.probe, async () => {
      expect(await t.store.patch(stored.key, patch)).toBe(true);
    });
    expect(ran).toEqual(commands);
    const ttlAfter = await t.probe.pttl(hashKey(stored.key));
    expect(ttlAfter).toBeGreaterThan(0);
    expect(ttlAfter).toBeLessThanOrEqual(ttlBefore);
    expect(await t.store.get(stored.key)).toEqual(expected);
    if (stored.userId !== null) {
      expect((await t.store.listByUser(stored.userId)).map((r) => r.key)).toContain(stored.key);
    }
  }

  it('applies a set-only patch of existing fields as one HSET, no script, and leaves the TTL alone', async () => {
    const stored = record({ userId: 'patch-plain', meta: { ip: '198.51.100.1' } });
    await t.store.create(stored);
    // The first patch of a meta key adds its own field over the packed `_m` (settled by the
    // script); from then on that key is an existing field like a data key.
    expect(await t.store.patch(stored.key, { meta: { ip: '198.51.100.3' } })).toBe(true);
    await expectPatched(
      stored,
      { set: { count: 2 }, meta: { ip: '198.51.100.2' } },
      { hset: 1 },
      { ...stored, data: { count: 2 }, meta: { ip: '198.51.100.2' } },
    );
  });

  it('settles a set-only patch that adds a field with the small settling script', async () => {
    const stored = record();
    await t.store.create(stored);
    await t.store.patch(stored.key, { set: { warm: 1 } }); // loads the script (NOSCRIPT → EVAL)
    const ran = await commandsDuring(t.probe, async () => {
      expect(
        await t.store.patch(stored.key, { set: { added: 'x' }, authAt: stored.createdAt + 3 }),
      ).toBe(true);
    });
    expect(ran).toMatchObject({ hset: 1, evalsha: 1 });
    expect(ran).not.toHaveProperty('del');
    expect(await t.store.get(stored.key)).toEqual({
      ...stored,
      data: { count: 1, warm: 1, added: 'x' },
      authAt: stored.createdAt + 3,
    });
  });

  it('answers false, and leaves nothing, when Redis has already expired the session', async () => {
    const t0 = Date.now();
    const stored = record({ expiresAt: t0 + 40 });
    await t.store.create(stored);
    await new Promise((resolve) => setTimeout(resolve, 80));
    // Every field of the patch existed before the expiry: Redis drops the hash on access, so the
    // HSET creates it anew and the settling step sees no session.
    expect(await t.store.patch(stored.key, { set: { count: 5 } })).toBe(false);
    expect(await t.probe.exists(hashKey(stored.key))).toBe(0);
    expect(await t.store.get(stored.key)).toBeNull();
  });

  it('leaves nothing behind when a set-only patch finds no session', async () => {
    const key = record().key;
    const ran = await commandsDuring(t.probe, async () => {
      expect(await t.store.patch(key, { set: { count: 2 } })).toBe(false);
    });
    // The HSET created the hash; the settling script found no fixed fields and deleted it.
    expect(ran).toMatchObject({ hset: 1, del: 1 });
    expect(await t.probe.exists(hashKey(key))).toBe(0);
    expect(await t.store.get(key)).toBeNull();
  });

  it('purges a hash with no fixed fields (a set-only patch cut off before its clean-up)', async () => {
    const live = record();
    await t.store.create(live);
    const orphan = record().key;
    await t.probe.hset(hashKey(orphan), 'd:count', '9');
    expect(await t.store.get(orphan)).toBeNull();
    expect(await t.store.purgeExpired()).toBe(0);
    expect(await t.probe.exists(hashKey(orphan))).toBe(0);
    expect(await t.store.get(live.key)).toEqual(live);
  });

  it('applies a patch that moves lastSeenAt with one script call (HGET, HSET inside)', async () => {
    const stored = record({ userId: 'patch-user', meta: { ip: '198.51.100.1' } });
    await t.store.create(stored);
    // Loads the script (NOSCRIPT → EVAL).
    await t.store.patch(stored.key, { set: { count: 1 }, lastSeenAt: stored.lastSeenAt });
    await expectPatched(
      stored,
      { set: { count: 2 }, meta: { ip: '198.51.100.2' }, lastSeenAt: stored.lastSeenAt + 5 },
      { evalsha: 1, hget: 1, hset: 1 },
      {
        ...stored,
        data: { count: 2 },
        meta: { ip: '198.51.100.2' },
        lastSeenAt: stored.lastSeenAt + 5,
      },
    );
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
      const stored = record({ data: { k0: 0, k1: 0, k2: 0, k3: 0 } });
      await t.store.create(stored);
      const patch = (i: number): Promise<boolean> =>
        t.store.patch(stored.key, { set: { [`k${i}`]: i + 10 } });
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

  it('leaves nothing readable when patches of one field race its delete', async () => {
    for (let round = 0; round < 20; round++) {
      const stored = record();
      await t.store.create(stored);
      const patch = (n: number): Promise<boolean> =>
        t.store.patch(stored.key, { set: { count: n } });
      const results = await Promise.all([
        patch(2),
        t.store.delete(stored.key).then(() => null),
        patch(3),
        patch(4),
      ]);
      expect(results.slice(0, 3)).toEqual([true, null, false]);
      // The last patch's HSET finds the field the one before it wrote into the re-created hash,
      // so it may answer true (docs/stores.md); either way nothing of it can be read.
      expect(await t.probe.exists(hashKey(stored.key))).toBe(0);
      expect(await t.store.get(stored.key)).toBeNull();
      expect(await t.store.patch(stored.key, { set: { count: 5 } })).toBe(false);
      expect(await t.probe.exists(hashKey(stored.key))).toBe(0);
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

  it('answers false to a patch of a session expired on the (injected) store clock', async () => {
    const t0 = Date.now();
    const clock = createManualClock(t0);
    const clocked = createRedisStore({ url: redis.url }, { prefix: PREFIX, now: clock.now });
    try {
      const expiring = makeRecord(t0, { data: { a: 1 }, expiresAt: t0 + 60_000 });
      await clocked.create(expiring);
      const ttl = await t.probe.pttl(hashKey(expiring.key));
      clock.set(t0 + 60_000);
      // Through the small script: false, and nothing written.
      const before = await t.probe.hgetall(hashKey(expiring.key));
      expect(await clocked.patch(expiring.key, { set: { b: 3 }, unset: ['a'] })).toBe(false);
      expect(await t.probe.hgetall(hashKey(expiring.key))).toEqual(before);
      // Set-only (HSET, then the settling script): false, and the session stays gone.
      expect(await clocked.patch(expiring.key, { set: { a: 2 } })).toBe(false);
      expect(await clocked.get(expiring.key)).toBeNull();
      expect(await clocked.touch(expiring.key, t0 + 60_000, t0 + 120_000)).toBe(false);
      expect(await clocked.get(expiring.key)).toBeNull();
      // The hash keeps the expiry Redis drops it at: the field the HSET wrote goes with it.
      const left = await t.probe.pttl(hashKey(expiring.key));
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(ttl);
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
