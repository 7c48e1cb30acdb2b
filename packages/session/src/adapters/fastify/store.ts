/**
 * `Store` and `MemoryStore` as @fastify/session exports them: a callback-style store over a
 * `Map` (the raw session ID as key), an EventEmitter like express-session's stores. It is the
 * plugin's default store, as in @fastify/session: one process only, never expired by itself,
 * not for production (use a Tessera store: SQLite, Redis, PostgreSQL).
 */
import { EventEmitter } from 'node:events';

type Callback = (error?: unknown, value?: unknown) => void;

/**
 * The in-memory callback store.
 * @example await app.register(tessera, { secret, store: new MemoryStore() });
 */
export class MemoryStore extends EventEmitter {
  /** The sessions by ID (a `Map` the app may pass in, as with @fastify/session). */
  readonly store: Map<string, unknown>;

  constructor(storeMap: Map<string, unknown> = new Map()) {
    super();
    this.store = storeMap;
  }

  set(sessionId: string, session: unknown, callback: Callback): void {
    this.store.set(sessionId, session);
    callback();
  }

  get(sessionId: string, callback: Callback): void {
    callback(null, this.store.get(sessionId));
  }

  destroy(sessionId: string, callback: Callback): void {
    this.store.delete(sessionId);
    callback();
  }
}

/** @fastify/session's other name for the same class. */
export const Store = MemoryStore;
