/**
 * The invalidated read cache for remote stores (`withReadCache`) and the channel type the
 * Redis and PostgreSQL stores implement.
 * @module tessera-session/stores/cache
 */
export type {
  CachedStore,
  CacheInvalidation,
  ReadCacheOptions,
} from './read-cache.js';
export { withReadCache } from './read-cache.js';
