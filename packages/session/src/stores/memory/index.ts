/**
 * `tessera-session/stores/memory`: the in-process store for development, tests and single-process
 * tools (bounded, LRU eviction, expiry-aware).
 * @example
 * import { createMemoryStore } from 'tessera-session/stores/memory';
 * const store = createMemoryStore({ maxEntries: 10_000 });
 * @module tessera-session/stores/memory
 */
export type { MemoryStore, MemoryStoreOptions, MemoryStoreStats } from './memory-store.js';
export { createMemoryStore } from './memory-store.js';
