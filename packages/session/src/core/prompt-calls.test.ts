// The manager's hot-path calls (`loadNow`, `commitNow`, `touchNow`) answer the memory store's
// sessions without a promise; every answer must match what `load`, `commit` and `touch` give,
// and a store method an app replaced must still be the one called.
import { describe, expect, it } from 'vitest';
import type { LifecycleManager } from '../http/request-session.js';
import { createManualClock } from '../stores/conformance/manual-clock.js';
import { createMemoryStore } from '../stores/memory/index.js';
import type { Store } from '../stores/store.js';
import { createSessionManager, type SessionManager } from './manager.js';

type HotManager = SessionManager &
  Required<Pick<LifecycleManager, 'loadNow' | 'commitNow' | 'touchNow'>>;

const T0 = Date.UTC(2030, 0, 1);

function setup(options: { idleTimeout?: number } = {}) {
  const clock = createManualClock(T0);
  const store = createMemoryStore({ now: clock.now });
  const manager = createSessionManager({ store, now: clock.now, ...options }) as HotManager;
  return { clock, store, manager };
}

describe('the manager’s hot-path calls on the memory store', () => {
  it('loads a stored session as a value, with the data load() gives', async () => {
    const { manager } = setup();
    const created = await manager.create({ data: { n: 1 } });
    const now = manager.loadNow(created.id);
    expect(now).not.toBeInstanceOf(Promise);
    const later = await manager.load(created.id);
    expect((now as { toJSON(): unknown }).toJSON()).toEqual({ n: 1 });
    expect((now as { toJSON(): unknown }).toJSON()).toEqual(later?.toJSON());
    expect(manager.loadNow('not a session id')).toBeNull();
  });

  it('applies a patch within the call, so the store holds it when commitNow returns', async () => {
    const { manager, store } = setup();
    const created = await manager.create({ data: { n: 1 } });
    const session = manager.loadNow(created.id) as NonNullable<
      Awaited<ReturnType<HotManager['load']>>
    >;
    session.set('n', 2);
    expect(manager.commitNow(session)).toBe(true);
    expect((await store.get(session.key))?.data).toEqual({ n: 2 });
    // Nothing pending any more: nothing to write.
    expect(manager.commitNow(session)).toBe(false);
  });

  it('stores a new session within the call, with its created event', async () => {
    const { manager, store } = setup();
    const created: string[] = [];
    manager.on('created', (event) => created.push(event.handle));
    const session = manager.draft({ data: { n: 1 } });
    expect(manager.commitNow(session)).toBe(true);
    expect(session.isNew).toBe(false);
    expect((await store.get(session.key))?.data).toEqual({ n: 1 });
    expect(created).toEqual([session.handle]);
  });

  it('refuses to save into a session revoked meanwhile, as commit() does', async () => {
    const { manager } = setup();
    const created = await manager.create();
    const session = manager.loadNow(created.id) as NonNullable<
      Awaited<ReturnType<HotManager['load']>>
    >;
    await manager.destroy(created.id);
    session.set('n', 1);
    const answer = manager.commitNow(session);
    expect(answer).toBeInstanceOf(Promise);
    await expect(answer).rejects.toMatchObject({ code: 'ERR_SESSION_NOT_FOUND' });
  });

  it('ends a session past a tightened idle timeout with its event, as load() does', async () => {
    const { manager, clock, store } = setup();
    const created = await manager.create();
    // The same store under a shorter idle timeout: the record is live in the store, but the
    // manager's limit has passed.
    const strict = createSessionManager({ store, now: clock.now, idleTimeout: 60 }) as HotManager;
    const expired: string[] = [];
    strict.on('expired', (event) => expired.push(event.reason));
    clock.advance(61_000);
    await expect(Promise.resolve(strict.loadNow(created.id))).resolves.toBeNull();
    expect(expired).toEqual(['idle']);
    expect(await store.get(created.key)).toBeNull();
  });

  it('answers a closed store’s error as a rejected promise with its code, never a throw', async () => {
    const { manager, store } = setup();
    const created = await manager.create();
    const session = await manager.load(created.id);
    const fresh = manager.draft();
    session!.set('n', 1);
    await store.close();
    for (const answer of [
      manager.loadNow(created.id),
      manager.touchNow(session!),
      manager.commitNow(session!),
      manager.commitNow(fresh),
    ]) {
      expect(answer).toBeInstanceOf(Promise);
      await expect(answer).rejects.toMatchObject({ code: 'ERR_STORE_CLOSED' });
    }
  });

  it('calls a store method the app replaced, and keeps the deadline around it', async () => {
    const store = createMemoryStore();
    const manager = createSessionManager({ store, storeTimeout: 50 }) as HotManager;
    const created = await manager.create({ data: { n: 1 } });
    const calls: string[] = [];
    const original = { get: store.get.bind(store), patch: store.patch.bind(store) };
    (store as { get: Store['get'] }).get = (key) => {
      calls.push('get');
      return original.get(key);
    };
    (store as { patch: Store['patch'] }).patch = (key, patch) => {
      calls.push('patch');
      return original.patch(key, patch);
    };
    const session = await manager.loadNow(created.id);
    session!.set('n', 2);
    expect(await manager.commitNow(session!)).toBe(true);
    expect(calls).toEqual(['get', 'patch']);
    (store as { get: Store['get'] }).get = () => new Promise(() => {});
    await expect(manager.loadNow(created.id)).rejects.toMatchObject({
      code: 'ERR_STORE_UNAVAILABLE',
    });
  });
});
