import { describe, expect, it } from 'vitest';
import { isTesseraError, type TesseraErrorCode } from '../shared/errors.js';
import { generateHandle, generateSessionId, hashSessionId } from '../shared/ids.js';
import { createMemoryStore } from '../stores/memory/index.js';
import type { SessionRecord, Store } from '../stores/store.js';
import {
  createRefreshTokens,
  MAX_GRACE_RETRIES,
  type RefreshEvent,
  type RefreshTokensOptions,
} from './refresh.js';

const T0 = Date.UTC(2026, 0, 1);
const IDLE = 1800;
const ABSOLUTE = 43_200;
const REFRESH_NAMESPACES = ['refresh', 'refresh-spent', 'refresh-family'];
const WRITES = new Set([
  'create',
  'patch',
  'touch',
  'delete',
  'deleteByUser',
  'purgeExpired',
  'kvSet',
  'kvDelete',
]);

function setup(options: Partial<RefreshTokensOptions> & { absolute?: number } = {}) {
  const clock = { t: T0 };
  const now = () => clock.t;
  const base = createMemoryStore({ now, purgeIntervalMs: 0 });
  const writes: string[] = [];
  // The real store, with its write calls recorded.
  const store = new Proxy(base, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (typeof prop === 'string' && WRITES.has(prop)) writes.push(prop);
        return value.apply(target, args);
      };
    },
  }) as Store;
  const events: RefreshEvent[] = [];
  const refresh = createRefreshTokens({
    store,
    now,
    onEvent: (e) => events.push(e),
    ...options,
  });
  async function session(): Promise<SessionRecord> {
    const record: SessionRecord = {
      key: hashSessionId(generateSessionId()),
      handle: generateHandle(),
      userId: 'alice',
      data: {},
      meta: { strategy: 'hybrid' },
      createdAt: clock.t,
      lastSeenAt: clock.t,
      authAt: clock.t,
      expiresAt: Math.min(clock.t + IDLE * 1000, clock.t + (options.absolute ?? ABSOLUTE) * 1000),
      absoluteExpiresAt: clock.t + (options.absolute ?? ABSOLUTE) * 1000,
    };
    await store.create(record);
    return record;
  }
  async function dump(): Promise<string> {
    const all = await Promise.all(REFRESH_NAMESPACES.map((ns) => store.kvList(ns)));
    return JSON.stringify(all);
  }
  const advance = (seconds: number) => {
    clock.t += seconds * 1000;
  };
  return { store, refresh, events, writes, session, dump, advance, clock };
}

async function codeOf(promise: Promise<unknown>): Promise<TesseraErrorCode | 'resolved'> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    if (isTesseraError(error)) return error.code;
    throw error;
  }
}

describe('refresh tokens: rotation', () => {
  it('rotates along a chain, each token spent for its successor in the same family', async () => {
    const { refresh, session, dump } = setup();
    const record = await session();
    const t0 = await refresh.issue(record.key);
    expect(t0).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const r1 = await refresh.rotate(t0);
    const r2 = await refresh.rotate(r1.token);
    expect(new Set([t0, r1.token, r2.token]).size).toBe(3);
    expect(r1.sessionKey).toBe(record.key);
    expect(r2.record.handle).toBe(record.handle);
    expect([r1.generation, r2.generation]).toEqual([1, 2]);
    // The store holds hashes and sealed boxes, never a raw token.
    const stored = await dump();
    for (const token of [t0, r1.token, r2.token]) expect(stored).not.toContain(token);
  });

  it('slides the idle expiry on rotation and never moves the absolute one', async () => {
    const { refresh, session, store, advance, clock } = setup();
    const record = await session();
    const token = await refresh.issue(record.key);
    advance(1000);
    const { record: after } = await refresh.rotate(token);
    expect(after.expiresAt).toBe(clock.t + IDLE * 1000);
    expect(after.lastSeenAt).toBe(clock.t);
    const stored = await store.get(record.key);
    expect(stored?.expiresAt).toBe(clock.t + IDLE * 1000);
    expect(stored?.absoluteExpiresAt).toBe(record.absoluteExpiresAt);
  });

  it('caps the idle expiry at the absolute expiry, and the family ends there', async () => {
    const { refresh, session, advance } = setup({ absolute: 2000 });
    const record = await session();
    const t0 = await refresh.issue(record.key);
    advance(1000);
    const r1 = await refresh.rotate(t0);
    expect(r1.record.expiresAt).toBe(record.absoluteExpiresAt);
    advance(1000);
    expect(await codeOf(refresh.rotate(r1.token))).toBe('ERR_REFRESH_INVALID');
  });

  it('refuses a token whose family went idle for longer than idleTtl', async () => {
    const { refresh, session, advance } = setup();
    const record = await session();
    const t0 = await refresh.issue(record.key);
    advance(IDLE - 1);
    const r1 = await refresh.rotate(t0);
    advance(IDLE);
    expect(await codeOf(refresh.rotate(r1.token))).toBe('ERR_REFRESH_INVALID');
  });

  it('refuses unknown and malformed tokens without writing to the store', async () => {
    const { refresh, session, writes } = setup();
    const record = await session();
    await refresh.issue(record.key);
    writes.length = 0;
    const wellFormedButUnknown = 'A'.repeat(43);
    const garbage: unknown[] = [
      '',
      'abc',
      `${'A'.repeat(42)}B`, // non-canonical trailing bits
      'A'.repeat(44),
      `${'A'.repeat(42)}.`,
      null,
      42,
      { token: 'x' },
    ];
    for (const token of [wellFormedButUnknown, ...garbage]) {
      expect(await codeOf(refresh.rotate(token as string))).toBe('ERR_REFRESH_INVALID');
    }
    expect(writes).toEqual([]);
  });

  it('issue refuses a session that does not exist', async () => {
    const { refresh } = setup();
    expect(await codeOf(refresh.issue(hashSessionId(generateSessionId())))).toBe(
      'ERR_SESSION_NOT_FOUND',
    );
    expect(await codeOf(refresh.issue(''))).toBe('ERR_INVALID_ARGUMENT');
  });

  it('a second issue for the same session invalidates the earlier token', async () => {
    const { refresh, session } = setup();
    const record = await session();
    const first = await refresh.issue(record.key);
    const second = await refresh.issue(record.key);
    expect(await codeOf(refresh.rotate(first))).toBe('ERR_REFRESH_INVALID');
    expect((await refresh.rotate(second)).sessionKey).toBe(record.key);
  });
});

describe('refresh tokens: reuse detection and grace', () => {
  it('reuse after the grace window revokes the family and the session, with an event', async () => {
    const { refresh, session, store, events, advance, dump } = setup();
    const record = await session();
    const t0 = await refresh.issue(record.key);
    const r1 = await refresh.rotate(t0);
    advance(11);
    expect(await codeOf(refresh.rotate(t0))).toBe('ERR_REFRESH_REUSED');
    expect(await store.get(record.key)).toBeNull();
    expect(await codeOf(refresh.rotate(r1.token))).toBe('ERR_REFRESH_INVALID');
    expect(JSON.parse(await dump())).toEqual([[], [], []]);
    const reuse = events.find((e) => e.type === 'refresh_reuse');
    expect(reuse).toMatchObject({ sessionKey: record.key, handle: record.handle, generation: 0 });
    expect(events.at(-1)).toMatchObject({ type: 'refresh_family_revoked', reason: 'reuse' });
    const logged = JSON.stringify(events);
    expect(logged).not.toContain(t0);
    expect(logged).not.toContain(r1.token);
  });

  it('a retry within the grace window gets the same successor and logs nobody out', async () => {
    const { refresh, session, store, events, advance } = setup();
    const record = await session();
    const t0 = await refresh.issue(record.key);
    const r1 = await refresh.rotate(t0);
    advance(9);
    const retry = await refresh.rotate(t0);
    expect(retry.token).toBe(r1.token);
    expect(retry.generation).toBe(1);
    expect(events.map((e) => e.type)).toContain('refresh_retried');
    const r2 = await refresh.rotate(r1.token);
    expect(r2.generation).toBe(2);
    expect(await store.get(record.key)).not.toBeNull();
  });

  it('answers at most MAX_GRACE_RETRIES replays within the grace window, each with the same successor', async () => {
    const { refresh, session, store, events, advance } = setup();
    const record = await session();
    const t0 = await refresh.issue(record.key);
    const r1 = await refresh.rotate(t0);
    for (let i = 0; i < MAX_GRACE_RETRIES; i++) {
      expect((await refresh.rotate(t0)).token).toBe(r1.token);
    }
    // The budget is spent: further replays get nothing, and the holder stays signed in.
    for (let i = 0; i < 5; i++)
      expect(await codeOf(refresh.rotate(t0))).toBe('ERR_REFRESH_INVALID');
    expect(events.filter((e) => e.type === 'refresh_retried')).toHaveLength(MAX_GRACE_RETRIES);
    expect(await store.get(record.key)).not.toBeNull();
    expect((await refresh.rotate(r1.token)).generation).toBe(2);
    advance(11);
    expect(await codeOf(refresh.rotate(t0))).toBe('ERR_REFRESH_REUSED');
  });

  it('grace 0 turns retries into reuse', async () => {
    const { refresh, session } = setup({ grace: 0 });
    const record = await session();
    const t0 = await refresh.issue(record.key);
    await refresh.rotate(t0);
    expect(await codeOf(refresh.rotate(t0))).toBe('ERR_REFRESH_REUSED');
  });

  it('20 concurrent rotations of one token: one successor, at most 1 + MAX_GRACE_RETRIES answers, no sign-out', async () => {
    const { refresh, session, store, events } = setup();
    const record = await session();
    const t0 = await refresh.issue(record.key);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => refresh.rotate(t0)));
    const tokens = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.token] : []));
    expect(tokens).toHaveLength(1 + MAX_GRACE_RETRIES);
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).toMatch(/^[A-Za-z0-9_-]{43}$/);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'ERR_REFRESH_INVALID' });
    }
    expect(events.filter((e) => e.type === 'refresh_rotated')).toHaveLength(1);
    expect(events.some((e) => e.type === 'refresh_reuse')).toBe(false);
    // The family holds the spent token and exactly one live successor.
    expect(await store.kvList('refresh')).toHaveLength(2);
    expect(await store.kvList('refresh-spent')).toHaveLength(1);
    const next = await refresh.rotate(tokens[0] as string);
    expect(next.generation).toBe(2);
  });

  it('a spent token of an older generation is reuse, even inside the grace window', async () => {
    const { refresh, session, store } = setup();
    const record = await session();
    const t0 = await refresh.issue(record.key);
    const r1 = await refresh.rotate(t0);
    const r2 = await refresh.rotate(r1.token);
    expect(await codeOf(refresh.rotate(t0))).toBe('ERR_REFRESH_REUSED');
    expect(await store.get(record.key)).toBeNull();
    expect(await codeOf(refresh.rotate(r2.token))).toBe('ERR_REFRESH_INVALID');
  });

  it('revokeFamily ends the session and every token of it', async () => {
    const { refresh, session, store, events, dump } = setup();
    const record = await session();
    const other = await session();
    const otherToken = await refresh.issue(other.key);
    const t0 = await refresh.issue(record.key);
    const r1 = await refresh.rotate(t0);
    expect(await refresh.revokeFamily(record.key)).toBe(true);
    expect(await store.get(record.key)).toBeNull();
    expect(await codeOf(refresh.rotate(r1.token))).toBe('ERR_REFRESH_INVALID');
    expect(await codeOf(refresh.rotate(t0))).toBe('ERR_REFRESH_INVALID');
    expect(events.at(-1)).toMatchObject({ type: 'refresh_family_revoked', reason: 'revoke' });
    // Another family is untouched, and only its entries remain.
    expect((await refresh.rotate(otherToken)).sessionKey).toBe(other.key);
    expect(await dump()).not.toContain(record.key);
    expect(await refresh.revokeFamily(record.key)).toBe(false);
  });
});

describe('refresh tokens: options', () => {
  it('refuses bad settings at construction', () => {
    const store = createMemoryStore({ purgeIntervalMs: 0 });
    for (const bad of [{ grace: 61 }, { grace: -1 }, { idleTtl: 0 }, { idleTtl: Number.NaN }]) {
      expect(() => createRefreshTokens({ store, ...bad })).toThrow(/createRefreshTokens: `/);
    }
    expect(() => createRefreshTokens({ store: {} as Store })).toThrow(/`store`/);
  });
});

describe('refresh tokens: DPoP-bound families (RFC 9449 §5)', () => {
  const KEY_A = 'A'.repeat(43);
  const KEY_B = `${'B'.repeat(42)}A`;

  it('rotates a bound family only with a proof of its key, and each successor stays bound', async () => {
    const { refresh, session } = setup();
    const record = await session();
    const t0 = await refresh.issue(record.key, { jkt: KEY_A });
    const r1 = await refresh.rotate(t0, { jkt: KEY_A });
    expect(r1.jkt).toBe(KEY_A);
    const r2 = await refresh.rotate(r1.token, { jkt: KEY_A });
    expect([r2.generation, r2.jkt]).toEqual([2, KEY_A]);
    // An unbound family stays unbound and needs no proof.
    const other = await session();
    const u0 = await refresh.issue(other.key);
    const u1 = await refresh.rotate(u0);
    expect(u1.jkt).toBeUndefined();
  });

  it('a bound token rotated with another key, or with none, counts as reuse: the family is revoked', async () => {
    for (const binding of [{ jkt: KEY_B }, {}, undefined]) {
      const { refresh, session, store, events, dump } = setup();
      const record = await session();
      const t0 = await refresh.issue(record.key, { jkt: KEY_A });
      expect(await codeOf(refresh.rotate(t0, binding))).toBe('ERR_REFRESH_REUSED');
      expect(events.map((e) => e.type)).toEqual([
        'refresh_issued',
        'refresh_reuse',
        'refresh_family_revoked',
      ]);
      expect(await store.get(record.key)).toBeNull();
      // Not even the rightful key can use it afterwards.
      expect(await codeOf(refresh.rotate(t0, { jkt: KEY_A }))).toBe('ERR_REFRESH_INVALID');
      expect(await dump()).toBe('[[],[],[]]');
    }
  });

  it('a thief with another key cannot take a bound token retried within the grace window', async () => {
    const { refresh, session, store } = setup();
    const record = await session();
    const t0 = await refresh.issue(record.key, { jkt: KEY_A });
    await refresh.rotate(t0, { jkt: KEY_A });
    expect(await codeOf(refresh.rotate(t0, { jkt: KEY_B }))).toBe('ERR_REFRESH_REUSED');
    expect(await store.get(record.key)).toBeNull();
  });

  it('refuses a binding that is not a thumbprint, before touching the store', async () => {
    const { refresh, session, writes } = setup();
    const record = await session();
    const before = writes.length;
    expect(await codeOf(refresh.issue(record.key, { jkt: 'short' }))).toBe('ERR_INVALID_ARGUMENT');
    expect(await codeOf(refresh.rotate('x'.repeat(43), { jkt: 5 as never }))).toBe(
      'ERR_INVALID_ARGUMENT',
    );
    expect(writes.length).toBe(before);
  });
});
