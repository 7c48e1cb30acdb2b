/**
 * tessera-session/fastify as a drop-in for @fastify/session 11, on real Fastify 5: each
 * documented option and behaviour of @fastify/session, several checked side by side with
 * @fastify/session itself (same store, same cookie, same Set-Cookie).
 */
import { Signer } from '@fastify/cookie';
import ExpressSession from 'express-session';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore } from '../../packages/session/src/adapters/fastify/index.js';
import { isTesseraError } from '../../packages/session/src/shared/errors.js';
import { createMemoryStore } from '../../packages/session/src/stores/memory/index.js';
import {
  closeApps,
  countingStore,
  dataOf,
  jar,
  peerApp,
  SECRET,
  setCookies,
  tesseraApp,
} from './support.js';

const HTTPS = { 'x-forwarded-proto': 'https' };

// The app's session data is typed as with @fastify/session (checked by `npm run typecheck`).
declare module 'fastify' {
  interface Session {
    typedVisits?: number;
  }
}
// CSRF is not the subject here (its own test is below): requests carry no Origin.
const plain = { secret: SECRET, csrf: false as const, cookie: { secure: false } };

afterEach(async () => {
  vi.useRealTimers();
  await closeApps();
});

describe('defaults of @fastify/session', () => {
  it('saveUninitialized true and cookieName sessionId: an untouched session is stored and sent', async () => {
    const store = countingStore();
    const app = await tesseraApp({ secret: SECRET, store }, (a) => a.get('/', async () => ({})));
    const res = await app.inject({ url: '/', headers: HTTPS });
    expect(setCookies(res)).toHaveLength(1);
    expect(setCookies(res)[0]).toMatch(
      /^sessionId=[\w-]{32}\.[^;]+; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
    );
    expect(store.map.size).toBe(1);
  });

  it('cookie.secure defaults to true: over plain HTTP nothing is saved or sent, and a warning says so once', async () => {
    const store = countingStore();
    const warnings: string[] = [];
    const app = await tesseraApp(
      {
        secret: SECRET,
        store,
        logger: { warn: (m) => warnings.push(m) },
        csrf: {},
        cookie: { sameSite: 'lax' },
      },
      (a) =>
        a.post('/', async (request) => {
          request.session.n = 1;
          return {};
        }),
    );
    await app.inject({ method: 'POST', url: '/' });
    const res = await app.inject({ method: 'POST', url: '/' });
    expect(setCookies(res)).toEqual([]);
    expect(store.calls.set).toBe(0);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/cookie.secure 'auto'/);
  });

  it('refuses a missing or short secret with @fastify/session messages, and accepts an array', async () => {
    await expect(tesseraApp({}, () => {})).rejects.toThrow(
      'the secret option is required, and must be a String, Array of Strings, or a signer object with .sign and .unsign methods',
    );
    await expect(tesseraApp({ secret: 'short' }, () => {})).rejects.toThrow(
      'the secret must have length 32 or greater',
    );
    await expect(tesseraApp({ secret: [] }, () => {})).rejects.toThrow(
      'at least one secret is required',
    );
    await expect(tesseraApp({ secret: ['short'] }, () => {})).resolves.toBeDefined();
  });
});

describe('options that are not supported fail registration', () => {
  it('an unknown plugin option, an unknown cookie option, and an unknown session.options() key are ERR_CONFIG naming it', async () => {
    const named = (name: RegExp) => (e: unknown) =>
      isTesseraError(e, 'ERR_CONFIG') && name.test((e as Error).message);
    await expect(tesseraApp({ secret: SECRET, resave: true }, () => {})).rejects.toSatisfy(
      named(/'resave'/),
    );
    await expect(
      tesseraApp({ secret: SECRET, cookie: { signed: true } as never }, () => {}),
    ).rejects.toSatisfy(named(/cookie\.signed/));
    const app = await tesseraApp(plain, (a) =>
      a.get('/', async (request) => {
        try {
          request.session.options({ encode: String } as never);
          return { thrown: null };
        } catch (error) {
          return { thrown: (error as { code?: string }).code, message: (error as Error).message };
        }
      }),
    );
    const res = await app.inject({ url: '/' });
    expect(res.json()).toMatchObject({
      thrown: 'ERR_CONFIG',
      message: expect.stringMatching(/options\.encode/),
    });
  });
});

describe('stores', () => {
  it('takes a @fastify/session-style callback store, keeps its format, and exposes request.sessionStore', async () => {
    const store = countingStore();
    const app = await tesseraApp({ ...plain, store }, (a) => {
      a.post('/', async (request) => {
        request.session.user = { name: 'max' };
        return { same: request.sessionStore === store };
      });
      a.get('/', async (request) => dataOf(request.session));
    });
    const res = await app.inject({ method: 'POST', url: '/' });
    expect(res.json()).toEqual({ same: true });
    const [id, stored] = [...store.map.entries()][0] as [string, Record<string, unknown>];
    expect(id).toMatch(/^[\w-]{32}$/);
    expect(Object.keys(stored).sort()).toEqual(['cookie', 'user']);
    expect(stored.cookie).toMatchObject({
      path: '/',
      httpOnly: true,
      secure: false,
      originalMaxAge: null,
    });
    expect((await app.inject({ url: '/', headers: { cookie: jar(res) } })).json()).toEqual({
      user: { name: 'max' },
    });
  });

  it('takes an express-session (connect-style) store that answers asynchronously', async () => {
    const store = new ExpressSession.MemoryStore();
    const app = await tesseraApp({ ...plain, store: store as never }, (a) => {
      a.post('/', async (request) => {
        request.session.count = ((request.session.count as number) ?? 0) + 1;
        return { count: request.session.count };
      });
    });
    const first = await app.inject({ method: 'POST', url: '/' });
    const second = await app.inject({ method: 'POST', url: '/', headers: { cookie: jar(first) } });
    expect(second.json()).toEqual({ count: 2 });
    const all = await new Promise<Record<string, unknown>>((resolve) =>
      store.all((_e, sessions) => resolve(sessions as Record<string, unknown>)),
    );
    expect(Object.values(all)).toHaveLength(1);
  });

  it('sessions move both ways between @fastify/session and Tessera on the same store', async () => {
    const map = new Map<string, unknown>();
    const routes = (a: import('fastify').FastifyInstance): void => {
      a.post('/', async (request) => {
        (request.session as unknown as Record<string, unknown>).by = request.headers['x-by'];
        return {};
      });
      a.get('/', async (request) => ({
        by: (request.session as unknown as Record<string, unknown>).by,
      }));
    };
    const peer = await peerApp({ ...plain, store: countingStore(map) }, routes);
    const ours = await tesseraApp({ ...plain, store: countingStore(map) }, routes);
    const fromPeer = await peer.inject({ method: 'POST', url: '/', headers: { 'x-by': 'peer' } });
    expect((await ours.inject({ url: '/', headers: { cookie: jar(fromPeer) } })).json()).toEqual({
      by: 'peer',
    });
    const fromUs = await ours.inject({ method: 'POST', url: '/', headers: { 'x-by': 'tessera' } });
    expect((await peer.inject({ url: '/', headers: { cookie: jar(fromUs) } })).json()).toEqual({
      by: 'tessera',
    });
  });

  it('a callback store error reaches the app as the store gave it (500 with its message)', async () => {
    const store = {
      get: (_id: string, cb: (e?: unknown) => void) => cb(new Error('store is on fire')),
      set: (_id: string, _v: unknown, cb: (e?: unknown) => void) => cb(),
      destroy: (_id: string, cb: (e?: unknown) => void) => cb(),
    };
    const app = await tesseraApp({ ...plain, store }, (a) => a.get('/', async () => ({})));
    const signed = new Signer(SECRET).sign('Qk_XT2K7-clT-x1tVvoY6tIQ83iP72KN');
    const res = await app.inject({
      url: '/',
      headers: { cookie: `sessionId=${encodeURIComponent(signed)}` },
    });
    expect(res.statusCode).toBe(500);
    expect(res.json().message).toBe('store is on fire');
  });

  it('types the data the app declares on fastify.Session, as @fastify/session does', async () => {
    const app = await tesseraApp(plain, (a) =>
      a.get('/', async (request) => {
        const visits: number | undefined = request.session.typedVisits;
        request.session.typedVisits = (visits ?? 0) + 1;
        return { visits: request.session.typedVisits };
      }),
    );
    expect((await app.inject({ url: '/' })).json()).toEqual({ visits: 1 });
  });

  it('exports MemoryStore, the default store, with a Map the app may pass in', async () => {
    const map = new Map<string, unknown>();
    const app = await tesseraApp({ ...plain, store: new MemoryStore(map) }, (a) =>
      a.get('/', async (request) => {
        request.session.set('a', 1);
        return {};
      }),
    );
    await app.inject({ url: '/' });
    expect([...map.values()]).toEqual([expect.objectContaining({ a: 1 })]);
  });
});

describe('the cookie: format, signature, prefix', () => {
  it('sends the same Set-Cookie as @fastify/session for the same ID and settings', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.UTC(2026, 0, 1));
    const options = {
      secret: SECRET,
      idGenerator: () => 'Qk_XT2K7-clT-x1tVvoY6tIQ83iP72KN',
      cookie: {
        secure: true,
        maxAge: 60_000,
        sameSite: 'strict' as const,
        domain: 'app.test',
        path: '/',
        partitioned: true,
        httpOnly: false,
      },
    };
    const routes = (a: import('fastify').FastifyInstance): void => {
      a.get('/', async () => ({}));
    };
    const peer = await peerApp({ ...options, store: countingStore() }, routes);
    const ours = await tesseraApp({ ...options, store: countingStore() }, routes);
    const expected = setCookies(await peer.inject({ url: '/', headers: HTTPS }));
    expect(expected).toHaveLength(1);
    expect(setCookies(await ours.inject({ url: '/', headers: HTTPS }))).toEqual(expected);
  });

  it('signs with the configured algorithm (verifiable by @fastify/cookie) and takes a custom signer', async () => {
    const app = await tesseraApp({ ...plain, algorithm: 'sha512' }, (a) =>
      a.get('/', async () => ({})),
    );
    const value = decodeURIComponent(
      jar(await app.inject({ url: '/' })).slice('sessionId='.length),
    );
    expect(new Signer(SECRET, 'sha512').unsign(value)).toMatchObject({ valid: true });
    expect(new Signer(SECRET, 'sha256').unsign(value)).toMatchObject({ valid: false });
    const custom = new Signer(SECRET, 'sha384');
    const other = await tesseraApp({ secret: custom, cookie: { secure: false } }, (a) =>
      a.get('/', async () => ({})),
    );
    const signed = decodeURIComponent(
      jar(await other.inject({ url: '/' })).slice('sessionId='.length),
    );
    expect(custom.unsign(signed)).toMatchObject({ valid: true });
    await expect(tesseraApp({ ...plain, algorithm: 'nope' }, () => {})).rejects.toSatisfy(
      (e: unknown) => isTesseraError(e, 'ERR_CONFIG'),
    );
  });

  it('cookiePrefix s: reads an express-session cookie and writes the prefix back', async () => {
    const store = countingStore();
    store.map.set('Qk_XT2K7-clT-x1tVvoY6tIQ83iP72KN', { cookie: {}, from: 'express' });
    const app = await tesseraApp(
      { ...plain, cookieName: 'connect.sid', cookiePrefix: 's:', store },
      (a) => a.get('/', async (request) => ({ from: request.session.from })),
    );
    const value = `s:${new Signer(SECRET).sign('Qk_XT2K7-clT-x1tVvoY6tIQ83iP72KN')}`;
    const res = await app.inject({
      url: '/',
      headers: { cookie: `connect.sid=${encodeURIComponent(value)}` },
    });
    expect(res.json()).toEqual({ from: 'express' });
    expect(setCookies(res)[0]).toMatch(/^connect\.sid=s%3AQk_XT2K7-clT-x1tVvoY6tIQ83iP72KN\./);
  });

  it('cookie.expires sets Expires; maxAge below a second is honoured in milliseconds', async () => {
    const at = new Date(Date.UTC(2030, 0, 1));
    const a1 = await tesseraApp({ secret: SECRET, cookie: { secure: false, expires: at } }, (a) =>
      a.get('/', async () => ({})),
    );
    expect(setCookies(await a1.inject({ url: '/' }))[0]).toContain(`Expires=${at.toUTCString()}`);
    const now = (): number => Date.UTC(2026, 0, 1, 0, 0, 0, 200);
    const a2 = await tesseraApp(
      { secret: SECRET, now, cookie: { secure: false, maxAge: 900 } },
      (a) =>
        a.get('/', async (request) => ({ originalMaxAge: request.session.cookie.originalMaxAge })),
    );
    const res = await a2.inject({ url: '/' });
    expect(res.json()).toEqual({ originalMaxAge: 900 });
    expect(setCookies(res)[0]).toContain(`Expires=${new Date(now() + 900).toUTCString()}`);
  });

  it("secure 'auto': plain HTTP gets no Secure and SameSite=Lax; HTTPS gets Secure and keeps SameSite=None", async () => {
    const app = await tesseraApp(
      { secret: SECRET, cookie: { secure: 'auto', sameSite: 'none' } },
      (a) =>
        a.get('/', async (request) => ({
          secure: request.session.cookie.secure,
          sameSite: request.session.cookie.sameSite,
        })),
    );
    const http = await app.inject({ url: '/' });
    expect(http.json()).toEqual({ secure: false, sameSite: 'lax' });
    expect(setCookies(http)[0]).toMatch(/; Path=\/; HttpOnly; SameSite=Lax$/);
    const https = await app.inject({ url: '/', headers: HTTPS });
    expect(https.json()).toEqual({ secure: true, sameSite: 'none' });
    expect(setCookies(https)[0]).toMatch(/; Path=\/; HttpOnly; Secure; SameSite=None$/);
  });

  it('session.options() sets any cookie option for this session, and the session keeps it', async () => {
    const store = countingStore();
    const app = await tesseraApp({ ...plain, store }, (a) => {
      a.post('/', async (request) => {
        request.session.options({
          maxAge: 3_600_000,
          domain: 'app.test',
          sameSite: 'strict',
          httpOnly: false,
        });
        request.session.n = 1;
        return {};
      });
      a.get('/', async () => ({}));
    });
    const first = await app.inject({ method: 'POST', url: '/' });
    expect(setCookies(first)[0]).toMatch(
      /; Domain=app\.test; Path=\/; Expires=[^;]+; SameSite=Strict$/,
    );
    const again = await app.inject({ url: '/', headers: { cookie: jar(first) } });
    expect(setCookies(again)[0]).toMatch(
      /; Domain=app\.test; Path=\/; Expires=[^;]+; SameSite=Strict$/,
    );
  });
});

describe('end-of-request rules', () => {
  it('rolling true writes the session on every request; rolling false only when the data changes', async () => {
    const counts: Record<string, number[]> = {};
    for (const rolling of [true, false]) {
      const store = countingStore();
      const app = await tesseraApp({ ...plain, store, rolling, saveUninitialized: false }, (a) => {
        a.get('/', async (request) => {
          request.session.userId = 42; // the same value every time: a change only once
          return {};
        });
      });
      const first = await app.inject({ url: '/' });
      const cookie = jar(first);
      const second = await app.inject({ url: '/', headers: { cookie } });
      await app.inject({ url: '/', headers: { cookie } });
      counts[String(rolling)] = [store.calls.set, setCookies(second).length];
    }
    expect(counts).toEqual({ true: [3, 1], false: [1, 0] });
  });

  it('clears a stale or unknown cookie with Max-Age=0 and the configured path and domain', async () => {
    const app = await tesseraApp(
      {
        secret: SECRET,
        saveUninitialized: false,
        cookie: { secure: false, path: '/admin', domain: 'app.test' },
      },
      (a) => a.get('/admin', async () => ({})),
    );
    const stale = `sessionId=${encodeURIComponent(new Signer(SECRET).sign('gone-gone-gone'))}`;
    const res = await app.inject({ url: '/admin', headers: { cookie: stale } });
    expect(setCookies(res)).toEqual([
      'sessionId=; Max-Age=0; Domain=app.test; Path=/admin; Expires=Thu, 01 Jan 1970 00:00:00 GMT; SameSite=Lax',
    ]);
    const none = await app.inject({ url: '/admin', headers: { cookie: 'other=1' } });
    expect(setCookies(none)).toEqual([]);
  });

  it('re-signs the cookie of a session signed with an older secret, even when nothing is saved', async () => {
    const store = countingStore();
    store.map.set('Qk_XT2K7-clT-x1tVvoY6tIQ83iP72KN', { cookie: {}, kept: true });
    const newer = 'a-newer-secret-of-at-least-32-characters!';
    const app = await tesseraApp(
      { ...plain, secret: [newer, SECRET], store, rolling: false, saveUninitialized: false },
      (a) => a.get('/', async (request) => ({ kept: request.session.kept })),
    );
    const old = `sessionId=${encodeURIComponent(new Signer(SECRET).sign('Qk_XT2K7-clT-x1tVvoY6tIQ83iP72KN'))}`;
    const res = await app.inject({ url: '/', headers: { cookie: old } });
    expect(res.json()).toEqual({ kept: true });
    const value = decodeURIComponent(jar(res).slice('sessionId='.length));
    expect(new Signer(newer).unsign(value)).toEqual({
      valid: true,
      renew: false,
      value: 'Qk_XT2K7-clT-x1tVvoY6tIQ83iP72KN',
    });
    expect(store.calls.set).toBe(0);
  });

  it('gives no session outside cookie.path', async () => {
    const app = await tesseraApp(
      { secret: SECRET, cookie: { secure: false, path: '/app' } },
      (a) => {
        a.get('/elsewhere', async (request) => ({ keys: Object.keys(request.session ?? {}) }));
        a.get('/app/x', async (request) => ({ id: typeof request.session.sessionId }));
      },
    );
    const outside = await app.inject({ url: '/elsewhere' });
    expect(outside.json()).toEqual({ keys: [] });
    expect(setCookies(outside)).toEqual([]);
    expect((await app.inject({ url: '/app/x' })).json()).toEqual({ id: 'string' });
  });
});

describe('request.session methods', () => {
  it('reload() of a new session resolves with empty data (callback gets null)', async () => {
    const app = await tesseraApp(plain, (a) =>
      a.get('/', (request, reply) => {
        request.session.someData = 'x';
        request.session.reload((error) =>
          reply.send({ error, someData: request.session.someData ?? 'gone' }),
        );
      }),
    );
    expect((await app.inject({ url: '/' })).json()).toEqual({ error: null, someData: 'gone' });
  });

  it('touch() restarts the cookie expiry from its maxAge; without maxAge it changes nothing', async () => {
    let time = Date.UTC(2026, 0, 1);
    const now = (): number => time;
    const app = await tesseraApp(
      { ...plain, now, cookie: { secure: false, maxAge: 10_000 } },
      (a) =>
        a.get('/', async (request) => {
          const before = request.session.cookie.expires?.valueOf();
          time += 4_000;
          request.session.touch();
          return { moved: (request.session.cookie.expires?.valueOf() ?? 0) - (before ?? 0) };
        }),
    );
    expect((await app.inject({ url: '/' })).json()).toEqual({ moved: 4_000 });
    const session = await tesseraApp(plain, (a) =>
      a.get('/', async (request) => {
        request.session.touch();
        return { expires: request.session.cookie.expires };
      }),
    );
    expect((await session.inject({ url: '/' })).json()).toEqual({ expires: null });
  });

  it('idGenerator is used without and with the request (regenerate sees the old session)', async () => {
    const app = await tesseraApp(
      {
        ...plain,
        idGenerator: (request?: unknown) =>
          (request as { session?: { returning?: boolean } } | undefined)?.session?.returning
            ? `returning-${Math.random()}`
            : `custom-${Math.random()}`,
      },
      (a) => {
        a.get('/', async (request) => ({ id: request.session.sessionId }));
        a.post('/again', async (request) => {
          request.session.returning = true;
          await request.session.regenerate();
          return { id: request.session.sessionId };
        });
      },
    );
    const first = await app.inject({ url: '/' });
    expect(first.json().id).toMatch(/^custom-/);
    const again = await app.inject({
      method: 'POST',
      url: '/again',
      headers: { cookie: jar(first) },
    });
    expect(again.json().id).toMatch(/^returning-/);
    const noRequest = await tesseraApp(
      { ...plain, idGenerator: () => 'fixed-id-without-request' },
      (a) => a.get('/', async (request) => ({ id: request.session.sessionId })),
    );
    expect((await noRequest.inject({ url: '/' })).json()).toEqual({
      id: 'fixed-id-without-request',
    });
  });

  it('idGenerator with a Tessera store is refused (Tessera stores issue and hash their own IDs)', async () => {
    const store = createMemoryStore({ purgeIntervalMs: 0 });
    await expect(
      tesseraApp({ ...plain, store, idGenerator: () => 'x' }, () => {}),
    ).rejects.toSatisfy(
      (e: unknown) => isTesseraError(e, 'ERR_CONFIG') && /idGenerator/.test((e as Error).message),
    );
    await store.close();
  });

  it('fastify.decryptSession loads a stored session into any object, with cookie option overrides', async () => {
    const store = countingStore();
    store.map.set('Qk_XT2K7-clT-x1tVvoY6tIQ83iP72KN', { cookie: {}, testData: 'this is a test' });
    const app = await tesseraApp({ secret: SECRET, store }, () => {});
    const signed = new Signer(SECRET).sign('Qk_XT2K7-clT-x1tVvoY6tIQ83iP72KN');
    const target: { session?: Record<string, unknown> & { cookie: { originalMaxAge: unknown } } } =
      {};
    await new Promise<void>((resolve, reject) =>
      app.decryptSession(signed, target, { maxAge: 86_400 }, (error) =>
        error ? reject(error) : resolve(),
      ),
    );
    expect(target.session?.testData).toBe('this is a test');
    expect(target.session?.sessionId).toBe('Qk_XT2K7-clT-x1tVvoY6tIQ83iP72KN');
    expect(target.session?.cookie.originalMaxAge).toBe(86_400);
  });

  it("data keys are the app's: userId, handle, login, sessions are plain data; Tessera's helpers are on request.sessionControl", async () => {
    const store = createMemoryStore({ purgeIntervalMs: 0 });
    const app = await tesseraApp({ ...plain, store }, (a) => {
      a.post('/', async (request) => {
        request.session.userId = 42;
        request.session.handle = 'h';
        request.session.login = 'alice';
        request.session.sessions = [1, 2];
        await request.sessionControl.login('alice');
        return { control: request.sessionControl.userId };
      });
      a.get('/', async (request) => dataOf(request.session));
    });
    const res = await app.inject({ method: 'POST', url: '/' });
    expect(res.json()).toEqual({ control: 'alice' });
    const back = await app.inject({ url: '/', headers: { cookie: jar(res) } });
    expect(back.json()).toEqual({ userId: 42, handle: 'h', login: 'alice', sessions: [1, 2] });
    await store.close();
  });

  it('request.sessionControl needs a Tessera store: with a callback store login is ERR_CONFIG', async () => {
    const app = await tesseraApp(plain, (a) =>
      a.post('/', async (request) => {
        await request.sessionControl.login('alice');
        return {};
      }),
    );
    const res = await app.inject({ method: 'POST', url: '/' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toMatchObject({ code: 'ERR_CONFIG' });
  });
});

describe('security differences are loud', () => {
  it('one warning at registration names csrf and cookie.sameSite; none once both are set', async () => {
    const warnings: string[] = [];
    const logger = { warn: (m: string) => warnings.push(m) };
    await tesseraApp({ secret: SECRET, logger }, () => {});
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/csrf: false/);
    expect(warnings[0]).toMatch(/cookie\.sameSite: false/);
    await tesseraApp(
      { secret: SECRET, logger, csrf: false, cookie: { sameSite: false } },
      () => {},
    );
    expect(warnings).toHaveLength(1);
  });

  it("warns when cookie.maxAge outlives a Tessera store's server-side timeouts, naming them", async () => {
    const warnings: string[] = [];
    const logger = { warn: (m: string) => warnings.push(m) };
    const store = createMemoryStore({ purgeIntervalMs: 0 });
    const month = 30 * 86_400;
    const stated = { secret: SECRET, logger, store, csrf: false as const };
    await tesseraApp({ ...stated, cookie: { sameSite: 'lax', maxAge: month * 1000 } }, () => {});
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/idleTimeout 1800 s/);
    await tesseraApp(
      {
        ...stated,
        idleTimeout: month,
        absoluteTimeout: month,
        cookie: { sameSite: 'lax', maxAge: month * 1000 },
      },
      () => {},
    );
    expect(warnings).toHaveLength(1);
    await store.close();
  });

  it('csrf: false and cookie.sameSite: false restore @fastify/session behaviour', async () => {
    const app = await tesseraApp(
      { secret: SECRET, csrf: false, cookie: { secure: false, sameSite: false } },
      (a) =>
        a.post('/', async (request) => {
          request.session.n = 1;
          return {};
        }),
    );
    const first = await app.inject({ method: 'POST', url: '/' });
    expect(setCookies(first)[0]).toMatch(/; Path=\/; HttpOnly$/);
    const cross = await app.inject({
      method: 'POST',
      url: '/',
      headers: {
        cookie: jar(first),
        'sec-fetch-site': 'cross-site',
        origin: 'https://evil.example',
      },
    });
    expect(cross.statusCode).toBe(200);
  });
});
