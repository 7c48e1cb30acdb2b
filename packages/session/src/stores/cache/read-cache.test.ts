import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startRedisServer } from '../../../../../test/support/redis-server.js';
import { makeRecord } from '../conformance/index.js';
import { createRedisInvalidation } from '../redis/redis-invalidation.js';
import { createRedisStore } from '../redis/redis-store.js';
import type { SessionRecord } from '../store.js';
import { type CachedStore, withReadCache } from './read-cache.js';

const redis = await startRedisServer();
afterAll(() => redis.destroy());

function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = Date.now();
  return makeRecord(now, {
    userId: 'cache-user',
    data: { n: 0 },
    expiresAt: now + 60_000,
    absoluteExpiresAt: now + 3_600_000,
    ...overrides,
  });
}

/** Polls until `check` is true; answers how long it took (ms). */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`not true within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return Date.now() - started;
}

function cachedRedis(options: { ttlMs?: number; maxEntries?: number; now?: () => number } = {}) {
  const store = createRedisStore({ url: redis.url }, { prefix: 'cache:' });
  const invalidation = createRedisInvalidation(store);
  return { cached: withReadCache(store, { invalidation, ...options }), invalidation };
}

describe('withReadCache on Redis', () => {
  let a: CachedStore;
  let b: CachedStore;
  let clock = 0;
  beforeEach(async () => {
    clock = Date.now();
    a = cachedRedis({ now: () => clock }).cached;
    b = cachedRedis({ now: () => clock }).cached;
    // Wait until both channels listen, so the test measures invalidation, not start-up.
    const probe = record();
    await a.create(probe);
    await within(2000, async () => {
      await b.get(probe.key);
      await a.patch(probe.key, { set: { ping: true } });
      return (await b.get(probe.key))?.data.ping === true;
    });
  });
  afterEach(async () => {
    await a.close();
    await b.close();
  });

  it('serves repeated reads from the cache, as copies', async () => {
    const stored = record();
    await a.create(stored);
    const before = a.cacheStats();
    const first = await a.get(stored.key);
    (first!.data as Record<string, unknown>).n = 99;
    const second = await a.get(stored.key);
    expect(second).toEqual(stored);
    expect(a.cacheStats().hits - before.hits).toBe(1);
    expect(a.cacheStats().misses - before.misses).toBe(1);
  });

  it('drops an entry on every instance when another instance patches, deletes or revokes', async () => {
    const stored = record();
    await a.create(stored);
    expect((await b.get(stored.key))?.data.n).toBe(0);
    await a.patch(stored.key, { set: { n: 1 } });
    await within(1000, async () => (await b.get(stored.key))?.data.n === 1);

    await a.delete(stored.key);
    await within(1000, async () => (await b.get(stored.key)) === null);

    const mine = [record({ userId: 'everywhere' }), record({ userId: 'everywhere' })];
    for (const r of mine) {
      await a.create(r);
      await b.get(r.key);
    }
    await a.deleteByUser('everywhere');
    await within(1000, async () => (await b.get(mine[0]!.key)) === null);
    expect(await b.get(mine[1]!.key)).toBeNull();
  });

  it('serves a cached record no longer than ttlMs, and never past its expiresAt', async () => {
    const stored = record({ expiresAt: clock + 5000 });
    await a.create(stored);
    await a.get(stored.key);
    clock += 999;
    const hits = a.cacheStats().hits;
    await a.get(stored.key);
    expect(a.cacheStats().hits).toBe(hits + 1);
    clock += 1;
    await a.get(stored.key);
    expect(a.cacheStats().hits).toBe(hits + 1);
  });
});

describe('withReadCache limits', () => {
  it('keeps at most maxEntries records', async () => {
    const { cached } = cachedRedis({ maxEntries: 3 });
    const records = Array.from({ length: 5 }, () => record());
    for (const r of records) {
      await cached.create(r);
      await cached.get(r.key);
    }
    expect(cached.cacheStats().size).toBe(3);
    await cached.close();
  });

  it('bypasses the cache while the channel is disconnected', async () => {
    const { cached, invalidation } = cachedRedis();
    const stored = record();
    await cached.create(stored);
    await within(2000, async () => invalidation.connected);
    await invalidation.close();
    await cached.get(stored.key);
    await cached.get(stored.key);
    expect(cached.cacheStats().hits).toBe(0);
    await cached.close().catch(() => {});
  });

  it('refuses to cache without an invalidation channel', () => {
    const store = createRedisStore({ url: redis.url });
    expect(() => withReadCache(store, { invalidation: undefined as never })).toThrow(
      /invalidation/,
    );
    return store.close();
  });
});
