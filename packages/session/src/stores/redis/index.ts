/**
 * `tessera-session/stores/redis`: the Redis store (standalone, Sentinel or Cluster, through ioredis)
 * and its invalidation channel for `withReadCache`.
 * @module tessera-session/stores/redis
 */
export { createRedisInvalidation } from './redis-invalidation.js';
export type {
  RedisClient,
  RedisConnection,
  RedisStore,
  RedisStoreOptions,
} from './redis-store.js';
export { connectRedis, createRedisStore } from './redis-store.js';
