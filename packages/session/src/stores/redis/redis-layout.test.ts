/**
 * The Redis store's hash layout on a real Redis: the fixed fields packed into `_p`, and
 * sessions written before that layout (six separate fields), which every operation must still
 * read, and which move to the packed layout when a script rewrites their fixed fields.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startRedisServer } from '../../../../../test/support/redis-server.js';
import { redisStoreAndProbe } from '../../../../../test/support/redis-store-probe.js';
import { makeRecord } from '../conformance/index.js';
import { createManualClock } from '../conformance/manual-clock.js';
import type { SessionRecord } from '../store.js';
import { createRedisStore } from './redis-store.js';

const redis = await startRedisServer();
afterAll(() => redis.destroy());

const PREFIX = 'layout:';
const hashKey = (key: string): string => `${PREFIX}s:{${key}}`;
const SEPARATE = ['_e', '_l', '_c', '_x', '_b', '_h'];

describe('redis store hash layout', () => {
  const t = redisStoreAndProbe(redis.url, PREFIX);

  function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
    return makeRecord(Date.now(), {
      data: { count: 1 },
      meta: { ip: '198.51.100.7' },
      ...overrides,
    });
  }

  /** Writes `stored` the way the store did before `_p`: separate fixed fields, TTL, indexes. */
  async function writeSeparate(stored: SessionRecord): Promise<void> {
    const bound = Math.max(stored.expiresAt, stored.absoluteExpiresAt);
    const fields: Record<string, string> = {
      _h: stored.handle,
      _c: String(stored.createdAt),
      _l: String(stored.lastSeenAt),
      _e: String(stored.expiresAt),
      _x: String(stored.absoluteExpiresAt),
      _b: String(bound),
    };
    if (stored.userId !== null) fields._u = stored.userId;
    if (stored.authAt !== null) fields._a = String(stored.authAt);
    for (const [name, value] of Object.entries(stored.data))
      fields[`d:${name}`] = JSON.stringify(value);
    for (const [name, value] of Object.entries(stored.meta))
      fields[`m:${name}`] = JSON.stringify(value);
    await t.probe.hset(hashKey(stored.key), fields);
    await t.probe.pexpireat(hashKey(stored.key), stored.expiresAt);
    await t.probe.set(`${PREFIX}h:{${stored.handle}}`, stored.key, 'PXAT', bound);
    if (stored.userId !== null)
      await t.probe.zadd(`${PREFIX}u:{${stored.userId}}`, bound, stored.key);
  }

  async function fieldNames(key: string): Promise<string[]> {
    return (await t.probe.hkeys(hashKey(key))).sort();
  }

  it('writes a new session as one packed field, its data keys and one meta field', async () => {
    const stored = record({ userId: 'layout-user', authAt: Date.now() });
    await t.store.create(stored);
    expect(await fieldNames(stored.key)).toEqual(['_a', '_m', '_p', '_u', 'd:count']);
    expect(JSON.parse((await t.probe.hget(hashKey(stored.key), '_m')) as string)).toEqual(
      stored.meta,
    );
    const packed = await t.probe.hget(hashKey(stored.key), '_p');
    expect(packed).toBe(
      [
        stored.expiresAt,
        stored.lastSeenAt,
        stored.createdAt,
        stored.absoluteExpiresAt,
        Math.max(stored.expiresAt, stored.absoluteExpiresAt),
        stored.handle,
      ].join('|'),
    );
    expect(await t.store.get(stored.key)).toEqual(stored);
  });

  it('keeps a handle that contains the separator', async () => {
    const stored = record({ handle: 'odd|handle|value', userId: 'layout-pipe' });
    await t.store.create(stored);
    expect(await t.store.get(stored.key)).toEqual(stored);
    expect(await t.store.getByHandle('odd|handle|value')).toEqual(stored);
    expect(await t.store.touch(stored.key, stored.lastSeenAt + 1, stored.expiresAt + 1000)).toBe(
      true,
    );
    expect((await t.store.get(stored.key))?.handle).toBe('odd|handle|value');
    expect((await t.store.listByUser('layout-pipe')).map((r) => r.handle)).toEqual([
      'odd|handle|value',
    ]);
  });

  it('treats a malformed packed field as no session', async () => {
    const stored = record();
    await t.store.create(stored);
    await t.probe.hset(hashKey(stored.key), '_p', 'not-a-packed-value');
    expect(await t.store.get(stored.key)).toBeNull();
    // A set-only patch of a new field runs the settling script: false. (One of an existing
    // field is a lone HSET that cannot see `_p`; either way the hash stays unreadable.)
    expect(await t.store.patch(stored.key, { set: { other: 2 } })).toBe(false);
    expect(await t.store.get(stored.key)).toBeNull();
    await t.store.patch(stored.key, { set: { count: 2 } });
    expect(await t.store.get(stored.key)).toBeNull();
    expect(await t.store.touch(stored.key, Date.now(), Date.now() + 60_000)).toBe(false);
    expect(await t.probe.hget(hashKey(stored.key), '_p')).toBe('not-a-packed-value');
    // Cut short after a live expiry: a patch that must rewrite it refuses, and writes nothing.
    await t.probe.hset(hashKey(stored.key), '_p', `${Date.now() + 60_000}|1`);
    expect(await t.store.get(stored.key)).toBeNull();
    const before = await t.probe.hgetall(hashKey(stored.key));
    const patch = { set: { count: 3 }, unset: ['gone'], lastSeenAt: Date.now() };
    expect(await t.store.patch(stored.key, patch)).toBe(false);
    expect(await t.probe.hgetall(hashKey(stored.key))).toEqual(before);
  });

  describe('meta patches over the packed `_m`', () => {
    const meta = { strategy: 'server', ip: '198.51.100.7', userAgent: 'agent/1' };

    async function expectMeta(key: string, userId: string, expected: object): Promise<void> {
      expect((await t.store.get(key))?.meta).toEqual(expected);
      const listed = (await t.store.listByUser(userId)).find((r) => r.key === key);
      expect(listed?.meta).toEqual(expected);
    }

    it('sets, removes and sets back keys held in `_m`, which no patch rewrites', async () => {
      const stored = record({ userId: 'meta-overlay', meta });
      await t.store.create(stored);
      const packed = await t.probe.hget(hashKey(stored.key), '_m');

      expect(
        await t.store.patch(stored.key, { meta: { ip: '203.0.113.9', userAgent: undefined } }),
      ).toBe(true);
      await expectMeta(stored.key, 'meta-overlay', { strategy: 'server', ip: '203.0.113.9' });
      expect(await fieldNames(stored.key)).toEqual(
        ['_m', '_p', '_u', 'd:count', 'm:ip', 'x:userAgent'].sort(),
      );
      expect(await t.probe.hget(hashKey(stored.key), '_m')).toBe(packed);

      expect(await t.store.patch(stored.key, { meta: { userAgent: 'agent/2' } })).toBe(true);
      await expectMeta(stored.key, 'meta-overlay', {
        ...meta,
        ip: '203.0.113.9',
        userAgent: 'agent/2',
      });

      expect(
        await t.store.patch(stored.key, { meta: { userAgent: undefined, ip: undefined } }),
      ).toBe(true);
      await expectMeta(stored.key, 'meta-overlay', { strategy: 'server' });

      // A removed key that was never set, and a new key, on the lone-HSET and script paths.
      expect(await t.store.patch(stored.key, { meta: { absent: undefined, fresh: [] } })).toBe(
        true,
      );
      await expectMeta(stored.key, 'meta-overlay', { strategy: 'server', fresh: [] });
    });

    it('lets a separate-layout instance remove a key that a packed instance wrote in `_m`', async () => {
      const old = createRedisStore({ url: redis.url }, { prefix: PREFIX, layout: 'separate' });
      try {
        const stored = record({ userId: 'meta-mixed', meta });
        await t.store.create(stored);
        expect(await old.patch(stored.key, { meta: { ip: undefined } })).toBe(true);
        const expected = { strategy: 'server', userAgent: 'agent/1' };
        expect((await old.get(stored.key))?.meta).toEqual(expected);
        await expectMeta(stored.key, 'meta-mixed', expected);
      } finally {
        await old.close();
      }
    });

    it('writes no `_m` for a session without meta', async () => {
      const stored = record({ meta: {} });
      await t.store.create(stored);
      expect(await fieldNames(stored.key)).toEqual(['_p', 'd:count']);
      expect(await t.store.get(stored.key)).toEqual(stored);
    });

    it('refuses a corrupted `_m` with ERR_STORE_DATA', async () => {
      const stored = record();
      await t.store.create(stored);
      for (const bad of ['{"ip":', '["ip"]', 'null', '7']) {
        await t.probe.hset(hashKey(stored.key), '_m', bad);
        await expect(t.store.get(stored.key)).rejects.toMatchObject({ code: 'ERR_STORE_DATA' });
      }
    });
  });

  describe('a session written before the packed layout', () => {
    it('reads as it was stored (get, getByHandle, listByUser)', async () => {
      const stored = record({ userId: 'legacy-read', authAt: Date.now() - 1000 });
      await writeSeparate(stored);
      expect(await t.store.get(stored.key)).toEqual(stored);
      expect(await t.store.getByHandle(stored.handle)).toEqual(stored);
      expect(await t.store.listByUser('legacy-read')).toEqual([stored]);
    });

    it('takes a data patch (with lastSeenAt) in its own layout', async () => {
      const stored = record();
      await writeSeparate(stored);
      const patch = { set: { count: 2 }, unset: [], lastSeenAt: stored.lastSeenAt + 7 };
      expect(await t.store.patch(stored.key, patch)).toBe(true);
      expect(await t.store.get(stored.key)).toEqual({
        ...stored,
        data: { count: 2 },
        lastSeenAt: stored.lastSeenAt + 7,
      });
      expect(await t.probe.hexists(hashKey(stored.key), '_p')).toBe(0);
    });

    it('takes a set-only patch in its own layout (a lone HSET; the settling script reads _e)', async () => {
      const stored = record();
      await writeSeparate(stored);
      expect(await t.store.patch(stored.key, { set: { count: 5 } })).toBe(true);
      expect(await t.store.get(stored.key)).toEqual({ ...stored, data: { count: 5 } });
      expect(await t.probe.hexists(hashKey(stored.key), '_p')).toBe(0);
      // Expired on the store clock: false, and the hash is not deleted (it holds a session).
      const t0 = Date.now();
      const clock = createManualClock(t0);
      const clocked = createRedisStore({ url: redis.url }, { prefix: PREFIX, now: clock.now });
      try {
        clock.set(stored.expiresAt);
        expect(await clocked.patch(stored.key, { set: { count: 6 } })).toBe(false);
        expect(await clocked.get(stored.key)).toBeNull();
        expect(await t.probe.hget(hashKey(stored.key), '_e')).toBe(String(stored.expiresAt));
      } finally {
        await clocked.close();
      }
    });

    it('moves to the packed layout on touch, keeping every value', async () => {
      const stored = record({ userId: 'legacy-touch' });
      await writeSeparate(stored);
      const expiresAt = stored.expiresAt + 60_000;
      expect(await t.store.touch(stored.key, stored.lastSeenAt + 5, expiresAt)).toBe(true);
      const names = await fieldNames(stored.key);
      expect(names).toContain('_p');
      for (const name of SEPARATE) expect(names).not.toContain(name);
      expect(await t.store.get(stored.key)).toEqual({
        ...stored,
        lastSeenAt: stored.lastSeenAt + 5,
        expiresAt,
      });
      expect(await t.probe.pttl(hashKey(stored.key))).toBeGreaterThan(
        expiresAt - Date.now() - 5_000,
      );
    });

    it('moves to the packed layout on a user change, and the user index follows', async () => {
      const stored = record({ userId: 'legacy-from' });
      await writeSeparate(stored);
      expect(await t.store.patch(stored.key, { userId: 'legacy-to', set: { count: 3 } })).toBe(
        true,
      );
      const names = await fieldNames(stored.key);
      for (const name of SEPARATE) expect(names).not.toContain(name);
      expect(await t.store.get(stored.key)).toEqual({
        ...stored,
        userId: 'legacy-to',
        data: { count: 3 },
      });
      expect(await t.store.listByUser('legacy-from')).toEqual([]);
      expect((await t.store.listByUser('legacy-to')).map((r) => r.key)).toEqual([stored.key]);
      expect(await t.store.getByHandle(stored.handle)).not.toBeNull();
    });

    it('is deleted by delete and deleteByUser', async () => {
      const one = record({ userId: 'legacy-del' });
      const two = record({ userId: 'legacy-del' });
      await writeSeparate(one);
      await writeSeparate(two);
      expect(await t.store.delete(one.key)).toBe(true);
      expect(await t.probe.exists(hashKey(one.key))).toBe(0);
      expect(await t.store.getByHandle(one.handle)).toBeNull();
      expect(await t.store.deleteByUser('legacy-del')).toBe(1);
      expect(await t.probe.exists(hashKey(two.key))).toBe(0);
    });

    it('counts toward the per-user cap and is evicted as the oldest', async () => {
      const old = record({ userId: 'legacy-cap', createdAt: Date.now() - 10_000 });
      await writeSeparate(old);
      const next = record({ userId: 'legacy-cap' });
      const result = await t.store.createWithinLimit?.(next, {
        maxPerUser: 1,
        onLimit: 'evict-oldest',
      });
      expect(result?.created).toBe(true);
      expect(result?.evicted.map((e) => e.key)).toEqual([old.key]);
      expect(await t.store.get(old.key)).toBeNull();
    });
  });

  it('purges an expired session in either layout, and keeps live ones', async () => {
    const clock = createManualClock(Date.now());
    const timed = createRedisStore({ url: redis.url }, { prefix: 'layout-purge:', now: clock.now });
    const key = (k: string): string => `layout-purge:s:{${k}}`;
    try {
      const packed = makeRecord(clock.now(), { expiresAt: clock.now() + 1000 });
      const separate = makeRecord(clock.now(), { expiresAt: clock.now() + 1000 });
      const live = makeRecord(clock.now(), { expiresAt: clock.now() + 3_600_000 });
      await timed.create(packed);
      await timed.create(live);
      await t.probe.hset(key(separate.key), {
        _h: separate.handle,
        _c: String(separate.createdAt),
        _l: String(separate.lastSeenAt),
        _e: String(separate.expiresAt),
        _x: String(separate.absoluteExpiresAt),
        _b: String(separate.absoluteExpiresAt),
      });
      await t.probe.pexpire(key(separate.key), 3_600_000);
      clock.advance(2000);
      expect(await timed.purgeExpired()).toBe(2);
      expect(await t.probe.exists(key(packed.key), key(separate.key))).toBe(0);
      expect(await timed.get(live.key)).toEqual(live);
    } finally {
      await timed.close();
    }
  });

  describe("with layout: 'separate' (a rolling upgrade from an earlier version)", () => {
    const old = redisStoreAndProbe(redis.url, PREFIX, { layout: 'separate' });

    it('writes new sessions as separate fields, which an earlier version reads', async () => {
      const stored = record({ userId: 'separate-new' });
      await old.store.create(stored);
      expect(await fieldNames(stored.key)).toEqual(
        [...SEPARATE.slice().sort(), '_u', 'd:count', 'm:ip'].sort(),
      );
      expect(await t.probe.hmget(hashKey(stored.key), '_e', '_l', '_c', '_x', '_h')).toEqual([
        String(stored.expiresAt),
        String(stored.lastSeenAt),
        String(stored.createdAt),
        String(stored.absoluteExpiresAt),
        stored.handle,
      ]);
      // The packed store reads it too.
      expect(await t.store.get(stored.key)).toEqual(stored);
    });

    it('keeps a separate-field session separate on touch and full patch', async () => {
      const stored = record({ userId: 'separate-keep' });
      await writeSeparate(stored);
      const expiresAt = stored.expiresAt + 60_000;
      expect(await old.store.touch(stored.key, stored.lastSeenAt + 3, expiresAt)).toBe(true);
      expect(
        await old.store.patch(stored.key, { userId: 'separate-kept', authAt: stored.createdAt }),
      ).toBe(true);
      const names = await fieldNames(stored.key);
      expect(names).not.toContain('_p');
      for (const name of SEPARATE) expect(names).toContain(name);
      expect(await t.probe.hmget(hashKey(stored.key), '_l', '_e', '_u')).toEqual([
        String(stored.lastSeenAt + 3),
        String(expiresAt),
        'separate-kept',
      ]);
      expect(await old.store.get(stored.key)).toEqual({
        ...stored,
        userId: 'separate-kept',
        authAt: stored.createdAt,
        lastSeenAt: stored.lastSeenAt + 3,
        expiresAt,
      });
      expect((await old.store.listByUser('separate-kept')).map((r) => r.key)).toEqual([stored.key]);
    });

    it('leaves a packed session packed', async () => {
      const stored = record();
      await t.store.create(stored);
      expect(await old.store.touch(stored.key, stored.lastSeenAt + 1, stored.expiresAt + 1)).toBe(
        true,
      );
      expect(await fieldNames(stored.key)).toEqual(['_m', '_p', 'd:count']);
    });

    it('refuses any other layout', () => {
      expect(() => createRedisStore({ url: redis.url }, { layout: 'compact' as never })).toThrow(
        expect.objectContaining({ code: 'ERR_CONFIG' }),
      );
    });
  });
});
