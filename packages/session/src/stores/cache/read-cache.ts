/**
 * A small local read cache in front of a remote store (Redis, PostgreSQL). `get` is served
 * from a bounded LRU for a short time; every write that changes a session (patch, touch,
 * delete, deleteByUser) on any instance drops the entry on every instance through an
 * invalidation channel (Redis pub/sub, PostgreSQL LISTEN/NOTIFY). The short TTL bounds
 * staleness even when a message is lost, and while the channel is disconnected the cache is
 * bypassed entirely, so a revocation is honoured everywhere within `ttlMs`.
 */
import { TesseraError } from '../../shared/errors.js';
import type { CreateWithinLimitResult, SessionRecord, Store, UserSessionLimit } from '../store.js';

/**
 * A channel that carries invalidation messages between instances: `k:<key>` for one session,
 * `*` for everything. `createRedisInvalidation` and `createPostgresInvalidation` make one.
 */
export interface CacheInvalidation {
  /** Sends a message to every instance (the sender included). */
  publish(message: string): Promise<void>;
  /**
   * Delivers every message to `listener`, plus a `*` each time the channel (re)connects,
   * since messages sent while it was away are lost.
   */
  subscribe(listener: (message: string) => void): void;
  /** False while messages may be missed; the cache is bypassed then. */
  readonly connected: boolean;
  close(): Promise<void>;
}

export interface ReadCacheOptions {
  /**
   * Most records kept (a count).
   * @defaultValue 1000
   */
  maxEntries?: number;
  /**
   * Milliseconds a cached record is served (the bound on how late a revocation is seen).
   * @defaultValue 1000
   */
  ttlMs?: number;
  /** The channel shared by all instances. Required: a cache without it would serve revoked sessions. */
  invalidation: CacheInvalidation;
  /**
   * Clock in milliseconds since the epoch, for the TTL.
   * @defaultValue Date.now
   */
  now?: () => number;
}

/** A store with a read cache; `cacheStats()` reports hits and misses. */
export interface CachedStore extends Store {
  cacheStats(): { size: number; hits: number; misses: number };
}

interface Entry {
  record: SessionRecord;
  cachedAt: number;
}

/**
 * Wraps `store` with an invalidated read cache. `close()` closes the channel and the store.
 * @example
 * const redis = createRedisStore({ url });
 * const store = withReadCache(redis, { invalidation: createRedisInvalidation(redis) });
 */
export function withReadCache(store: Store, options: ReadCacheOptions): CachedStore {
  const maxEntries = options.maxEntries ?? 1000;
  const ttlMs = options.ttlMs ?? 1000;
  const now = options.now ?? Date.now;
  const invalidation = options.invalidation;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new TesseraError('ERR_CONFIG', 'withReadCache: `maxEntries` must be a positive integer.');
  }
  if (!Number.isFinite(ttlMs) || ttlMs < 0) {
    throw new TesseraError(
      'ERR_CONFIG',
      'withReadCache: `ttlMs` must be a number of ms, 0 or more.',
    );
  }
  if (!invalidation || typeof invalidation.publish !== 'function') {
    throw new TesseraError(
      'ERR_CONFIG',
      'withReadCache: `invalidation` is required (createRedisInvalidation or createPostgresInvalidation).',
    );
  }

  const entries = new Map<string, Entry>();
  // Bumped by every invalidation: a read that started before one must not fill the cache.
  let generation = 0;
  let hits = 0;
  let misses = 0;

  const drop = (message: string): void => {
    generation++;
    if (message === '*') entries.clear();
    else if (message.startsWith('k:')) entries.delete(message.slice(2));
  };
  invalidation.subscribe(drop);

  async function announce(message: string): Promise<void> {
    drop(message);
    try {
      await invalidation.publish(message);
    } catch {
      // The write itself succeeded; other instances' entries still die within ttlMs.
    }
  }

  const cached: CachedStore = {
    kind: store.kind,

    async get(key) {
      const entry = entries.get(key);
      if (entry && invalidation.connected) {
        const at = now();
        if (at - entry.cachedAt < ttlMs && entry.record.expiresAt > at) {
          entries.delete(key);
          entries.set(key, entry);
          hits++;
          return structuredClone(entry.record);
        }
        entries.delete(key);
      }
      misses++;
      const before = generation;
      const record = await store.get(key);
      if (record && ttlMs > 0 && before === generation && invalidation.connected) {
        entries.set(key, { record: structuredClone(record), cachedAt: now() });
        if (entries.size > maxEntries) {
          const oldest = entries.keys().next().value as string;
          entries.delete(oldest);
        }
      }
      return record;
    },

    getByHandle: (handle) => store.getByHandle(handle),
    create: (record) => store.create(record),
    ...(typeof store.createWithinLimit === 'function'
      ? {
          async createWithinLimit(record: SessionRecord, limit: UserSessionLimit) {
            const result = (await store.createWithinLimit?.(
              record,
              limit,
            )) as CreateWithinLimitResult;
            for (const evicted of result.evicted) await announce(`k:${evicted.key}`);
            return result;
          },
        }
      : {}),

    async patch(key, patch) {
      const changed = await store.patch(key, patch);
      await announce(`k:${key}`);
      return changed;
    },

    async touch(key, lastSeenAt, expiresAt) {
      const changed = await store.touch(key, lastSeenAt, expiresAt);
      await announce(`k:${key}`);
      return changed;
    },

    async delete(key) {
      const deleted = await store.delete(key);
      await announce(`k:${key}`);
      return deleted;
    },

    listByUser: (userId) => store.listByUser(userId),

    async deleteByUser(userId, exceptKey) {
      const count = await store.deleteByUser(userId, exceptKey);
      // Which keys went is not known here without another query; everyone drops everything.
      await announce('*');
      return count;
    },

    purgeExpired: () => store.purgeExpired(),
    kvGet: (ns, key) => store.kvGet(ns, key),
    kvSet: (ns, key, value, expiresAt, setOptions) =>
      store.kvSet(ns, key, value, expiresAt, setOptions),
    kvDelete: (ns, key) => store.kvDelete(ns, key),
    kvList: (ns) => store.kvList(ns),

    async close() {
      entries.clear();
      try {
        await invalidation.close();
      } finally {
        await store.close();
      }
    },

    cacheStats: () => ({ size: entries.size, hits, misses }),
  };
  return cached;
}
