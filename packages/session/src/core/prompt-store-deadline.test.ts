import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TesseraError } from '../shared/errors.js';
import { generateSessionId } from '../shared/ids.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { createRedisStore } from '../stores/redis/index.js';
import type { Store } from '../stores/store.js';
import { createSessionManager } from './manager.js';

const hang = (): Promise<never> => new Promise<never>(() => {});

describe('store-call deadline around the memory store', () => {
  it('still bounds a Proxy around the memory store whose get hangs', async () => {
    const inner = createMemoryStore();
    let broken = false;
    const proxy = new Proxy(inner, {
      get(target, property, receiver) {
        if (property === 'get' && broken) return hang;
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as Store;
    const manager = createSessionManager({ store: proxy, storeTimeout: 50 });
    const session = await manager.create();
    broken = true;
    await expect(manager.load(session.id)).rejects.toMatchObject({
      code: 'ERR_STORE_UNAVAILABLE',
    });
  });

  it('still bounds a memory store whose get was replaced on the instance', async () => {
    const store = createMemoryStore();
    const manager = createSessionManager({ store, storeTimeout: 50 });
    const session = await manager.create();
    (store as { get: Store['get'] }).get = hang;
    await expect(manager.load(session.id)).rejects.toMatchObject({
      code: 'ERR_STORE_UNAVAILABLE',
    });
  });

  it("still bounds a memory store whose class's get was replaced after it was made", async () => {
    const store = createMemoryStore();
    const manager = createSessionManager({ store, storeTimeout: 50 });
    const session = await manager.create();
    const proto = Object.getPrototypeOf(store) as { get: Store['get'] };
    const original = proto.get;
    proto.get = hang;
    try {
      await expect(manager.load(session.id)).rejects.toMatchObject({
        code: 'ERR_STORE_UNAVAILABLE',
      });
    } finally {
      proto.get = original;
    }
  });

  it('maps a failure of the memory store itself as before', async () => {
    const store = createMemoryStore();
    const manager = createSessionManager({ store });
    const session = await manager.create();
    await store.close();
    const error = await manager.load(session.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TesseraError);
    expect((error as TesseraError).code).toBe('ERR_STORE_CLOSED');
  });
});

describe('store-call deadline around the Redis store (it bounds its own calls)', () => {
  // The manager arms no deadline of its own around this store's calls, since the store
  // bounds each one; these cases must keep the manager's, and would hang without it.
  let silent: Server;
  let url: string;
  beforeAll(async () => {
    // A listening socket that never speaks Redis: connect succeeds, commands hang.
    silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    url = `redis://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(() => {
    silent.close();
  });

  async function loadFailsWithin(store: Store, storeTimeout: number): Promise<number> {
    const manager = createSessionManager({ store, storeTimeout });
    const started = Date.now();
    await expect(manager.load(generateSessionId())).rejects.toMatchObject({
      code: 'ERR_STORE_UNAVAILABLE',
    });
    return Date.now() - started;
  }

  it('fails by the store’s own timeout when that is the shorter one', async () => {
    const hung = createRedisStore({ url }, { timeoutMs: 200 });
    try {
      expect(await loadFailsWithin(hung, 60_000)).toBeLessThan(2000);
    } finally {
      await hung.close();
    }
  });

  it('still fails by storeTimeout when that is shorter than the store’s timeoutMs', async () => {
    const hung = createRedisStore({ url }, { timeoutMs: 60_000 });
    try {
      expect(await loadFailsWithin(hung, 200)).toBeLessThan(2000);
    } finally {
      hung.client.disconnect(); // close() would wait for QUIT as long as timeoutMs
      await hung.close();
    }
  });

  it('still bounds a method replaced on the store instance', async () => {
    const store = createRedisStore({ url }, { timeoutMs: 200 });
    try {
      store.get = hang;
      expect(await loadFailsWithin(store, 200)).toBeLessThan(2000);
    } finally {
      await store.close();
    }
  });
});
