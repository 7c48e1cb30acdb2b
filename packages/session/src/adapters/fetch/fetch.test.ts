import { Hono } from 'hono';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSessionManager } from '../../core/manager.js';
import { isTesseraError } from '../../shared/errors.js';
import { createMemoryStore, type MemoryStore } from '../../stores/memory/index.js';
import {
  createFetchSessions,
  type FetchSessionOptions,
  type TesseraHonoEnv,
  tesseraHono,
  withSession,
} from './index.js';

const now = (): number => Date.UTC(2026, 0, 1);
const stores: MemoryStore[] = [];

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

function options(extra: Partial<FetchSessionOptions> = {}): FetchSessionOptions {
  const store = createMemoryStore({ purgeIntervalMs: 0, now });
  stores.push(store);
  return { store, now, ...extra };
}

function post(url: string, headers: Record<string, string> = {}): Request {
  return new Request(url, { method: 'POST', headers: { origin: new URL(url).origin, ...headers } });
}

function jar(response: Response, name = 'tessera.sid'): string {
  const line = response.headers.getSetCookie().find((l) => l.startsWith(`${name}=`));
  if (!line) throw new Error(`no ${name} cookie in ${response.headers.getSetCookie()}`);
  return line.split(';')[0] as string;
}

describe('tessera-session/fetch withSession', () => {
  it('gives the handler ctx.session and passes extra server arguments after ctx', async () => {
    const handler = withSession<[{ params: { id: string } }]>(
      async (_request, { session }, extra) => {
        session.set('id', extra.params.id);
        return Response.json({ id: session.get('id'), isNew: session.isNew });
      },
      options(),
    );
    const res = await handler(post('http://app.test/items/7'), { params: { id: '7' } });
    expect(await res.json()).toEqual({ id: '7', isNew: true });
    expect(jar(res)).toMatch(/^tessera\.sid=[A-Za-z0-9_-]{43}$/);
  });

  it('reads cookie.maxAge in milliseconds, as the Express and Fastify adapters do', async () => {
    const handler = withSession(
      async (_request, { session }) => {
        session.set('theme', 'dark');
        return new Response('ok');
      },
      options({ cookie: { maxAge: 3_600_000 } }), // one hour
    );
    const res = await handler(post('http://app.test/'));
    const line = res.headers.getSetCookie().find((l) => l.startsWith('tessera.sid=')) ?? '';
    expect(line).toContain('Max-Age=3600;');
  });

  it('refuses a cookie.maxAge under one second at construction (seconds given by mistake)', () => {
    let error: unknown;
    try {
      withSession(async () => new Response('ok'), options({ cookie: { maxAge: 60 } }));
    } catch (caught) {
      error = caught;
    }
    expect(isTesseraError(error, 'ERR_CONFIG')).toBe(true);
    expect(String(error)).toContain('cookie.maxAge must be a lifetime in milliseconds');
  });

  it('adds the cookie to an immutable Response (Response.redirect) by copying it', async () => {
    const handler = withSession(async (_request, { session }) => {
      session.set('flash', 'saved');
      return Response.redirect('http://app.test/done', 303);
    }, options());
    const res = await handler(post('http://app.test/form'));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('http://app.test/done');
    expect(jar(res)).toMatch(/^tessera\.sid=/);
  });

  it('shares one configuration between handlers, and saves objects changed in place', async () => {
    const sessions = createFetchSessions(options());
    const add = sessions.wrap(async (_request, { session }) => {
      const cart = session.get<string[]>('cart');
      if (cart) cart.push('pear');
      else session.set('cart', ['apple']);
      return new Response(null, { status: 204 });
    });
    const show = sessions.wrap(async (_request, { session }) => Response.json(session.toJSON()));
    const cookie = jar(await add(post('http://app.test/add')));
    await add(post('http://app.test/add', { cookie }));
    const res = await show(new Request('http://app.test/', { headers: { cookie } }));
    expect(await res.json()).toEqual({ cart: ['apple', 'pear'] });
  });

  it('answers a cross-site POST with the session cookie with 403 JSON, before the handler runs', async () => {
    let ran = 0;
    const handler = withSession(async (_request, { session }) => {
      ran++;
      session.set('n', ran);
      return new Response('ok');
    }, options());
    const cookie = jar(await handler(post('http://app.test/')));
    const res = await handler(
      post('http://app.test/', {
        cookie,
        origin: 'https://evil.example',
        'sec-fetch-site': 'cross-site',
      }),
    );
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: 'forbidden' });
    expect(ran).toBe(1);
  });

  it('uses onError for refusals (here: the store is down)', async () => {
    const base = options();
    const store = base.store as MemoryStore;
    const handler = withSession(
      async (_request, { session }) => {
        session.set('n', 1);
        return new Response('ok');
      },
      {
        ...base,
        onError: (error) =>
          new Response(`sorry: ${error.code}`, { status: 503, headers: { 'retry-after': '5' } }),
      },
    );
    const cookie = jar(await handler(post('http://app.test/')));
    await store.close();
    const res = await handler(new Request('http://app.test/', { headers: { cookie } }));
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/^sorry: ERR_STORE_(UNAVAILABLE|CLOSED)$/);
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it('reads HTTPS from the URL, and from X-Forwarded-Proto only with trustProxy', async () => {
    const handle = (trustProxy: boolean) =>
      withSession(async (_request, { session }) => {
        session.set('n', 1);
        return new Response('ok');
      }, options({ trustProxy }));
    const forwarded = { 'x-forwarded-proto': 'https' };
    const untrusted = await handle(false)(post('http://app.test/', forwarded));
    expect(jar(untrusted)).toMatch(/^tessera\.sid=/);
    const trusted = await handle(true)(
      post('http://app.test/', { ...forwarded, origin: 'https://app.test' }),
    );
    expect(trusted.headers.getSetCookie()[0]).toMatch(/^__Host-tessera\.sid=.*; Secure/);
    const direct = await handle(false)(post('https://app.test/'));
    expect(direct.headers.getSetCookie()[0]).toMatch(/^__Host-tessera\.sid=.*; Secure/);
  });

  it('records the client address for the device list', async () => {
    const handler = withSession(
      async (_request, { session }) => {
        await session.login('alice');
        return Response.json(await session.sessions());
      },
      options({ clientAddress: () => '203.0.113.9' }),
    );
    const res = await handler(post('http://app.test/login'));
    const [info] = (await res.json()) as Array<{ ip: string; current: boolean; userId: string }>;
    expect(info).toMatchObject({ ip: '203.0.113.9', current: true, userId: 'alice' });
  });

  it("lets the handler's own errors through and stores nothing", async () => {
    const base = options();
    const handler = withSession(async (_request, { session }) => {
      session.set('n', 1);
      throw new Error('boom');
    }, base);
    await expect(handler(post('http://app.test/'))).rejects.toThrow('boom');
    expect((base.store as MemoryStore).stats().size).toBe(0);
  });

  it('refuses to set data on a session destroyed in this request', async () => {
    const handler = withSession(async (_request, { session }) => {
      await session.destroy();
      try {
        session.set('n', 1);
        return new Response('set');
      } catch (error) {
        return new Response(isTesseraError(error, 'ERR_INVALID_ARGUMENT') ? 'refused' : 'other');
      }
    }, options());
    expect(await (await handler(post('http://app.test/'))).text()).toBe('refused');
  });

  it('regenerate() after destroy() starts an empty session under a new ID', async () => {
    const handler = withSession(async (request, { session }) => {
      if (new URL(request.url).pathname === '/logout-and-restart') {
        await session.destroy();
        await session.regenerate();
        session.set('fresh', true);
      } else {
        session.set('secret', 'old data');
      }
      return Response.json(session.toJSON());
    }, options());
    const cookie = jar(await handler(post('http://app.test/')));
    const res = await handler(post('http://app.test/logout-and-restart', { cookie }));
    expect(await res.json()).toEqual({ fresh: true });
    expect(jar(res)).not.toBe(cookie);
  });

  it('warns once when a Secure cookie meets plain HTTP, and stores nothing', async () => {
    const warnings: string[] = [];
    const base = options({ cookie: { secure: true }, logger: { warn: (m) => warnings.push(m) } });
    const handler = withSession(async (_request, { session }) => {
      session.set('n', 1);
      return new Response('ok');
    }, base);
    const res = await handler(post('http://app.test/'));
    await handler(post('http://app.test/'));
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect((base.store as MemoryStore).stats().size).toBe(0);
  });

  it("refuses the peers' options and any unknown option with ERR_CONFIG naming it", () => {
    const handler = async (): Promise<Response> => new Response('ok');
    for (const name of ['saveUninitialized', 'rolling', 'resave', 'cookieNmae', 'customIds']) {
      let error: unknown;
      try {
        withSession(handler, { ...options(), [name]: false } as never);
      } catch (caught) {
        error = caught;
      }
      expect(isTesseraError(error, 'ERR_CONFIG')).toBe(true);
      expect(String(error)).toContain(`unknown option '${name}'`);
    }
  });

  it("without a store, keeps sessions in Tessera's memory store and warns once in production", async () => {
    const warnings: string[] = [];
    const logger = { warn: (message: string) => warnings.push(message) };
    const handler = withSession(
      async (_request, { session }) => {
        session.set('views', (session.get<number>('views') ?? 0) + 1);
        return Response.json({ views: session.get('views') });
      },
      { logger },
    );
    const first = await handler(new Request('http://app.test/'));
    const cookie = (first.headers.getSetCookie()[0] ?? '').split(';')[0] ?? '';
    const second = await handler(new Request('http://app.test/', { headers: { cookie } }));
    expect(await second.json()).toEqual({ views: 2 });
    expect(warnings).toEqual([]);
    vi.stubEnv('NODE_ENV', 'production');
    try {
      withSession(async () => new Response('ok'), { logger });
    } finally {
      vi.unstubAllEnvs();
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/tessera-session\/fetch is using its default memory store/);
  });

  it('refuses conflicting store options', () => {
    const handler = async (): Promise<Response> => new Response('ok');
    const { store } = options();
    try {
      withSession(handler, { store, manager: createSessionManager({ store: store! }) });
      expect.unreachable();
    } catch (error) {
      expect(isTesseraError(error, 'ERR_CONFIG')).toBe(true);
    }
  });
});

describe('tessera-session/fetch tesseraHono', () => {
  it('puts the session in c.get("session") and adds Set-Cookie, also to an immutable response', async () => {
    const app = new Hono<TesseraHonoEnv>();
    app.use(tesseraHono(options()));
    app.post('/login', async (c) => {
      await c.get('session').login('alice');
      return Response.redirect('http://app.test/home', 303);
    });
    app.get('/me', (c) => c.json({ userId: c.get('session').userId }));
    const login = await app.request(post('http://app.test/login'));
    expect(login.status).toBe(303);
    const cookie = jar(login);
    const me = await app.request(new Request('http://app.test/me', { headers: { cookie } }));
    expect(await me.json()).toEqual({ userId: 'alice' });
  });
});
