import { describe, expect, it } from 'vitest';
import { makeRecord, testStore } from '../conformance/index.js';
import { createManualClock } from '../conformance/manual-clock.js';
import { createMemoryStore } from './index.js';

testStore('memory', ({ now }) => createMemoryStore({ now }));

const T0 = Date.UTC(2030, 0, 1);
const HOUR = 3_600_000;

const record = makeRecord;

describe('memory store', () => {
  it('evicts the least recently used session when full, and counts it', async () => {
    const clock = createManualClock(T0);
    const store = createMemoryStore({ maxEntries: 3, now: clock.now });
    const [a, b, c, d] = [record(T0), record(T0), record(T0), record(T0)];
    await store.create(a!);
    await store.create(b!);
    await store.create(c!);
    await store.get(a!.key); // a is now the most recently used; b the least
    await store.create(d!);
    expect(await store.get(b!.key)).toBeNull();
    for (const kept of [a, c, d]) expect(await store.get(kept!.key)).not.toBeNull();
    expect(store.stats()).toEqual({ size: 3, evictions: 1 });
    await store.close();
  });

  it('counts patch and touch as use when choosing whom to evict', async () => {
    const clock = createManualClock(T0);
    const store = createMemoryStore({ maxEntries: 2, now: clock.now });
    const [a, b, c, d] = [record(T0), record(T0), record(T0), record(T0)];
    await store.create(a!);
    await store.create(b!);
    await store.patch(a!.key, { set: { n: 1 } });
    await store.create(c!); // evicts b
    await store.touch(a!.key, T0, T0 + HOUR);
    await store.create(d!); // evicts c
    expect(await store.get(a!.key)).not.toBeNull();
    expect(await store.get(b!.key)).toBeNull();
    expect(await store.get(c!.key)).toBeNull();
    expect(store.stats().evictions).toBe(2);
    await store.close();
  });

  it('drops an expired session first without counting it as an eviction', async () => {
    const clock = createManualClock(T0);
    const store = createMemoryStore({ maxEntries: 2, now: clock.now });
    const user = 'user-1';
    const old = record(T0, { userId: user, expiresAt: T0 + 1000 });
    const live = record(T0, { userId: user });
    await store.create(old);
    await store.create(live);
    clock.set(T0 + 1000);
    await store.create(record(T0 + 1000, { userId: user }));
    expect(store.stats()).toEqual({ size: 2, evictions: 0 });
    expect((await store.listByUser(user)).map((r) => r.key)).toContain(live.key);
    expect(await store.listByUser(user)).toHaveLength(2);
    await store.close();
  });

  it('purges expired sessions on its timer, without holding the process open', async () => {
    let now = T0;
    const store = createMemoryStore({ now: () => now, purgeIntervalMs: 5 });
    await store.create(record(T0, { expiresAt: T0 + 10 }));
    await store.create(record(T0));
    expect(store.stats().size).toBe(2);
    now = T0 + 10;
    // The timer runs on real time; wait for one tick (a few ms) rather than faking timers.
    await waitFor(() => store.stats().size === 1);
    expect(store.stats().size).toBe(1);
    await store.close();
  });

  it('refuses a bad maxEntries or purgeIntervalMs with ERR_CONFIG', () => {
    expect(() => createMemoryStore({ maxEntries: 0 })).toThrow(/maxEntries/);
    expect(() => createMemoryStore({ maxEntries: 1.5 })).toThrow(/maxEntries/);
    expect(() => createMemoryStore({ purgeIntervalMs: -1 })).toThrow(/purgeIntervalMs/);
  });

  it('refuses a patch that both sets and unsets one key', async () => {
    const store = createMemoryStore();
    const r = record(Date.now(), { data: { a: 1 } });
    await store.create(r);
    await expect(store.patch(r.key, { set: { a: 2 }, unset: ['a'] })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    expect((await store.get(r.key))?.data).toEqual({ a: 1 });
    await store.close();
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!condition() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('memory store patches', () => {
  it('keeps the right values through many set-only patches and later removals', async () => {
    const store = createMemoryStore();
    const r = record(Date.now(), { data: { text: 'x'.repeat(50), list: [1] } });
    await store.create(r);
    for (let i = 0; i < 300; i++) {
      await store.patch(r.key, { set: { counter: i, [`k${i % 7}`]: { i }, text: `t${i}` } });
    }
    await store.patch(r.key, { unset: ['k0', 'list'] });
    await store.patch(r.key, { set: { k1: undefined, after: [null] } });
    const data = (await store.get(r.key))?.data;
    expect(data).toEqual({
      text: 't299',
      counter: 299,
      k2: { i: 296 },
      k3: { i: 297 },
      k4: { i: 298 },
      k5: { i: 299 },
      k6: { i: 293 },
      after: [null],
    });
    await store.close();
  });
});
