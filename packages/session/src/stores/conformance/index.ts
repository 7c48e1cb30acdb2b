/**
 * `tessera-session/testing`: the one conformance suite every Store must pass, and the manual clock
 * it runs on. A store author calls `testStore` from a vitest file with a factory that builds
 * the store on a real backend; each case gets a fresh store on a manual clock and closes it
 * afterwards. Keys, users and namespaces are random per case, so a backend shared between
 * cases (one Redis server, one database) does not make cases see each other.
 * @module tessera-session/testing
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSessionManager } from '../../core/manager.js';
import type { Session } from '../../core/session.js';
import { TesseraError, type TesseraErrorCode } from '../../shared/errors.js';
import { generateHandle, generateSessionId, hashSessionId } from '../../shared/ids.js';
import type { SessionRecord, Store } from '../store.js';
import { createManualClock, type ManualClock } from './manual-clock.js';

export type { ManualClock } from './manual-clock.js';
export { createManualClock } from './manual-clock.js';

/** Builds the store under test on the given clock. */
export type MakeStore = (ctx: { now: () => number }) => Store | Promise<Store>;

/** Optional hooks that enable the backend-specific cases. */
export interface StoreTestOptions {
  /**
   * Everything the backend holds, as text, for the "raw session ID never stored" check.
   * @defaultValue none: that check is not run
   */
  dumpBackend?: (store: Store) => Promise<string>;
  /**
   * Stops and restarts the backend server, for the outage case (Redis, PostgreSQL).
   * @defaultValue none: the outage case is not run
   */
  outage?: { stop(): Promise<void>; start(): Promise<void> };
  /**
   * `false` for a store without `createWithinLimit` (the manager then caps sessions with a
   * check-then-create that parallel logins can overrun); the cap cases are left out.
   * @defaultValue the cap cases run (the store has `createWithinLimit`)
   */
  userLimit?: false;
}

const SECOND = 1000;
const HOUR = 3_600_000;
/** How long a call may take to fail while the backend is down. */
const OUTAGE_FAIL_MS = 5_000;
/** How long the store may take to work again after the backend is back. */
const OUTAGE_RECOVER_MS = 15_000;

/**
 * `store` with every method call recorded by name, in order (the store itself stays real), so
 * tests can assert "no store call" or "no write".
 * @example const { store, calls } = recordStoreCalls(createMemoryStore()); // later: calls
 */
export function recordStoreCalls<S extends Store>(inner: S): { store: S; calls: string[] } {
  const calls: string[] = [];
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(property));
        return value.apply(target, args);
      };
    },
  });
  return { store, calls };
}

/**
 * A live session record created at `now`, with a random key and handle and an hour of life
 * (12 h absolute); any field can be overridden. For store tests beyond the suite.
 * @example await store.create(makeRecord(clock.now(), { userId: 'alice' }));
 */
export function makeRecord(now: number, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    key: hashSessionId(generateSessionId()),
    handle: generateHandle(),
    userId: null,
    data: {},
    meta: {},
    createdAt: now,
    lastSeenAt: now,
    authAt: null,
    expiresAt: now + HOUR,
    absoluteExpiresAt: now + 12 * HOUR,
    ...overrides,
  };
}

/**
 * Registers the conformance suite for one store as `describe('store conformance: NAME')`.
 * Each case builds a fresh store with `makeStore({ now })` on a manual clock that starts at
 * the real current time (so backends that also expire on their own, like Redis, keep the
 * records alive), and closes it after the case.
 * @example
 * // src/stores/memory/memory-store.test.ts
 * import { testStore } from './index.js';
 * testStore('memory', ({ now }) => createMemoryStore({ now }));
 */
export function testStore(
  name: string,
  makeStore: MakeStore,
  options: StoreTestOptions = {},
): void {
  describe(`store conformance: ${name}`, () => {
    let clock: ManualClock;
    let store: Store;
    let t0: number;

    beforeEach(async () => {
      t0 = Math.floor(Date.now() / SECOND) * SECOND;
      clock = createManualClock(t0);
      store = await makeStore({ now: clock.now });
    });

    afterEach(async () => {
      await store.close();
    });

    /** A live record created "now" with random key and handle; fields overridable. */
    function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
      return makeRecord(clock.now(), overrides);
    }

    it('round-trips every field of a record', async () => {
      const user = uniqueUser();
      const full = record({
        userId: user,
        authAt: t0 - 5 * SECOND,
        createdAt: t0 - 10 * SECOND,
        lastSeenAt: t0 - SECOND,
        data: {
          nested: { list: [1, 'two', { three: 3 }, [4]], empty: {}, none: [] },
          ключ: 'значение',
          '🔑 emoji key': '✓ ünïcödé',
          'dotted.key': 1,
          'quote"d key': 2,
          $dollar: 3,
          nothing: null,
          no: false,
          zero: 0,
          float: 1.5,
          negative: -42,
          largest: Number.MAX_SAFE_INTEGER,
          text: 'line\nbreak "quoted" \\ back\u0000nul',
          emptyText: '',
        },
        meta: {
          ip: '203.0.113.9',
          userAgent: 'Mozilla/5.0 (X11; Linux x86_64)',
          strategy: 'server',
          persistent: true,
          extra: { nested: [1, null] },
        },
      });
      const anonymous = record();
      await store.create(full);
      await store.create(anonymous);
      expect(await store.get(full.key)).toEqual(full);
      expect(await store.getByHandle(full.handle)).toEqual(full);
      expect(await store.get(anonymous.key)).toEqual(anonymous);
      expect(await store.getByHandle(anonymous.handle)).toEqual(anonymous);
    });

    it('answers null for an unknown key or handle', async () => {
      expect(await store.get(hashSessionId(generateSessionId()))).toBeNull();
      expect(await store.getByHandle(generateHandle())).toBeNull();
    });

    it('refuses a second record with the same key or the same handle (ERR_STORE_CONFLICT)', async () => {
      const first = record({ data: { first: true } });
      await store.create(first);
      const sameKey = record({ key: first.key, data: { second: true } });
      expect(await codeOf(store.create(sameKey))).toBe('ERR_STORE_CONFLICT');
      const sameHandle = record({ handle: first.handle, data: { third: true } });
      expect(await codeOf(store.create(sameHandle))).toBe('ERR_STORE_CONFLICT');
      expect(await store.get(first.key)).toEqual(first);
      expect(await store.get(sameHandle.key)).toBeNull();
      expect(await store.getByHandle(first.handle)).toEqual(first);
    });

    it('lets a new record take the key and handle of an expired one', async () => {
      const old = record({ expiresAt: t0 + SECOND, data: { old: true } });
      await store.create(old);
      clock.set(t0 + SECOND);
      const reused = record({ key: old.key, handle: old.handle, data: { fresh: true } });
      await store.create(reused);
      expect(await store.get(old.key)).toEqual(reused);
      expect(await store.getByHandle(old.handle)).toEqual(reused);
    });

    it('stores deep copies: later changes to the caller’s objects do not reach the store', async () => {
      const data = { list: [1], nested: { a: 1 } };
      const created = record({ data, meta: { ip: '192.0.2.1' } });
      await store.create(created);
      data.list.push(2);
      data.nested.a = 2;
      created.meta.ip = '192.0.2.99';
      created.expiresAt = t0 + 1;

      const first = await store.get(created.key);
      expect(first?.data).toEqual({ list: [1], nested: { a: 1 } });
      expect(first?.meta).toEqual({ ip: '192.0.2.1' });
      expect(first?.expiresAt).toBe(t0 + HOUR);
      (first!.data.list as number[]).push(3);
      first!.meta.ip = 'changed';

      const second = await store.get(created.key);
      expect(second).not.toBe(first);
      expect(second?.data).toEqual({ list: [1], nested: { a: 1 } });
      expect(second?.meta).toEqual({ ip: '192.0.2.1' });

      const value = { deep: [1] };
      await store.patch(created.key, { set: { value } });
      value.deep.push(2);
      expect((await store.get(created.key))?.data.value).toEqual({ deep: [1] });

      const ns = uniqueNamespace();
      const kvValue = { roles: ['reader'] };
      await store.kvSet(ns, 'k', kvValue, null);
      kvValue.roles.push('admin');
      const read = (await store.kvGet(ns, 'k')) as { roles: string[] };
      expect(read).toEqual({ roles: ['reader'] });
      read.roles.push('owner');
      expect(await store.kvGet(ns, 'k')).toEqual({ roles: ['reader'] });
    });

    it('refuses values that are not JSON (ERR_STORE_DATA) and stores nothing', async () => {
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic.self = cyclic;
      const bad: unknown[] = [() => 1, 10n, cyclic, Number.NaN, new Map([['a', 1]]), Symbol('s')];
      for (const value of bad) {
        const refused = record({ data: { value } });
        expect(await codeOf(store.create(refused))).toBe('ERR_STORE_DATA');
        expect(await store.get(refused.key)).toBeNull();
      }
      const kept = record({ data: { a: 1 } });
      await store.create(kept);
      expect(await codeOf(store.patch(kept.key, { set: { b: 10n } }))).toBe('ERR_STORE_DATA');
      expect(await codeOf(store.patch(kept.key, { meta: { f: () => 1 } }))).toBe('ERR_STORE_DATA');
      expect((await store.get(kept.key))?.data).toEqual({ a: 1 });

      const ns = uniqueNamespace();
      expect(await codeOf(store.kvSet(ns, 'k', () => 1, null))).toBe('ERR_STORE_DATA');
      expect(await codeOf(store.kvSet(ns, 'k', undefined, null))).toBe('ERR_STORE_DATA');
      expect(await store.kvGet(ns, 'k')).toBeNull();

      // What JSON does keep is accepted: a Date is stored as its ISO string.
      const dated = record({ data: { when: new Date(0) } });
      await store.create(dated);
      expect((await store.get(dated.key))?.data.when).toBe('1970-01-01T00:00:00.000Z');
    });

    it('expires a record at expiresAt on the injected clock (visible 1 ms before)', async () => {
      const user = uniqueUser();
      const expiring = record({ userId: user, expiresAt: t0 + 60 * SECOND });
      await store.create(expiring);
      clock.set(t0 + 60 * SECOND - 1);
      expect(await store.get(expiring.key)).toEqual(expiring);
      expect(await store.getByHandle(expiring.handle)).toEqual(expiring);
      expect(await store.listByUser(user)).toHaveLength(1);
      clock.set(t0 + 60 * SECOND);
      expect(await store.get(expiring.key)).toBeNull();
      expect(await store.getByHandle(expiring.handle)).toBeNull();
      expect(await store.listByUser(user)).toEqual([]);
    });

    it('touch moves lastSeenAt and expiresAt, and answers false for missing or expired records', async () => {
      const touched = record({ expiresAt: t0 + 60 * SECOND, data: { a: 1 } });
      await store.create(touched);
      clock.set(t0 + 30 * SECOND);
      expect(await store.touch(touched.key, t0 + 30 * SECOND, t0 + 90 * SECOND)).toBe(true);
      const after = await store.get(touched.key);
      expect(after).toEqual({
        ...touched,
        lastSeenAt: t0 + 30 * SECOND,
        expiresAt: t0 + 90 * SECOND,
      });
      clock.set(t0 + 60 * SECOND);
      expect(await store.get(touched.key)).not.toBeNull();
      clock.set(t0 + 90 * SECOND);
      expect(await store.get(touched.key)).toBeNull();
      expect(await store.touch(touched.key, t0 + 90 * SECOND, t0 + 200 * SECOND)).toBe(false);
      expect(await store.get(touched.key)).toBeNull();
      expect(await store.touch(hashSessionId(generateSessionId()), t0, t0 + HOUR)).toBe(false);
    });

    it('patch sets and unsets data keys, merges meta and replaces top-level fields', async () => {
      const user = uniqueUser();
      const patched = record({
        data: { keep: 1, change: 'old', drop: true, nested: { a: 1, b: 2 } },
        meta: { ip: '198.51.100.1', userAgent: 'UA/1', strategy: 'server' },
      });
      await store.create(patched);
      const applied = await store.patch(patched.key, {
        set: { change: 'new', added: [1, 2], nested: { a: 9 }, empty: null },
        unset: ['drop', 'never-there'],
        meta: { ip: '198.51.100.2', persistent: true },
      });
      expect(applied).toBe(true);
      expect(await store.get(patched.key)).toEqual({
        ...patched,
        data: { keep: 1, change: 'new', added: [1, 2], nested: { a: 9 }, empty: null },
        meta: { ip: '198.51.100.2', userAgent: 'UA/1', strategy: 'server', persistent: true },
      });

      const fields = {
        userId: user,
        authAt: t0 + 5,
        lastSeenAt: t0 + 6,
        expiresAt: t0 + 2 * HOUR,
        absoluteExpiresAt: t0 + 24 * HOUR,
      };
      expect(await store.patch(patched.key, fields)).toBe(true);
      const bound = await store.get(patched.key);
      expect(bound).toMatchObject({ ...fields, key: patched.key, handle: patched.handle });
      expect(bound?.data).toEqual({
        keep: 1,
        change: 'new',
        added: [1, 2],
        nested: { a: 9 },
        empty: null,
      });
      expect((await store.listByUser(user)).map((r) => r.key)).toEqual([patched.key]);

      expect(await store.patch(patched.key, { userId: null, authAt: null })).toBe(true);
      expect(await store.get(patched.key)).toMatchObject({ userId: null, authAt: null });
      expect(await store.listByUser(user)).toEqual([]);

      expect(await store.patch(patched.key, {})).toBe(true);
      expect((await store.get(patched.key))?.data.keep).toBe(1);
    });

    it('treats data keys such as __proto__ and constructor as plain keys', async () => {
      const plain = record({ data: JSON.parse('{"__proto__":{"polluted":true},"constructor":1}') });
      await store.create(plain);
      const read = await store.get(plain.key);
      expect(Object.hasOwn(read!.data, '__proto__')).toBe(true);
      expect(read!.data.polluted).toBeUndefined();
      expect(read!.data.constructor).toBe(1);
      await store.patch(plain.key, {
        set: JSON.parse('{"__proto__":{"again":true},"toString":"text"}'),
      });
      const again = await store.get(plain.key);
      expect(Object.getOwnPropertyDescriptor(again!.data, '__proto__')?.value).toEqual({
        again: true,
      });
      expect(again!.data.toString).toBe('text');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      await store.patch(plain.key, { unset: ['__proto__'] });
      expect(Object.hasOwn((await store.get(plain.key))!.data, '__proto__')).toBe(false);
    });

    it('keeps all of 100 concurrent patches to different keys of one session', async () => {
      const shared = record({ data: { base: true } });
      await store.create(shared);
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) => store.patch(shared.key, { set: { [`k${i}`]: i } })),
      );
      expect(results.every((applied) => applied)).toBe(true);
      const data = (await store.get(shared.key))?.data ?? {};
      expect(Object.keys(data)).toHaveLength(101);
      for (let i = 0; i < 100; i++) expect(data[`k${i}`]).toBe(i);
      expect(data.base).toBe(true);
    });

    it('answers false when patching a missing or expired record, and does not revive it', async () => {
      const missing = hashSessionId(generateSessionId());
      expect(await store.patch(missing, { set: { a: 1 } })).toBe(false);
      expect(await store.get(missing)).toBeNull();

      const user = uniqueUser();
      const expiring = record({ userId: user, expiresAt: t0 + SECOND });
      await store.create(expiring);
      clock.set(t0 + SECOND);
      const revive = { set: { a: 1 }, expiresAt: t0 + HOUR, lastSeenAt: t0 + SECOND };
      expect(await store.patch(expiring.key, revive)).toBe(false);
      expect(await store.get(expiring.key)).toBeNull();
      expect(await store.getByHandle(expiring.handle)).toBeNull();
      expect(await store.listByUser(user)).toEqual([]);
    });

    it('deletes a record and answers whether there was a live one', async () => {
      const doomed = record();
      await store.create(doomed);
      expect(await store.delete(doomed.key)).toBe(true);
      expect(await store.get(doomed.key)).toBeNull();
      expect(await store.getByHandle(doomed.handle)).toBeNull();
      expect(await store.delete(doomed.key)).toBe(false);
      expect(await store.delete(hashSessionId(generateSessionId()))).toBe(false);
      expect(await store.patch(doomed.key, { set: { a: 1 } })).toBe(false);

      const expiring = record({ expiresAt: t0 + SECOND });
      await store.create(expiring);
      clock.set(t0 + SECOND);
      expect(await store.delete(expiring.key)).toBe(false);

      // The key and handle are free again.
      const again = record({ key: doomed.key, handle: doomed.handle });
      await store.create(again);
      expect(await store.get(doomed.key)).toEqual(again);
    });

    it('finds a live record by its public handle', async () => {
      const one = record({ data: { n: 1 } });
      const two = record({ data: { n: 2 } });
      await store.create(one);
      await store.create(two);
      expect((await store.getByHandle(one.handle))?.key).toBe(one.key);
      expect((await store.getByHandle(two.handle))?.key).toBe(two.key);
      await store.patch(one.key, { set: { n: 10 } });
      expect((await store.getByHandle(one.handle))?.data).toEqual({ n: 10 });
      await store.delete(one.key);
      expect(await store.getByHandle(one.handle)).toBeNull();
      expect((await store.getByHandle(two.handle))?.key).toBe(two.key);
    });

    it('lists a user’s live records, oldest first', async () => {
      const user = uniqueUser();
      const third = record({ userId: user, createdAt: t0 - 100 });
      const first = record({ userId: user, createdAt: t0 - 300 });
      const expiring = record({ userId: user, createdAt: t0 - 400, expiresAt: t0 + SECOND });
      const second = record({ userId: user, createdAt: t0 - 200 });
      const other = record({ userId: uniqueUser(), createdAt: t0 - 500 });
      const anonymous = record({ createdAt: t0 - 600 });
      for (const r of [third, first, expiring, second, other, anonymous]) await store.create(r);
      expect(await store.listByUser(user)).toEqual([expiring, first, second, third]);
      clock.set(t0 + SECOND);
      expect(await store.listByUser(user)).toEqual([first, second, third]);
      expect(await store.listByUser(uniqueUser())).toEqual([]);
    });

    it('deletes all of a user’s records, or all but one', async () => {
      const user = uniqueUser();
      const other = uniqueUser();
      const mine = [record({ userId: user }), record({ userId: user }), record({ userId: user })];
      const theirs = record({ userId: other });
      for (const r of [...mine, theirs]) await store.create(r);
      expect(await store.deleteByUser(user)).toBe(3);
      expect(await store.listByUser(user)).toEqual([]);
      for (const r of mine) expect(await store.get(r.key)).toBeNull();
      expect(await store.get(theirs.key)).toEqual(theirs);

      const keeper = uniqueUser();
      const kept = [
        record({ userId: keeper, createdAt: t0 - 3 }),
        record({ userId: keeper, createdAt: t0 - 2 }),
        record({ userId: keeper, createdAt: t0 - 1 }),
      ];
      for (const r of kept) await store.create(r);
      expect(await store.deleteByUser(keeper, kept[1]!.key)).toBe(2);
      expect(await store.listByUser(keeper)).toEqual([kept[1]]);
      expect(await store.deleteByUser(uniqueUser())).toBe(0);
      expect(await store.deleteByUser(keeper, kept[1]!.key)).toBe(0);
    });

    it('keeps users apart, also when a record changes hands', async () => {
      const alice = uniqueUser();
      const bob = uniqueUser();
      const a = record({ userId: alice, createdAt: t0 - 2 });
      const b = record({ userId: bob, createdAt: t0 - 1 });
      await store.create(a);
      await store.create(b);
      expect((await store.listByUser(alice)).map((r) => r.key)).toEqual([a.key]);
      expect((await store.listByUser(bob)).map((r) => r.key)).toEqual([b.key]);
      await store.patch(a.key, { userId: bob });
      expect(await store.listByUser(alice)).toEqual([]);
      expect((await store.listByUser(bob)).map((r) => r.key)).toEqual([a.key, b.key]);
      expect(await store.deleteByUser(alice)).toBe(0);
      expect(await store.deleteByUser(bob, b.key)).toBe(1);
      expect(await store.get(a.key)).toBeNull();
      expect(await store.get(b.key)).toEqual(b);
    });

    if (options.userLimit !== false) {
      const limited = (): NonNullable<Store['createWithinLimit']> => {
        const create = store.createWithinLimit?.bind(store);
        if (!create) {
          throw new Error(
            'the store has no createWithinLimit (pass { userLimit: false } to testStore to skip)',
          );
        }
        return create;
      };

      it('createWithinLimit: ten parallel creates under a cap of 2 (refuse) leave exactly 2 live', async () => {
        const user = uniqueUser();
        const create = limited();
        const records = Array.from({ length: 10 }, (_, i) =>
          record({ userId: user, createdAt: t0 + i }),
        );
        const results = await Promise.all(
          records.map((r) => create(r, { maxPerUser: 2, onLimit: 'refuse' })),
        );
        expect(results.filter((r) => r.created)).toHaveLength(2);
        expect(results.every((r) => r.evicted.length === 0)).toBe(true);
        const live = await store.listByUser(user);
        expect(live).toHaveLength(2);
        const createdKeys = records.filter((_, i) => results[i]?.created).map((r) => r.key);
        expect(live.map((r) => r.key).sort()).toEqual([...createdKeys].sort());
        for (const [i, r] of records.entries()) {
          if (results[i]?.created) continue;
          expect(await store.get(r.key)).toBeNull();
          expect(await store.getByHandle(r.handle)).toBeNull();
        }
      });

      it('createWithinLimit: ten parallel creates under a cap of 2 (evict-oldest) leave exactly 2 live', async () => {
        const user = uniqueUser();
        const create = limited();
        const old = [
          record({ userId: user, createdAt: t0 - 20 }),
          record({ userId: user, createdAt: t0 - 10 }),
        ];
        for (const r of old) await create(r, { maxPerUser: 2, onLimit: 'evict-oldest' });
        const records = Array.from({ length: 10 }, (_, i) =>
          record({ userId: user, createdAt: t0 + i }),
        );
        const results = await Promise.all(
          records.map((r) => create(r, { maxPerUser: 2, onLimit: 'evict-oldest' })),
        );
        expect(results.every((r) => r.created)).toBe(true);
        const evicted = results.flatMap((r) => r.evicted.map((e) => e.key));
        expect(evicted).toHaveLength(10);
        expect(new Set(evicted).size).toBe(10);
        expect(evicted).toEqual(expect.arrayContaining(old.map((r) => r.key)));
        const live = await store.listByUser(user);
        expect(live).toHaveLength(2);
        for (const r of old) expect(await store.get(r.key)).toBeNull();
        for (const key of evicted) expect(await store.get(key)).toBeNull();
      });

      it('createWithinLimit: evicts the oldest, ignores expired and other users’ sessions', async () => {
        const user = uniqueUser();
        const create = limited();
        const limit = { maxPerUser: 2, onLimit: 'evict-oldest' } as const;
        const first = record({ userId: user, createdAt: t0 - 3 });
        const second = record({ userId: user, createdAt: t0 - 2 });
        const third = record({ userId: user, createdAt: t0 - 1 });
        expect(await create(first, limit)).toEqual({ created: true, evicted: [] });
        expect(await create(second, limit)).toEqual({ created: true, evicted: [] });
        await store.create(record({ userId: uniqueUser() }));
        expect(await create(third, limit)).toEqual({
          created: true,
          evicted: [{ key: first.key, handle: first.handle, userId: user }],
        });
        expect((await store.listByUser(user)).map((r) => r.key)).toEqual([second.key, third.key]);

        const idle = uniqueUser();
        const short = record({ userId: idle, expiresAt: clock.now() + SECOND });
        expect((await create(short, { maxPerUser: 1, onLimit: 'refuse' })).created).toBe(true);
        expect(
          (await create(record({ userId: idle }), { maxPerUser: 1, onLimit: 'refuse' })).created,
        ).toBe(false);
        clock.advance(SECOND);
        const next = record({ userId: idle });
        expect(await create(next, { maxPerUser: 1, onLimit: 'refuse' })).toEqual({
          created: true,
          evicted: [],
        });
        await expect(
          create(record({ userId: null }), { maxPerUser: 1, onLimit: 'refuse' }),
        ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
      });
    }

    it('purgeExpired removes expired records and key-value entries and answers the count', async () => {
      // Far ahead of every other case, so one first purge clears whatever they left behind.
      const far = t0 + 10 * 365 * 24 * HOUR;
      clock.set(far);
      await store.purgeExpired();
      const user = uniqueUser();
      const gone1 = record({ userId: user, expiresAt: far + SECOND });
      const gone2 = record({ expiresAt: far + 2 * SECOND });
      const live = record({ userId: user, expiresAt: far + HOUR });
      for (const r of [gone1, gone2, live]) await store.create(r);
      const ns = uniqueNamespace();
      await store.kvSet(ns, 'gone1', 1, far + SECOND);
      await store.kvSet(ns, 'gone2', 2, far + 1500);
      await store.kvSet(ns, 'forever', 3, null);
      await store.kvSet(ns, 'later', 4, far + HOUR);

      clock.set(far + 2 * SECOND);
      expect(await store.purgeExpired()).toBe(4);
      expect(await store.purgeExpired()).toBe(0);
      expect(await store.get(live.key)).toEqual(live);
      expect(await store.listByUser(user)).toEqual([live]);
      expect(sortByKey(await store.kvList(ns))).toEqual([
        { key: 'forever', value: 3, expiresAt: null },
        { key: 'later', value: 4, expiresAt: far + HOUR },
      ]);
    });

    it('key-value: get, set, overwrite, delete, list and expiry', async () => {
      const ns = uniqueNamespace();
      const otherNs = uniqueNamespace();
      expect(await store.kvGet(ns, 'missing')).toBeNull();
      expect(await store.kvSet(ns, 'a', { x: 1 }, null)).toBe(true);
      expect(await store.kvGet(ns, 'a')).toEqual({ x: 1 });
      expect(await store.kvSet(ns, 'a', 'second', null)).toBe(true);
      expect(await store.kvGet(ns, 'a')).toBe('second');
      for (const [key, value] of [
        ['zero', 0],
        ['false', false],
        ['empty', ''],
        ['list', []],
      ] as const) {
        await store.kvSet(ns, key, value, null);
        expect(await store.kvGet(ns, key)).toEqual(value);
      }
      await store.kvSet(otherNs, 'a', 'elsewhere', null);
      expect(await store.kvGet(ns, 'a')).toBe('second');

      await store.kvSet(ns, 'exp', 'soon', t0 + SECOND);
      clock.set(t0 + SECOND - 1);
      expect(await store.kvGet(ns, 'exp')).toBe('soon');
      expect((await store.kvList(ns)).map((e) => e.key)).toContain('exp');
      clock.set(t0 + SECOND);
      expect(await store.kvGet(ns, 'exp')).toBeNull();

      expect(await store.kvDelete(ns, 'zero')).toBe(true);
      expect(await store.kvGet(ns, 'zero')).toBeNull();
      expect(await store.kvDelete(ns, 'zero')).toBe(false);
      expect(sortByKey(await store.kvList(ns))).toEqual([
        { key: 'a', value: 'second', expiresAt: null },
        { key: 'empty', value: '', expiresAt: null },
        { key: 'false', value: false, expiresAt: null },
        { key: 'list', value: [], expiresAt: null },
      ]);
      expect(await store.kvList(otherNs)).toEqual([
        { key: 'a', value: 'elsewhere', expiresAt: null },
      ]);
      expect(await store.kvList(uniqueNamespace())).toEqual([]);
    });

    it('key-value: ifAbsent writes only when no live value exists, atomically', async () => {
      const ns = uniqueNamespace();
      expect(await store.kvSet(ns, 'k', 'first', null, { ifAbsent: true })).toBe(true);
      expect(await store.kvSet(ns, 'k', 'second', null, { ifAbsent: true })).toBe(false);
      expect(await store.kvGet(ns, 'k')).toBe('first');
      expect(await store.kvSet(ns, 'k', 'third', null, { ifAbsent: false })).toBe(true);
      expect(await store.kvGet(ns, 'k')).toBe('third');

      await store.kvSet(ns, 't', 'old', t0 + SECOND, { ifAbsent: true });
      clock.set(t0 + SECOND);
      expect(await store.kvSet(ns, 't', 'new', t0 + 5 * SECOND, { ifAbsent: true })).toBe(true);
      expect(await store.kvGet(ns, 't')).toBe('new');

      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.kvSet(ns, 'race', `v${i}`, null, { ifAbsent: true }),
        ),
      );
      expect(results.filter((wrote) => wrote)).toHaveLength(1);
      expect(await store.kvGet(ns, 'race')).toBe(`v${results.indexOf(true)}`);
    });

    it('keeps the authentication level through login, load, stepUp and the device list (through the manager)', async () => {
      const manager = createSessionManager({ store, now: clock.now });
      const user = uniqueUser();
      const signedIn = await manager.login(null, user, { level: 1, methods: ['pwd'] });
      const loaded = await manager.load(signedIn.id);
      expect(loaded?.authLevel).toBe(1);
      expect(loaded?.authMethods).toEqual(['pwd']);
      loaded?.set('cart', ['tea']);
      clock.advance(2 * SECOND);
      const stepped = await manager.stepUp(loaded as Session, {
        level: 2,
        methods: ['pwd', 'otp'],
      });
      expect(await manager.load(signedIn.id)).toBeNull();
      const again = await manager.load(stepped.id);
      expect(again).toMatchObject({ authLevel: 2, authAt: clock.now(), handle: signedIn.handle });
      expect(again?.authMethods).toEqual(['pwd', 'otp']);
      expect(again?.get('cart')).toEqual(['tea']);
      // An unrelated meta change (a patch merged key by key) leaves the level alone.
      again?.updateMeta({ ip: '203.0.113.9' });
      await manager.commit(again as Session);
      const [info] = await manager.listUserSessions(user);
      expect(info).toMatchObject({ authLevel: 2, authMethods: ['pwd', 'otp'], ip: '203.0.113.9' });
    });

    if (options.dumpBackend) {
      const dumpBackend = options.dumpBackend;
      it('never stores a raw session ID, only its hash', async () => {
        const manager = createSessionManager({ store, now: clock.now });
        const session = await manager.create({ data: { a: 1 } });
        const dump = await dumpBackend(store);
        expect(session.id).toHaveLength(43);
        expect(dump).not.toContain(session.id);
        expect(dump).toContain(hashSessionId(session.id));
      });
    }

    it('rejects every call after close() with ERR_STORE_CLOSED (close itself may repeat)', async () => {
      const kept = record();
      await store.create(kept);
      await store.close();
      const ns = uniqueNamespace();
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['get', () => store.get(kept.key)],
        ['getByHandle', () => store.getByHandle(kept.handle)],
        ['create', () => store.create(record())],
        ['patch', () => store.patch(kept.key, { set: { a: 1 } })],
        ['touch', () => store.touch(kept.key, t0, t0 + HOUR)],
        ['delete', () => store.delete(kept.key)],
        ['listByUser', () => store.listByUser(uniqueUser())],
        ['deleteByUser', () => store.deleteByUser(uniqueUser())],
        ['purgeExpired', () => store.purgeExpired()],
        ['kvGet', () => store.kvGet(ns, 'k')],
        ['kvSet', () => store.kvSet(ns, 'k', 1, null)],
        ['kvSet ifAbsent', () => store.kvSet(ns, 'k', 1, null, { ifAbsent: true })],
        ['kvDelete', () => store.kvDelete(ns, 'k')],
        ['kvList', () => store.kvList(ns)],
      ];
      for (const [label, call] of calls) {
        expect([label, await codeOf(call())]).toEqual([label, 'ERR_STORE_CLOSED']);
      }
      await store.close();
    });

    if (options.outage) {
      const outage = options.outage;
      it('fails fast with ERR_STORE_UNAVAILABLE while the backend is down, then recovers', async () => {
        const unhandled: unknown[] = [];
        const onUnhandled = (reason: unknown): void => {
          unhandled.push(reason);
        };
        process.on('unhandledRejection', onUnhandled);
        let down = false;
        try {
          const kept = record({ userId: uniqueUser(), data: { committed: true } });
          await store.create(kept);
          const ns = uniqueNamespace();
          await store.kvSet(ns, 'k', 'committed', null);

          await outage.stop();
          down = true;
          const calls: Array<[string, () => Promise<unknown>]> = [
            ['get', () => store.get(kept.key)],
            ['create', () => store.create(record())],
            ['patch', () => store.patch(kept.key, { set: { lost: true } })],
            ['listByUser', () => store.listByUser(kept.userId!)],
            ['kvGet', () => store.kvGet(ns, 'k')],
            ['kvSet', () => store.kvSet(ns, 'other', 1, null)],
          ];
          for (const [label, call] of calls) {
            const started = Date.now();
            const code = await codeOf(withDeadline(call(), OUTAGE_FAIL_MS * 2));
            expect([label, code]).toEqual([label, 'ERR_STORE_UNAVAILABLE']);
            expect(Date.now() - started).toBeLessThan(OUTAGE_FAIL_MS);
          }

          await outage.start();
          down = false;
          const back = await eventually(() => store.get(kept.key), OUTAGE_RECOVER_MS);
          expect(back).toEqual(kept);
          expect(await store.kvGet(ns, 'k')).toBe('committed');
          expect(await store.patch(kept.key, { set: { after: true } })).toBe(true);
          expect((await store.get(kept.key))?.data).toEqual({ committed: true, after: true });
          // Give stray promises a turn to surface as unhandled rejections.
          await new Promise((resolve) => setTimeout(resolve, 100));
          expect(unhandled).toEqual([]);
        } finally {
          if (down) await outage.start();
          process.off('unhandledRejection', onUnhandled);
        }
      }, 90_000);
    }
  });
}

/** The TesseraError code a promise rejects with; fails the test if it resolves. */
async function codeOf(promise: Promise<unknown>): Promise<TesseraErrorCode | string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TesseraError) return error.code;
    return `not a TesseraError: ${String(error)}`;
  }
  return 'resolved (expected a rejection)';
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the call hung for more than ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Retries `call` (real time: the backend is restarting) until it resolves or `ms` pass. */
async function eventually<T>(call: () => Promise<T>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function sortByKey<T extends { key: string }>(entries: T[]): T[] {
  return [...entries].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function uniqueUser(): string {
  return `user-${randomUUID()}`;
}

function uniqueNamespace(): string {
  return `conformance-${randomUUID()}`;
}
