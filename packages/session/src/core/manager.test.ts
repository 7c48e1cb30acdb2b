import { describe, expect, it } from 'vitest';
import { TesseraError } from '../shared/errors.js';
import { hashSessionId } from '../shared/ids.js';
import { recordStoreCalls } from '../stores/conformance/index.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { STORE_METHODS, type Store } from '../stores/store.js';
import type { SessionEventName, SessionEvents } from './events.js';
import { createSessionManager } from './manager.js';
import type { SessionManagerOptions } from './options.js';

const MINUTE = 60_000;

function setup(options: Partial<SessionManagerOptions> = {}) {
  let time = 1_800_000_000_000;
  const clock = {
    now: () => time,
    advance: (ms: number) => {
      time += ms;
    },
  };
  const inner = createMemoryStore({ now: clock.now });
  const { store, calls } = recordStoreCalls(inner);
  const manager = createSessionManager({ store, now: clock.now, ...options });
  const events: Array<{ name: SessionEventName; event: unknown }> = [];
  for (const name of [
    'created',
    'regenerated',
    'touched',
    'expired',
    'revoked',
    'destroyed',
    'anomaly',
  ] as const) {
    manager.on(name, (event: SessionEvents[typeof name]) => events.push({ name, event }));
  }
  return { manager, store, inner, clock, calls, events };
}

const writes = (calls: string[]) =>
  calls.filter((call) => !['get', 'getByHandle', 'listByUser', 'kvGet', 'kvList'].includes(call));

describe('session manager', () => {
  it('creates a session the store knows only by the hash of its ID', async () => {
    const { manager, inner } = setup();
    const session = await manager.create({ data: { theme: 'dark' } });
    expect(session.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await inner.get(session.id)).toBeNull();
    const record = await inner.get(hashSessionId(session.id));
    expect(record?.data).toEqual({ theme: 'dark' });
    const loaded = await manager.load(session.id);
    expect(loaded?.get('theme')).toBe('dark');
    expect(loaded?.handle).toBe(session.handle);
  });

  it('refuses malformed IDs without asking the store', async () => {
    const { manager, calls } = setup();
    const bad = ['', 'abc', 'x'.repeat(43), `${'A'.repeat(42)}B`, `${'A'.repeat(42)}=`, '💥'];
    for (const id of bad) expect(await manager.load(id)).toBeNull();
    expect(await manager.load(undefined)).toBeNull();
    expect(calls).toEqual([]);
  });

  it('looks up app-generated IDs (draft({ id })) only with customIds, stored hashed', async () => {
    const strict = setup();
    expect(await strict.manager.load('tenant:42')).toBeNull();
    expect(strict.calls).toEqual([]);
    const { manager, inner } = setup({ customIds: true });
    const session = manager.draft({ id: 'tenant:42' });
    session.set('a', 1);
    await manager.commit(session);
    expect(await inner.get('tenant:42')).toBeNull();
    expect((await manager.load('tenant:42'))?.get('a')).toBe(1);
    expect(() => manager.draft({ id: 'has space' })).toThrow(TesseraError);
    expect(await manager.load('x'.repeat(257))).toBeNull();
  });

  it('gives a session with its own meta.idleTimeout that idle window instead of the configured one', async () => {
    const { manager, clock } = setup({ idleTimeout: 60, absoluteTimeout: 86_400 });
    const long = manager.draft({ data: { k: 1 } });
    long.meta = { ...long.meta, idleTimeout: 3600 };
    await manager.commit(long);
    const short = await manager.create({ data: { k: 2 } });
    clock.advance(30 * MINUTE);
    expect(await manager.load(short.id)).toBeNull();
    const loaded = await manager.load(long.id);
    expect(loaded?.get('k')).toBe(1);
    // Changing it moves the expiry with the patch.
    loaded?.updateMeta({ idleTimeout: 7200 });
    await manager.commit(loaded!);
    clock.advance(100 * MINUTE);
    expect((await manager.load(long.id))?.get('k')).toBe(1);
  });

  it('never adopts an ID it did not issue', async () => {
    const { manager, inner } = setup();
    const forged = 'A'.repeat(43);
    expect(await manager.load(forged)).toBeNull();
    const fresh = await manager.create();
    expect(fresh.id).not.toBe(forged);
    expect(await inner.get(hashSessionId(forged))).toBeNull();
  });

  it('expires an idle session', async () => {
    const { manager, clock } = setup({ idleTimeout: 30 * 60 });
    const session = await manager.create();
    clock.advance(30 * MINUTE - 1);
    expect(await manager.load(session.id)).not.toBeNull();
    clock.advance(30 * MINUTE);
    expect(await manager.load(session.id)).toBeNull();
  });

  it('applies tightened timeouts to sessions stored under the old ones, and says why', async () => {
    const { manager, inner, clock } = setup({ idleTimeout: 1800, absoluteTimeout: 43_200 });
    const idle = await manager.login(null, 'alice');
    const busy = await manager.login(null, 'bob');
    const stricter = createSessionManager({
      store: inner,
      now: clock.now,
      idleTimeout: 600,
      absoluteTimeout: 3600,
      touchInterval: 60,
    });
    const expired: Array<{ handle: string; reason: string }> = [];
    stricter.on('expired', (event) => expired.push({ handle: event.handle, reason: event.reason }));
    clock.advance(5 * MINUTE);
    expect(await stricter.load(busy.id)).not.toBeNull();
    // 11 minutes idle: past the new 10-minute limit, though stored under the old 30.
    clock.advance(6 * MINUTE);
    expect(await stricter.load(idle.id)).toBeNull();
    // Active every 9 minutes, but past the new 1-hour absolute limit at 65 minutes.
    for (let i = 0; i < 6; i++) {
      expect(await stricter.load(busy.id)).not.toBeNull();
      clock.advance(9 * MINUTE);
    }
    expect(await stricter.load(busy.id)).toBeNull();
    expect(expired).toEqual([
      { handle: idle.handle, reason: 'idle' },
      { handle: busy.handle, reason: 'absolute' },
    ]);
  });

  it('slides the idle timeout with throttled writes', async () => {
    const { manager, clock, calls } = setup({ idleTimeout: 1800, touchInterval: 60 });
    const session = await manager.create();
    calls.length = 0;
    clock.advance(30_000);
    await manager.load(session.id);
    expect(writes(calls)).toEqual([]); // within the touch interval: read-only
    clock.advance(40_000);
    await manager.load(session.id);
    expect(writes(calls)).toEqual(['touch']);
    // Activity every 20 minutes keeps it alive well past the first idle deadline.
    for (let i = 0; i < 5; i++) {
      clock.advance(20 * MINUTE);
      expect(await manager.load(session.id)).not.toBeNull();
    }
  });

  it('ends a session at its absolute lifetime however active it is', async () => {
    const { manager, clock } = setup({ idleTimeout: 1800, absoluteTimeout: 3600 });
    const login = await manager.login(null, 'alice');
    for (let i = 0; i < 5; i++) {
      clock.advance(11 * MINUTE);
      expect(await manager.load(login.id)).not.toBeNull();
    }
    clock.advance(6 * MINUTE);
    expect(await manager.load(login.id)).toBeNull();
  });

  it('writes nothing when nothing changed, and only the changed keys otherwise', async () => {
    const { manager, calls, inner } = setup();
    const session = await manager.create({ data: { a: 1, b: 2 } });
    const loaded = await manager.load(session.id);
    calls.length = 0;
    expect(await manager.commit(loaded!)).toBe(false);
    expect(calls).toEqual([]);
    loaded!.set('a', 10);
    loaded!.delete('b');
    await manager.commit(loaded!);
    expect(calls).toEqual(['patch']);
    expect((await inner.get(session.key))?.data).toEqual({ a: 10 });
  });

  it('keeps both writes when two requests change different keys', async () => {
    const { manager } = setup();
    const session = await manager.create({ data: { counter: 0 } });
    const copies = await Promise.all(Array.from({ length: 20 }, () => manager.load(session.id)));
    for (const [i, copy] of copies.entries()) copy!.set(`key${i}`, i);
    await Promise.all(copies.map((copy) => manager.commit(copy!)));
    const after = await manager.load(session.id);
    for (let i = 0; i < 20; i++) expect(after!.get(`key${i}`)).toBe(i);
    expect(after!.get('counter')).toBe(0);
  });

  it('regenerates: new ID, same data and handle, old ID dead', async () => {
    const { manager, events } = setup();
    const session = await manager.create({ data: { cart: [1, 2] } });
    session.set('step', 2);
    const next = await manager.regenerate(session);
    expect(next.id).not.toBe(session.id);
    expect(next.handle).toBe(session.handle);
    expect(await manager.load(session.id)).toBeNull();
    const loaded = await manager.load(next.id);
    expect(loaded!.toJSON()).toEqual({ cart: [1, 2], step: 2 });
    expect(events.find((e) => e.name === 'regenerated')).toBeTruthy();
  });

  it('issues a new ID at login and binds the user', async () => {
    const { manager, clock } = setup();
    const anonymous = await manager.create({ data: { cart: ['book'] } });
    clock.advance(MINUTE);
    const session = await manager.login(anonymous, 'alice', { ip: '203.0.113.9', userAgent: 'x' });
    expect(session.id).not.toBe(anonymous.id);
    expect(session.handle).not.toBe(anonymous.handle);
    expect(session.userId).toBe('alice');
    expect(session.authAt).toBe(clock.now());
    expect(await manager.load(anonymous.id)).toBeNull();
    expect((await manager.load(session.id))!.get('cart')).toEqual(['book']);
  });

  it('lists and revokes a user’s sessions', async () => {
    const { manager, clock } = setup();
    const phone = await manager.login(null, 'alice', { userAgent: 'Mobile Safari/1 Safari/604' });
    clock.advance(1000);
    const laptop = await manager.login(null, 'alice', { userAgent: 'Firefox/120' });
    const other = await manager.login(null, 'bob');
    const list = await manager.listUserSessions('alice');
    expect(list.map((s) => s.handle)).toEqual([phone.handle, laptop.handle]);
    expect(JSON.stringify(list)).not.toContain(phone.id);
    // Bob cannot revoke Alice's session by handle.
    expect(await manager.revoke(phone.handle, { userId: 'bob' })).toBe(false);
    expect(await manager.revoke(phone.handle, { userId: 'alice' })).toBe(true);
    expect(await manager.load(phone.id)).toBeNull();
    await manager.login(null, 'alice');
    expect(await manager.revokeUserSessions('alice', { except: laptop })).toBe(1);
    expect(await manager.load(laptop.id)).not.toBeNull();
    expect(await manager.revokeUserSessions('alice')).toBe(1);
    expect(await manager.load(laptop.id)).toBeNull();
    expect(await manager.load(other.id)).not.toBeNull();
  });

  it('caps sessions per user by evicting the oldest', async () => {
    const { manager, clock } = setup({ maxSessionsPerUser: 2 });
    const first = await manager.login(null, 'alice');
    clock.advance(1);
    const second = await manager.login(null, 'alice');
    clock.advance(1);
    const third = await manager.login(null, 'alice');
    expect(await manager.load(first.id)).toBeNull();
    expect(await manager.load(second.id)).not.toBeNull();
    expect(await manager.load(third.id)).not.toBeNull();
  });

  it('caps sessions per user by refusing when configured', async () => {
    const { manager } = setup({ maxSessionsPerUser: 1, onSessionLimit: 'refuse' });
    await manager.login(null, 'alice');
    await expect(manager.login(null, 'alice')).rejects.toMatchObject({ code: 'ERR_SESSION_LIMIT' });
  });

  it('turns a store that hangs or fails into ERR_STORE_UNAVAILABLE', async () => {
    const { inner } = setup();
    const hanging = { ...bind(inner), get: () => new Promise<never>(() => {}) } as Store;
    const manager = createSessionManager({ store: hanging, storeTimeout: 50 });
    const session = await manager.create();
    await expect(manager.load(session.id)).rejects.toMatchObject({
      code: 'ERR_STORE_UNAVAILABLE',
    });
    const failing = {
      ...bind(inner),
      get: () => Promise.reject(new Error('ECONNREFUSED')),
    } as Store;
    const second = createSessionManager({ store: failing });
    const error = await second.load(session.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TesseraError);
    expect((error as TesseraError).code).toBe('ERR_STORE_UNAVAILABLE');
    expect((error as TesseraError).cause).toBeInstanceOf(Error);
  });

  it('reports a session used from another browser family, and revokes when asked to', async () => {
    const chrome = 'Mozilla/5.0 (X11) AppleWebKit/537.36 Chrome/120.0 Safari/537.36';
    const firefox = 'Mozilla/5.0 (X11; rv:120.0) Gecko/20100101 Firefox/120.0';
    const noted = setup();
    const s1 = await noted.manager.login(null, 'alice', { userAgent: chrome, ip: '198.51.100.7' });
    const again = await noted.manager.load(s1.id, { userAgent: firefox, ip: '198.51.100.7' });
    expect(again).not.toBeNull();
    const anomaly = noted.events.find((e) => e.name === 'anomaly')
      ?.event as SessionEvents['anomaly'];
    expect(anomaly).toMatchObject({ kind: 'user-agent', previous: 'Chrome', current: 'Firefox' });
    // A change of address within the same network is not reported.
    const count = noted.events.length;
    await noted.manager.commit(again!);
    await noted.manager.load(s1.id, { userAgent: firefox, ip: '198.51.100.99' });
    expect(noted.events.slice(count).some((e) => e.name === 'anomaly')).toBe(false);

    const strict = setup({ onAnomaly: 'revoke' });
    const s2 = await strict.manager.login(null, 'alice', { userAgent: chrome, ip: '198.51.100.7' });
    expect(await strict.manager.load(s2.id, { userAgent: chrome, ip: '192.0.2.1' })).toBeNull();
    expect(await strict.manager.load(s2.id)).toBeNull();
  });

  it('never puts a raw session ID in an event', async () => {
    const { manager, events, clock } = setup();
    const session = await manager.login(null, 'alice');
    const next = await manager.regenerate(session);
    clock.advance(2 * MINUTE);
    await manager.load(next.id);
    await manager.destroy(next);
    const text = JSON.stringify(events);
    for (const id of [session.id, next.id]) expect(text).not.toContain(id);
    expect(events.map((e) => e.name)).toEqual(['created', 'regenerated', 'touched', 'destroyed']);
  });

  it('refuses bad options with ERR_CONFIG naming the option', () => {
    const store = createMemoryStore();
    const cases: Array<[Partial<SessionManagerOptions>, RegExp]> = [
      [{ idleTimeout: -1 }, /idleTimeout/],
      [{ idleTimeout: 100, absoluteTimeout: 50 }, /absoluteTimeout/],
      [{ maxSessionsPerUser: 0 }, /maxSessionsPerUser/],
      [{ onSessionLimit: 'drop' as never }, /onSessionLimit/],
      [{ touchInterval: 5000 }, /touchInterval/],
    ];
    for (const [options, message] of cases) {
      expect(() => createSessionManager({ store, ...options })).toThrow(message);
    }
    expect(() => createSessionManager({} as SessionManagerOptions)).toThrow(/store/);
  });

  it('purges expired sessions', async () => {
    const { manager, clock } = setup({ idleTimeout: 60, touchInterval: 10 });
    await manager.create();
    await manager.create();
    clock.advance(61_000);
    const live = await manager.create();
    expect(await manager.purgeExpired()).toBe(2);
    expect(await manager.load(live.id)).not.toBeNull();
  });

  it('keeps an unsaved draft out of the store until committed', async () => {
    const { manager, calls } = setup();
    const draft = manager.draft({ ip: '127.0.0.1' });
    expect(calls).toEqual([]);
    expect(await manager.load(draft.id)).toBeNull();
    draft.set('x', 1);
    await manager.commit(draft);
    expect((await manager.load(draft.id))!.get('x')).toBe(1);
  });
});

describe('session manager: login hands over data only within one user (issue 11, finding 2)', () => {
  it('starts the next user with empty data: alice’s isAdmin and cart never reach mallory', async () => {
    const { manager } = setup();
    const alice = await manager.login(null, 'alice');
    alice.set('isAdmin', true);
    alice.set('cart', ['book']);
    alice.updateMeta({ cookieMaxAge: 999 });
    await manager.commit(alice);
    const loaded = (await manager.load(alice.id))!;
    const mallory = await manager.login(loaded, 'mallory');
    expect(mallory.userId).toBe('mallory');
    expect(mallory.toJSON()).toEqual({});
    expect(mallory.meta.cookieMaxAge).toBeUndefined();
    expect((await manager.load(mallory.id))!.toJSON()).toEqual({});
    expect(await manager.load(alice.id)).toBeNull();
  });

  it('keeps an anonymous session’s data (a cart filled before signing in) and the same user’s', async () => {
    const { manager } = setup();
    const anonymous = await manager.create({ data: { cart: ['book'] } });
    const alice = await manager.login(anonymous, 'alice');
    expect(alice.toJSON()).toEqual({ cart: ['book'] });
    alice.set('theme', 'dark');
    await manager.commit(alice);
    const again = await manager.login((await manager.load(alice.id))!, 'alice');
    expect(again.toJSON()).toEqual({ cart: ['book'], theme: 'dark' });
    const draft = manager.draft({ data: { lang: 'fr' } });
    expect((await manager.login(draft, 'bob')).toJSON()).toEqual({ lang: 'fr' });
  });

  it('hands nothing on from a session of the same user revoked while the request ran', async () => {
    const { manager } = setup();
    const alice = await manager.login(null, 'alice', {});
    alice.set('isAdmin', true);
    await manager.commit(alice);
    const loaded = (await manager.load(alice.id))!;
    await manager.revoke(loaded.handle);
    const next = await manager.login(loaded, 'alice');
    expect(next.toJSON()).toEqual({});
  });
});

describe('session manager: regenerate never resurrects (issue 11, finding 8)', () => {
  it('refuses to regenerate a session revoked mid-request, and stores nothing', async () => {
    const { manager } = setup();
    const alice = await manager.login(null, 'alice');
    alice.set('isAdmin', true);
    await manager.commit(alice);
    const loaded = (await manager.load(alice.id))!;
    await manager.revokeUserSessions('alice');
    await expect(manager.regenerate(loaded)).rejects.toMatchObject({
      code: 'ERR_SESSION_NOT_FOUND',
    });
    expect(await manager.listUserSessions('alice')).toEqual([]);
    expect(await manager.load(alice.id)).toBeNull();
  });

  it('still regenerates a live session with its data and handle', async () => {
    const { manager } = setup();
    const alice = await manager.login(null, 'alice');
    const next = await manager.regenerate((await manager.load(alice.id))!);
    expect(next.id).not.toBe(alice.id);
    expect(next.handle).toBe(alice.handle);
    expect(await manager.load(alice.id)).toBeNull();
    expect(await manager.load(next.id)).not.toBeNull();
  });
});

describe('session manager: the per-user cap under parallel logins (issue 11, finding 3)', () => {
  it('refuse: ten parallel logins with a cap of 2 leave exactly 2 live sessions', async () => {
    const { manager } = setup({ maxSessionsPerUser: 2, onSessionLimit: 'refuse' });
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => manager.login(null, 'alice')),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'ERR_SESSION_LIMIT' });
    }
    expect(await manager.listUserSessions('alice')).toHaveLength(2);
  });

  it('evict-oldest: ten parallel logins with a cap of 2 leave exactly 2 live sessions', async () => {
    const { manager, events } = setup({ maxSessionsPerUser: 2 });
    const sessions = await Promise.all(
      Array.from({ length: 10 }, () => manager.login(null, 'alice')),
    );
    const live = await manager.listUserSessions('alice');
    expect(live).toHaveLength(2);
    let alive = 0;
    for (const s of sessions) if (await manager.load(s.id)) alive++;
    expect(alive).toBe(2);
    const limitRevocations = events.filter(
      (e) => e.name === 'revoked' && (e.event as { reason: string }).reason === 'limit',
    );
    expect(limitRevocations).toHaveLength(8);
  });

  it('a refused login leaves the anonymous session it came from as it was', async () => {
    const { manager } = setup({ maxSessionsPerUser: 1, onSessionLimit: 'refuse' });
    await manager.login(null, 'alice');
    const anonymous = await manager.create({ data: { cart: ['book'] } });
    await expect(manager.login(anonymous, 'alice')).rejects.toMatchObject({
      code: 'ERR_SESSION_LIMIT',
    });
    expect((await manager.load(anonymous.id))?.toJSON()).toEqual({ cart: ['book'] });
  });

  it('still caps (check, then create) a third-party store without createWithinLimit', async () => {
    const { inner, clock } = setup();
    const plain = bind(inner);
    const now = clock.now;
    expect(plain.createWithinLimit).toBeUndefined();
    const refuse = createSessionManager({
      store: plain,
      now,
      maxSessionsPerUser: 1,
      onSessionLimit: 'refuse',
    });
    await refuse.login(null, 'carol');
    await expect(refuse.login(null, 'carol')).rejects.toMatchObject({ code: 'ERR_SESSION_LIMIT' });
    const evict = createSessionManager({ store: plain, now, maxSessionsPerUser: 1 });
    const first = await evict.login(null, 'dave');
    const second = await evict.login(null, 'dave');
    expect(await evict.load(first.id)).toBeNull();
    expect(await evict.load(second.id)).not.toBeNull();
  });
});

function bind(store: Store): Store {
  const out: Record<string, unknown> = { kind: store.kind };
  for (const name of [...STORE_METHODS, 'close'] as const) {
    out[name] = (store[name] as (...args: unknown[]) => unknown).bind(store);
  }
  return out as unknown as Store;
}
