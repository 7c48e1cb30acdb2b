import fastifyCookie from '@fastify/cookie';
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSessionManager } from '../../core/manager.js';
import { isTesseraError } from '../../shared/errors.js';
import { createMemoryStore, type MemoryStore } from '../../stores/memory/index.js';
import type { SessionPatch, SessionRecord, Store } from '../../stores/store.js';
import tessera, {
  MemoryStore as CallbackMemoryStore,
  type FastifySessionPluginOptions,
} from './index.js';

const HOST = 'app.test';
const SECRET = 'fastify-unit-test-secret-0123456789abcdef';
const now = (): number => Date.UTC(2026, 0, 1);
const apps: FastifyInstance[] = [];
const stores: MemoryStore[] = [];

afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  for (const store of stores.splice(0)) await store.close();
});

function memoryStore(): MemoryStore {
  const store = createMemoryStore({ purgeIntervalMs: 0, now });
  stores.push(store);
  return store;
}

async function build(
  options: Partial<FastifySessionPluginOptions>,
  routes: (app: FastifyInstance) => void,
  fastifyOptions: { trustProxy?: boolean } = {},
): Promise<FastifyInstance> {
  const app = Fastify(fastifyOptions);
  apps.push(app);
  await app.register(tessera, {
    secret: SECRET,
    now,
    csrf: {},
    ...options,
    cookie: { secure: 'auto', sameSite: 'lax', ...options.cookie },
  });
  routes(app);
  await app.ready();
  return app;
}

function setCookies(res: LightMyRequestResponse): string[] {
  const raw = res.headers['set-cookie'];
  return raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
}

/** The data keys of a session object (what JSON.stringify gives, without its cookie). */
function dataOf(session: unknown): Record<string, unknown> {
  const { cookie: _cookie, ...data } = JSON.parse(JSON.stringify(session)) as Record<
    string,
    unknown
  >;
  return data;
}

function jar(res: LightMyRequestResponse, name = 'sessionId'): string {
  const line = setCookies(res).find((l) => l.startsWith(`${name}=`));
  if (!line) throw new Error(`no ${name} cookie in ${JSON.stringify(setCookies(res))}`);
  return line.split(';')[0] as string;
}

const sameOrigin = { host: HOST, origin: `http://${HOST}` };

describe('tessera-session/fastify request.session', () => {
  it('reads and writes data as properties and through get/set, and persists it', async () => {
    const app = await build({ store: memoryStore() }, (a) => {
      a.post('/', async (request) => {
        request.session.views = ((request.session.views as number | undefined) ?? 0) + 1;
        request.session.set('last', 'home');
        return {
          views: request.session.get('views'),
          keys: Object.keys(request.session),
          has: 'views' in request.session,
        };
      });
      a.delete('/views', async (request) => {
        delete request.session.views;
        return dataOf(request.session);
      });
    });
    const first = await app.inject({ method: 'POST', url: '/', headers: sameOrigin });
    expect(first.json()).toEqual({ views: 1, keys: ['cookie', 'views', 'last'], has: true });
    const cookie = jar(first);
    const second = await app.inject({
      method: 'POST',
      url: '/',
      headers: { ...sameOrigin, cookie },
    });
    expect(second.json()).toMatchObject({ views: 2 });
    const removed = await app.inject({
      method: 'DELETE',
      url: '/views',
      headers: { ...sameOrigin, cookie },
    });
    expect(removed.json()).toEqual({ last: 'home' });
  });

  it('with rolling (the default), a read-only request makes one store call (the load) and still refreshes the cookie', async () => {
    const store = memoryStore();
    const calls: string[] = [];
    const counted = new Proxy(store, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          calls.push(String(name));
          return value.apply(target, args);
        };
      },
    });
    const app = await build({ store: counted }, (a) => {
      a.get('/', async (request) => ({ views: request.session.views ?? 0 }));
      a.post('/', async (request) => {
        request.session.views = ((request.session.views as number | undefined) ?? 0) + 1;
        return { views: request.session.views };
      });
    });
    const cookie = jar(await app.inject({ method: 'POST', url: '/', headers: sameOrigin }));
    calls.length = 0;
    const read = await app.inject({ url: '/', headers: { ...sameOrigin, cookie } });
    expect(read.json()).toEqual({ views: 1 });
    expect(jar(read)).toBe(cookie);
    expect(calls).toEqual(['get']);
    calls.length = 0;
    const inc = await app.inject({ method: 'POST', url: '/', headers: { ...sameOrigin, cookie } });
    expect(inc.json()).toEqual({ views: 2 });
    expect(calls).toEqual(['get', 'patch']);
  });

  it('saves an object changed in place (request.session.cart.push(x)), as @fastify/session does', async () => {
    const app = await build({ store: memoryStore() }, (a) => {
      a.post('/add', async (request) => {
        if (!request.session.cart) request.session.cart = [];
        (request.session.cart as string[]).push('apple');
        return { cart: request.session.cart };
      });
      a.get('/cart', async (request) => ({ cart: request.session.cart ?? null }));
    });
    const first = await app.inject({ method: 'POST', url: '/add', headers: sameOrigin });
    const cookie = jar(first);
    await app.inject({ method: 'POST', url: '/add', headers: { ...sameOrigin, cookie } });
    const cart = await app.inject({ url: '/cart', headers: { ...sameOrigin, cookie } });
    expect(cart.json()).toEqual({ cart: ['apple', 'apple'] });
  });

  it('regenerate(keep) gives a new ID with only the kept keys; the old ID is dead', async () => {
    const app = await build({ store: memoryStore() }, (a) => {
      a.post('/set', async (request) => {
        request.session.a = 1;
        request.session.b = 2;
        return { ok: true };
      });
      a.post('/regenerate', async (request) => {
        await request.session.regenerate(['a']);
        return dataOf(request.session);
      });
      a.get('/', async (request) => dataOf(request.session));
    });
    const cookie = jar(await app.inject({ method: 'POST', url: '/set', headers: sameOrigin }));
    const res = await app.inject({
      method: 'POST',
      url: '/regenerate',
      headers: { ...sameOrigin, cookie },
    });
    expect(res.json()).toEqual({ a: 1 });
    const next = jar(res);
    expect(next).not.toBe(cookie);
    expect((await app.inject({ url: '/', headers: { cookie: next } })).json()).toEqual({ a: 1 });
    expect((await app.inject({ url: '/', headers: { cookie } })).json()).toEqual({});
  });

  it('supports the callback forms and sets request.session to null after destroy', async () => {
    const app = await build({ store: memoryStore() }, (a) => {
      a.post('/save', (request, reply) => {
        request.session.set('n', 1);
        request.session.save((error) => {
          reply.send({ error: error ?? null, saved: request.session.isSaved() });
        });
      });
      a.post('/destroy', (request, reply) => {
        request.session.destroy((error) => {
          reply.send({ error: error ?? null, session: request.session });
        });
      });
    });
    const saved = await app.inject({ method: 'POST', url: '/save', headers: sameOrigin });
    expect(saved.json()).toEqual({ error: null, saved: true });
    const cookie = jar(saved);
    const destroyed = await app.inject({
      method: 'POST',
      url: '/destroy',
      headers: { ...sameOrigin, cookie },
    });
    expect(destroyed.json()).toEqual({ error: null, session: null });
    expect(setCookies(destroyed)[0]).toMatch(/^sessionId=; Max-Age=0; .*Expires=Thu, 01 Jan 1970/);
  });

  it('reload() re-reads the stored data, dropping unsaved changes', async () => {
    const app = await build({ store: memoryStore() }, (a) => {
      a.post('/set', async (request) => {
        request.session.color = 'blue';
        return {};
      });
      a.post('/reload', async (request) => {
        request.session.color = 'red';
        await request.session.reload();
        return { color: request.session.color, modified: request.session.isModified() };
      });
    });
    const cookie = jar(await app.inject({ method: 'POST', url: '/set', headers: sameOrigin }));
    const res = await app.inject({
      method: 'POST',
      url: '/reload',
      headers: { ...sameOrigin, cookie },
    });
    expect(res.json()).toEqual({ color: 'blue', modified: false });
  });

  it('options({ maxAge }) makes this session cookie persistent; cookie reports it', async () => {
    const app = await build({ store: memoryStore() }, (a) => {
      a.post('/remember', async (request) => {
        request.session.set('user', 'alice');
        request.session.options({ maxAge: 3_600_000 });
        return { maxAge: request.session.cookie.maxAge, httpOnly: request.session.cookie.httpOnly };
      });
    });
    const res = await app.inject({ method: 'POST', url: '/remember', headers: sameOrigin });
    expect(res.json()).toEqual({ maxAge: 3_600_000, httpOnly: true });
    expect(setCookies(res)[0]).toContain(`Expires=${new Date(now() + 3_600_000).toUTCString()}`);
  });

  it("one session's options() leave every other session's cookie as configured", async () => {
    const app = await build({ store: memoryStore() }, (a) => {
      a.post('/remember', async (request) => {
        request.session.set('user', 'alice');
        request.session.options({ maxAge: 3_600_000, domain: 'app.test' });
        return { ok: true };
      });
      a.post('/plain', async (request) => {
        request.session.set('user', 'bob');
        return { ok: true };
      });
    });
    for (let i = 0; i < 2; i++) {
      const remembered = setCookies(
        await app.inject({ method: 'POST', url: '/remember', headers: sameOrigin }),
      )[0];
      expect(remembered).toContain('Expires=');
      expect(remembered).toContain('Domain=app.test');
      const plain = await app.inject({ method: 'POST', url: '/plain', headers: sameOrigin });
      expect(setCookies(plain)[0]).toMatch(/^sessionId=[^;]+; Path=\/; HttpOnly; SameSite=Lax$/);
      // The same session again: its own settings are not those of the first one.
      const again = await app.inject({
        method: 'POST',
        url: '/plain',
        headers: { ...sameOrigin, cookie: jar(plain) },
      });
      expect(setCookies(again)[0]).toBe(setCookies(plain)[0]);
    }
  });

  it('an async handler that sends without returning reply still gets its cookie (onSend runs twice)', async () => {
    const app = await build({ store: memoryStore() }, (a) => {
      a.post('/', async (request, reply) => {
        request.session.views = ((request.session.views as number | undefined) ?? 0) + 1;
        await Promise.resolve();
        reply.send({ views: request.session.views });
      });
    });
    const first = await app.inject({ method: 'POST', url: '/', headers: sameOrigin });
    expect(first.statusCode).toBe(200);
    const cookie = jar(first);
    const second = await app.inject({
      method: 'POST',
      url: '/',
      headers: { ...sameOrigin, cookie },
    });
    expect(second.statusCode).toBe(200);
    expect(jar(second)).toBe(cookie);
    const read = await app.inject({ method: 'POST', url: '/', headers: { ...sameOrigin, cookie } });
    expect(read.json()).toEqual({ views: 3 });
  });

  it('login, device list and sign-out-everywhere live on request.sessionControl', async () => {
    const store = memoryStore();
    const app = await build({ store }, (a) => {
      a.post('/login', async (request) => {
        await request.sessionControl.login('alice');
        return { userId: request.sessionControl.userId, handle: request.sessionControl.handle };
      });
      a.get('/sessions', async (request) => request.sessionControl.sessions());
      a.post('/everywhere', async (request) => ({
        ended: await request.sessionControl.signOutEverywhere(),
        session: request.session,
      }));
    });
    const first = await app.inject({ method: 'POST', url: '/login', headers: sameOrigin });
    const second = await app.inject({ method: 'POST', url: '/login', headers: sameOrigin });
    expect(first.json().userId).toBe('alice');
    const list = await app.inject({ url: '/sessions', headers: { cookie: jar(second) } });
    const sessions = list.json() as Array<{ handle: string; current: boolean }>;
    expect(sessions).toHaveLength(2);
    expect(sessions.find((s) => s.current)?.handle).toBe(second.json().handle);
    const out = await app.inject({
      method: 'POST',
      url: '/everywhere',
      headers: { ...sameOrigin, cookie: jar(second) },
    });
    expect(out.json()).toEqual({ ended: 2, session: null });
    expect(await store.listByUser('alice')).toEqual([]);
  });

  it('login with remember makes the cookie persistent (Expires), capped by the session lifetime', async () => {
    const app = await build({ store: memoryStore(), absoluteTimeout: 7200 }, (a) => {
      a.post('/login', async (request) => {
        await request.sessionControl.login('alice', { remember: true });
        return { maxAge: request.session.cookie.originalMaxAge };
      });
    });
    const res = await app.inject({ method: 'POST', url: '/login', headers: sameOrigin });
    expect(res.json()).toEqual({ maxAge: 7_200_000 });
    expect(setCookies(res)[0]).toContain(`Expires=${new Date(now() + 7_200_000).toUTCString()}`);
  });

  it('keeps no request object in stored state: every record written is plain JSON data', async () => {
    const writes: unknown[] = [];
    const inner = memoryStore();
    const overrides: Partial<Store> = {
      create: (record: SessionRecord) => {
        writes.push(record);
        return inner.create(record);
      },
      patch: (key: string, patch: SessionPatch) => {
        writes.push(patch);
        return inner.patch(key, patch);
      },
    };
    const recording = new Proxy(inner, {
      get(target, property) {
        if (property in overrides) return overrides[property as keyof Store];
        const value = Reflect.get(target, property);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const app = await build({ store: recording }, (a) => {
      a.post('/', async (request) => {
        request.session.set('n', ((request.session.get('n') as number) ?? 0) + 1);
        return { n: request.session.n };
      });
    });
    const cookie = jar(await app.inject({ method: 'POST', url: '/', headers: sameOrigin }));
    const second = await app.inject({
      method: 'POST',
      url: '/',
      headers: { ...sameOrigin, cookie },
    });
    expect(second.json()).toEqual({ n: 2 });
    expect(writes).toHaveLength(2);
    for (const written of writes) {
      // A request object is circular: JSON.stringify would throw, and the round trip would differ.
      expect(JSON.parse(JSON.stringify(written))).toEqual(written);
      expect(JSON.stringify(written).length).toBeLessThan(1024);
    }
    const record = await inner.get((writes[0] as SessionRecord).key);
    expect(JSON.parse(JSON.stringify(record))).toEqual(record);
  });

  it('warns (never silently drops) when a Secure cookie meets plain HTTP, and stores nothing', async () => {
    const warnings: string[] = [];
    const store = memoryStore();
    const app = await build(
      { store, cookie: { secure: true }, logger: { warn: (m) => warnings.push(m) } },
      (a) => {
        a.post('/', async (request) => {
          request.session.set('n', 1);
          return { ok: true };
        });
      },
    );
    const res = await app.inject({ method: 'POST', url: '/', headers: sameOrigin });
    await app.inject({ method: 'POST', url: '/', headers: sameOrigin });
    expect(res.statusCode).toBe(200);
    expect(setCookies(res)).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /is Secure .* arrived over plain HTTP, so the session was not saved/,
    );
    expect(store.stats().size).toBe(0);
  });

  it('fails such requests with ERR_CONFIG when strictCookies is set', async () => {
    const app = await build(
      { store: memoryStore(), cookie: { secure: true }, strictCookies: true },
      (a) => {
        a.post('/', async (request) => {
          request.session.set('n', 1);
          return { ok: true };
        });
      },
    );
    const res = await app.inject({ method: 'POST', url: '/', headers: sameOrigin });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toMatchObject({ code: 'ERR_CONFIG' });
  });

  it('works alongside @fastify/cookie: both cookies are sent', async () => {
    const app = Fastify();
    apps.push(app);
    await app.register(fastifyCookie);
    await app.register(tessera, {
      secret: SECRET,
      store: memoryStore(),
      now,
      cookie: { secure: false },
    });
    app.post('/', async (request, reply) => {
      reply.setCookie('theme', 'dark', { path: '/' });
      request.session.set('n', 1);
      return { cookies: request.cookies };
    });
    await app.ready();
    const res = await app.inject({
      method: 'POST',
      url: '/',
      headers: { ...sameOrigin, cookie: 'other=1' },
    });
    expect(res.json()).toEqual({ cookies: { other: '1' } });
    const names = setCookies(res).map((l) => l.split('=')[0]);
    expect(names.sort()).toEqual(['sessionId', 'theme']);
  });

  it("sends Secure behind a trusted proxy that reports HTTPS; a __Host- name is the app's choice", async () => {
    const app = await build(
      { store: memoryStore(), cookieName: '__Host-sid' },
      (a) => {
        a.post('/', async (request) => {
          request.session.set('n', 1);
          return { secure: request.session.cookie.secure };
        });
      },
      { trustProxy: true },
    );
    const res = await app.inject({
      method: 'POST',
      url: '/',
      headers: { host: HOST, origin: `https://${HOST}`, 'x-forwarded-proto': 'https' },
    });
    expect(res.json()).toEqual({ secure: true });
    expect(setCookies(res)[0]).toMatch(
      /^__Host-sid=[^;]+; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
    );
  });

  it("without a store, uses @fastify/session's MemoryStore and warns once in production", async () => {
    const warnings: string[] = [];
    const logger = { warn: (message: string) => warnings.push(message) };
    const register = async (): Promise<FastifyInstance> => {
      const app = Fastify();
      apps.push(app);
      await app.register(fastifyCookie);
      await app.register(tessera, { secret: SECRET, csrf: {}, logger });
      app.get('/', async (request) => ({
        store: request.sessionStore instanceof CallbackMemoryStore,
      }));
      return app;
    };
    const app = await register();
    expect((await app.inject({ url: '/' })).json()).toEqual({ store: true });
    expect(warnings.filter((w) => w.includes('default memory store'))).toEqual([]);
    vi.stubEnv('NODE_ENV', 'production');
    try {
      await register();
    } finally {
      vi.unstubAllEnvs();
    }
    expect(warnings.filter((w) => w.includes('default memory store'))).toEqual([
      expect.stringMatching(/^Warning: tessera-session\/fastify is using its default memory store/),
    ]);
  });

  it('refuses bad options at registration with a message naming the option', async () => {
    const refuses = async (options: unknown, pattern: RegExp): Promise<void> => {
      const app = Fastify();
      apps.push(app);
      await expect(app.register(tessera, options as FastifySessionPluginOptions)).rejects.toSatisfy(
        (e: unknown) => isTesseraError(e, 'ERR_CONFIG') && pattern.test((e as Error).message),
      );
    };
    await refuses({ secret: SECRET, cookie: { maxAge: -5 } }, /cookie\.maxAge/);
    const store = memoryStore();
    await refuses(
      { secret: SECRET, store, manager: createSessionManager({ store }) },
      /manager or store/,
    );
  });
});
