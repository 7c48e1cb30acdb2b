/**
 * The Redis invalidation channel for `withReadCache`: PUBLISH on `<prefix>invalidate`, and a
 * dedicated subscriber connection (a duplicate of the store's client; on Cluster the message
 * reaches every node).
 */
import type { Cluster, Redis } from 'ioredis';
import { requirePeer } from '../../shared/require-peer.js';
import type { CacheInvalidation } from '../cache/read-cache.js';
import type { RedisStore } from './redis-store.js';

const ioredis = requirePeer<typeof import('ioredis')>('ioredis', 'tessera-session/stores/redis');

/**
 * A channel shared by every store instance that uses the same Redis and prefix.
 * @example
 * const redis = createRedisStore({ url });
 * const store = withReadCache(redis, { invalidation: createRedisInvalidation(redis) });
 */
export function createRedisInvalidation(store: RedisStore): CacheInvalidation {
  const channel = `${store.prefix}invalidate`;
  const client = store.client;
  const subscriber: Redis | Cluster =
    client instanceof ioredis.Cluster ? client.duplicate() : client.duplicate();
  const listeners: Array<(message: string) => void> = [];
  let subscribed = false;
  let closed = false;

  const emit = (message: string): void => {
    for (const listener of listeners) listener(message);
  };
  subscriber.on('error', () => {
    // Disconnects show as `connected === false`; ioredis reconnects by itself.
  });
  subscriber.on('message', (from: string, message: string) => {
    if (from === channel) emit(message);
  });
  const markDown = (): void => {
    subscribed = false;
  };
  subscriber.on('close', markDown);
  subscriber.on('reconnecting', markDown);
  subscriber.on('end', markDown);
  subscriber.on('ready', () => {
    // ioredis re-subscribes on reconnect; the first subscribe happens below.
    if (closed) return;
    subscriber
      .subscribe(channel)
      .then(() => {
        subscribed = true;
        emit('*');
      })
      .catch(markDown);
  });

  return {
    async publish(message) {
      await store.client.publish(channel, message);
    },
    subscribe(listener) {
      listeners.push(listener);
    },
    get connected() {
      return subscribed && !closed;
    },
    async close() {
      closed = true;
      subscribed = false;
      subscriber.disconnect();
    },
  };
}
