import { describe, expect, it } from 'vitest';
import { TesseraError } from '../shared/errors.js';
import { createMemoryStore } from '../stores/memory/index.js';
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
