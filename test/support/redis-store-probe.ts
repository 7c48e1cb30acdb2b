/**
 * A Redis store and a plain ioredis client to look at what it wrote, for one `describe` block
 * of store tests: both made before its tests and closed after them.
 * @example
 * const t = redisStoreAndProbe(redis.url, 'patch:');
 * it('…', async () => { await t.store.create(record); await t.probe.hgetall(key); });
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import {
  createRedisStore,
  type RedisStore,
  type RedisStoreOptions,
} from '../../packages/session/src/stores/redis/redis-store.js';

/** Filled in by `beforeAll`: read the fields inside tests, not when the block is declared. */
export interface StoreAndProbe {
  store: RedisStore;
  probe: Redis;
}

export function redisStoreAndProbe(
  url: string,
  prefix: string,
  options: Omit<RedisStoreOptions, 'prefix'> = {},
): StoreAndProbe {
  const context = {} as StoreAndProbe;
  beforeAll(() => {
    context.store = createRedisStore({ url }, { ...options, prefix });
    context.probe = new Redis(url);
  });
  afterAll(async () => {
    await context.store.close();
    context.probe.disconnect();
  });
  return context;
}
