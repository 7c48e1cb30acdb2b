/**
 * Two app instances (two store objects with their own connections) on one Redis and on one
 * PostgreSQL: what one writes the other reads, the per-user session cap holds across them,
 * and with the read cache on, a revocation on one instance is honoured by the other within
 * one second.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  generateHandle,
  generateSessionId,
  hashSessionId,
} from '../packages/session/src/shared/ids.js';
import {
  type CachedStore,
  withReadCache,
} from '../packages/session/src/stores/cache/read-cache.js';
import { createPostgresInvalidation } from '../packages/session/src/stores/postgres/postgres-invalidation.js';
import { createPostgresStore } from '../packages/session/src/stores/postgres/postgres-store.js';
import { createRedisInvalidation } from '../packages/session/src/stores/redis/redis-invalidation.js';
import { createRedisStore } from '../packages/session/src/stores/redis/redis-store.js';
import type { SessionRecord, Store } from '../packages/session/src/stores/store.js';
import { startPostgresServer } from './support/postgres-server.js';
import { startRedisCluster, startRedisServer } from './support/redis-server.js';

const redis = await startRedisServer();
const cluster = await startRedisCluster();
const postgres = await startPostgresServer();
afterAll(async () => {
  await Promise.all([redis.destroy(), cluster.destroy(), postgres.destroy()]);
});

function record(userId: string): SessionRecord {
  const now = Date.now();
  return {
    key: hashSessionId(generateSessionId()),
    handle: generateHandle(),
    userId,
    data: { cart: [] },
    meta: { strategy: 'server' },
    createdAt: now,
    lastSeenAt: now,
    authAt: now,
    expiresAt: now + 600_000,
    absoluteExpiresAt: now + 3_600_000,
  };
}

/** Polls `check` every 5 ms; answers how long it took to become true. */
async function msUntil(limitMs: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > limitMs) throw new Error(`not true within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return Date.now() - started;
}

interface Backend {
  name: string;
  plain(): Store;
  cached(): { store: CachedStore; connected(): boolean };
}

const backends: Backend[] = [
  {
    name: 'redis',
    plain: () => createRedisStore({ url: redis.url }),
    cached: () => {
      const store = createRedisStore({ url: redis.url });
      const invalidation = createRedisInvalidation(store);
      return {
        store: withReadCache(store, { invalidation }),
        connected: () => invalidation.connected,
      };
    },
  },
  {
    name: 'redis cluster',
    plain: () => createRedisStore({ url: cluster.url }),
    cached: () => {
      const store = createRedisStore({ url: cluster.url });
      const invalidation = createRedisInvalidation(store);
      return {
        store: withReadCache(store, { invalidation }),
        connected: () => invalidation.connected,
      };
    },
  },
  {
    name: 'postgres',
    plain: () => createPostgresStore({ connectionString: postgres.connectionString }),
    cached: () => {
      const store = createPostgresStore({ connectionString: postgres.connectionString });
      const invalidation = createPostgresInvalidation(store);
      return {
        store: withReadCache(store, { invalidation }),
        connected: () => invalidation.connected,
      };
    },
  },
];

describe.each(backends)('two instances on one $name', (backend) => {
  it('see each other’s sessions, patches and revocations', async () => {
    const a = backend.plain();
    const b = backend.plain();
    const user = `two-${generateHandle()}`;
    const first = record(user);
    const second = { ...record(user), createdAt: first.createdAt + 1 };
    await a.create(first);
    await b.create(second);
    expect(await b.get(first.key)).toEqual(first);
    expect(await a.getByHandle(second.handle)).toEqual(second);
    const both = await Promise.all([
      a.patch(first.key, { set: { fromA: 1 } }),
      b.patch(first.key, { set: { fromB: 2 } }),
    ]);
    expect(both).toEqual([true, true]);
    expect((await a.get(first.key))?.data).toEqual({ cart: [], fromA: 1, fromB: 2 });
    // Existing keys again (on Redis: a lone HSET each).
    const again = await Promise.all([
      b.patch(first.key, { set: { fromA: 3 } }),
      a.patch(first.key, { set: { fromB: 4 } }),
    ]);
    expect(again).toEqual([true, true]);
    expect((await b.get(first.key))?.data).toEqual({ cart: [], fromA: 3, fromB: 4 });
    expect((await b.listByUser(user)).map((r) => r.key)).toEqual([first.key, second.key]);
    expect(await a.deleteByUser(user)).toBe(2);
    expect(await b.get(second.key)).toBeNull();
    // A patch of a key the revoked session had, from the other instance, brings nothing back.
    expect(await b.patch(first.key, { set: { fromA: 5 } })).toBe(false);
    expect(await a.get(first.key)).toBeNull();
    expect(await a.getByHandle(first.handle)).toBeNull();
    await a.close();
    await b.close();
  });

  it('keep the per-user cap across instances: ten parallel logins on two instances leave 2 (issue 11, finding 3)', async () => {
    for (const onLimit of ['refuse', 'evict-oldest'] as const) {
      const a = backend.plain();
      const b = backend.plain();
      const user = `cap-${generateHandle()}`;
      const create = (store: Store, r: SessionRecord) =>
        store.createWithinLimit?.(r, { maxPerUser: 2, onLimit });
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => create(i % 2 === 0 ? a : b, record(user))),
      );
      const created = results.filter((r) => r?.created).length;
      expect(created).toBe(onLimit === 'refuse' ? 2 : 10);
      expect(await a.listByUser(user)).toHaveLength(2);
      expect(await b.listByUser(user)).toHaveLength(2);
      await a.close();
      await b.close();
    }
  });

  it('with the read cache, honour a revocation made on the other instance within one second', async () => {
    const a = backend.cached();
    const b = backend.cached();
    await msUntil(5000, async () => a.connected() && b.connected());
    const user = `cached-${generateHandle()}`;
    const timings: number[] = [];
    for (let round = 0; round < 5; round++) {
      const session = record(user);
      await a.store.create(session);
      // Instance B serves the session from its cache…
      expect(await b.store.get(session.key)).toEqual(session);
      const hits = b.store.cacheStats().hits;
      expect(await b.store.get(session.key)).toEqual(session);
      expect(b.store.cacheStats().hits).toBe(hits + 1);
      // …until instance A revokes it.
      if (round % 2 === 0) await a.store.delete(session.key);
      else await a.store.deleteByUser(user);
      timings.push(await msUntil(1000, async () => (await b.store.get(session.key)) === null));
    }
    console.log(`${backend.name}: revocation seen by the other instance after ms`, timings);
    expect(Math.max(...timings)).toBeLessThan(1000);
    await a.store.close();
    await b.store.close();
  });
});
