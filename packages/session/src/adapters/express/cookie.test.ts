import expressSession from 'express-session';
import { describe, expect, it } from 'vitest';
import { Cookie } from './cookie.js';
import { MemoryStore, Store } from './store.js';

describe('Cookie', () => {
  it('has the JSON shape of express-session’s Cookie for the same settings', () => {
    const settings = {
      maxAge: 60_000,
      httpOnly: true,
      path: '/',
      sameSite: 'lax' as const,
      secure: false,
    };
    const ours = JSON.parse(JSON.stringify(new Cookie(settings)));
    const theirs = JSON.parse(
      JSON.stringify(
        new (expressSession.Cookie as unknown as new (options: object) => object)(settings),
      ),
    );
    expect(Object.keys(ours)).toEqual(Object.keys(theirs));
    expect({ ...ours, expires: 0, originalMaxAge: 0 }).toEqual({
      ...theirs,
      expires: 0,
      originalMaxAge: 0,
    });
  });

  it('maxAge counts down from expires; setting it moves expires and originalMaxAge', () => {
    const cookie = new Cookie();
    expect(cookie.maxAge).toBeNull();
    expect(cookie.expires).toBeNull();
    cookie.maxAge = 30 * 86400e3;
    expect(cookie.expires!.valueOf() - Date.now()).toBeGreaterThan(30 * 86400e3 - 1000);
    expect(cookie.originalMaxAge).toBeGreaterThan(30 * 86400e3 - 1000);
    cookie.maxAge = null;
    expect(cookie.expires).toBeNull();
    expect(() => {
      cookie.maxAge = 'soon' as never;
    }).toThrow(TypeError);
  });

  it('restores a stored cookie (expires as a string, originalMaxAge kept)', () => {
    const expires = new Date(Date.now() + 10_000).toISOString();
    const cookie = new Cookie({ originalMaxAge: 60_000, expires, httpOnly: true, path: '/' });
    expect(cookie.expires).toBeInstanceOf(Date);
    expect(cookie.originalMaxAge).toBe(60_000);
    expect(cookie.maxAge).toBeLessThanOrEqual(10_000);
  });
});

describe('MemoryStore (express-session compatible)', () => {
  it('is a Store, keeps JSON by raw ID and forgets sessions whose cookie expired', async () => {
    let now = Date.now();
    const store = new MemoryStore({ now: () => now });
    expect(store).toBeInstanceOf(Store);
    const expires = new Date(now + 1000).toISOString();
    await new Promise<void>((resolve) =>
      store.set('sid', { cookie: { expires }, a: 1 }, () => resolve()),
    );
    const read = () => new Promise((resolve) => store.get('sid', (_e, s) => resolve(s)));
    expect(await read()).toEqual({ cookie: { expires }, a: 1 });
    now += 2000;
    expect(await read()).toBeNull();
  });
});
