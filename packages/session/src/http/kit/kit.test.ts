import { afterEach, describe, expect, it, vi } from 'vitest';
import { TesseraError } from '../../shared/errors.js';
import { callbackCall, settleCallback } from './callback-bridge.js';
import { ChangeTracker } from './change-tracker.js';
import { defaultStore } from './default-store.js';
import { appendSetCookie } from './set-cookie.js';
import { rejectUnknownOptions } from './unknown-options.js';

describe('adapter kit', () => {
  it('ChangeTracker reports set and removed keys, including changes inside nested objects', () => {
    const tracker = new ChangeTracker();
    const data: Record<string, unknown> = { cart: { items: [1] }, theme: 'dark', gone: 1 };
    tracker.reset(data);
    (data.cart as { items: number[] }).items.push(2);
    delete data.gone;
    data.fresh = true;
    data.skipped = 'x';
    expect(tracker.changes(data, ['skipped'])).toEqual({
      set: { cart: { items: [1, 2] }, fresh: true },
      unset: ['gone'],
    });
    // The snapshot moved on: nothing changed since.
    expect(tracker.changes(data, ['skipped'])).toEqual({ set: {}, unset: [] });
    data.theme = undefined;
    expect(tracker.changes(data, ['skipped'])).toEqual({ set: {}, unset: ['theme'] });
  });

  it('ChangeTracker sees keys added to an empty session, values made undefined, and nothing for a read', () => {
    const tracker = new ChangeTracker();
    const data: Record<string, unknown> = {};
    tracker.reset(data);
    expect(tracker.changes(data)).toEqual({ set: {}, unset: [] });
    data.views = 1;
    expect(tracker.changes(data)).toEqual({ set: { views: 1 }, unset: [] });
    const loaded: Record<string, unknown> = { views: 1, list: [1] };
    tracker.reset(loaded);
    expect(tracker.changes({ views: 1, list: [1] })).toEqual({ set: {}, unset: [] });
    expect(tracker.changes({ views: 1, list: [1], extra: undefined })).toEqual({
      set: {},
      unset: [],
    });
    expect(tracker.changes({ views: 1, list: undefined })).toEqual({ set: {}, unset: ['list'] });
  });

  it('ChangeTracker hands out values as a store gives them back, and skips the same keys in the snapshot', () => {
    const tracker = new ChangeTracker();
    // A stored `cookie` key is not data for the snapshot either: no change is reported for it.
    tracker.reset({ cookie: { maxAge: 1 }, views: 1 }, ['cookie']);
    const cart = { items: [1] };
    const data: Record<string, unknown> = {
      cookie: {},
      views: 2,
      name: 'ann',
      ok: false,
      nan: Number.NaN,
      negative: -0,
      cart,
    };
    const { set, unset } = tracker.changes(data, ['cookie']);
    expect(unset).toEqual([]);
    expect(set).toEqual({ views: 2, name: 'ann', ok: false, nan: null, negative: 0, cart });
    expect(Object.is(set.negative, 0)).toBe(true);
    // An object is a copy: changing the app's object afterwards does not change the patch.
    expect(set.cart).not.toBe(cart);
    cart.items.push(2);
    expect(set.cart).toEqual({ items: [1] });
  });

  it('callbackCall settles once from a callback or a returned promise, passing errors on', async () => {
    expect(await callbackCall<number>((done) => done(null, 1))).toBe(1);
    expect(await callbackCall<number>(() => Promise.resolve(2))).toBe(2);
    // Both: the first answer wins.
    expect(
      await callbackCall<number>((done) => {
        done(null, 3);
        return Promise.resolve(4);
      }),
    ).toBe(3);
    const failure = new Error('boom');
    await expect(callbackCall((done) => done(failure))).rejects.toBe(failure);
    const missing = Object.assign(new Error('gone'), { code: 'ENOENT' });
    expect(await callbackCall((done) => done(missing), ['ENOENT'])).toBeUndefined();
    await expect(
      callbackCall(() => {
        throw failure;
      }),
    ).rejects.toBe(failure);
  });

  it('settleCallback calls back with the error first', async () => {
    const seen: unknown[] = [];
    settleCallback(Promise.resolve(), (error) => seen.push(error ?? 'ok'));
    const failure = new Error('x');
    settleCallback(Promise.reject(failure), (error) => seen.push(error));
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual(['ok', failure]);
  });

  it('appendSetCookie keeps the Set-Cookie headers already there', () => {
    const headers = new Map<string, string | string[]>();
    const target = {
      getHeader: (name: string) => headers.get(name.toLowerCase()),
      setHeader: (name: string, value: string | string[]) => headers.set(name.toLowerCase(), value),
    };
    target.setHeader('Set-Cookie', 'a=1');
    appendSetCookie(target, 'b=2');
    appendSetCookie(target, 'c=3');
    expect(headers.get('set-cookie')).toEqual(['a=1', 'b=2', 'c=3']);
  });

  it('rejectUnknownOptions names the unknown option with ERR_CONFIG', () => {
    expect(() => rejectUnknownOptions('plugin', { secret: 'x' }, ['secret'])).not.toThrow();
    let thrown: unknown;
    try {
      rejectUnknownOptions('plugin', { secret: 'x', cookieNmae: 'y' }, ['secret', 'cookieName']);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TesseraError);
    expect((thrown as TesseraError).code).toBe('ERR_CONFIG');
    expect((thrown as TesseraError).message).toContain("'cookieNmae'");
  });

  it('defaultStore gives the adapter its memory store, warning once per call only in production', () => {
    const warnings: string[] = [];
    const logger = { warn: (message: string) => warnings.push(message) };
    const tessera = defaultStore({ adapter: 'tessera-session/fetch', logger });
    expect(typeof tessera.patch).toBe('function');
    const own = { kind: 'peer memory store' };
    expect(defaultStore({ adapter: 'x', logger, create: () => own })).toBe(own);
    expect(warnings).toEqual([]);
    vi.stubEnv('NODE_ENV', 'production');
    defaultStore({ adapter: 'tessera-session/fastify', logger, create: () => own });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^Warning: tessera-session\/fastify is using its default memory store/,
    );
  });
});

afterEach(() => {
  vi.unstubAllEnvs();
});
