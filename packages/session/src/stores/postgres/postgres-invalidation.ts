/**
 * The PostgreSQL invalidation channel for `withReadCache`: NOTIFY on `<table>_invalidate`, and
 * one pooled connection kept for LISTEN. When that connection drops, the channel reports
 * itself disconnected (the cache is bypassed) and reconnects every half second.
 */
import type { Notification, Pool, PoolClient } from 'pg';
import type { CacheInvalidation } from '../cache/read-cache.js';
import type { PostgresStore } from './postgres-store.js';

const RECONNECT_MS = 500;

/**
 * A channel shared by every store instance on the same database and table.
 * @example
 * const pgStore = createPostgresStore({ connectionString });
 * const store = withReadCache(pgStore, { invalidation: createPostgresInvalidation(pgStore) });
 */
export function createPostgresInvalidation(store: PostgresStore): CacheInvalidation {
  const pool = store.pool as Pool;
  const channel = store.tables.channel;
  const listeners: Array<(message: string) => void> = [];
  let client: PoolClient | null = null;
  let listening = false;
  let closed = false;
  let retry: NodeJS.Timeout | null = null;

  const emit = (message: string): void => {
    for (const listener of listeners) listener(message);
  };
  const onNotification = (message: Notification): void => {
    if (message.channel === channel && message.payload !== undefined) emit(message.payload);
  };

  function lost(): void {
    listening = false;
    const dead = client;
    client = null;
    if (dead) {
      dead.off('notification', onNotification);
      dead.release(true);
    }
    schedule();
  }

  function schedule(): void {
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = null;
      void listen();
    }, RECONNECT_MS);
    retry.unref();
  }

  async function listen(): Promise<void> {
    if (closed) return;
    let fresh: PoolClient | null = null;
    try {
      fresh = await pool.connect();
      fresh.on('error', lost);
      fresh.on('notification', onNotification);
      client = fresh;
      await fresh.query(`LISTEN "${channel}"`);
      if (closed) return;
      listening = true;
      // Anything sent while we were not listening is lost: start from an empty cache.
      emit('*');
    } catch {
      if (fresh && client === fresh) lost();
      else schedule();
    }
  }
  void listen();

  return {
    async publish(message) {
      await pool.query('SELECT pg_notify($1, $2)', [channel, message]);
    },
    subscribe(listener) {
      listeners.push(listener);
    },
    get connected() {
      return listening && !closed;
    },
    async close() {
      closed = true;
      listening = false;
      if (retry) clearTimeout(retry);
      const current = client;
      client = null;
      if (current) {
        current.off('notification', onNotification);
        current.off('error', lost);
        try {
          await current.query(`UNLISTEN "${channel}"`);
          current.release();
        } catch {
          current.release(true);
        }
      }
    },
  };
}
