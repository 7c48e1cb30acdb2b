/**
 * What tessera-session/express adds to express-session, through supertest: patches (no lost
 * writes), no write when nothing changed, hashed IDs at rest, server-side timeouts, login
 * with a new ID and the device-list helpers, CSRF, and a store outage answered with 503.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../packages/session/src/adapters/express/index.js';
import { hashSessionId } from '../../packages/session/src/shared/ids.js';
import type { Store } from '../../packages/session/src/stores/store.js';
import { clock, cookieOf, countedStore, makeApp, route, SAME_ORIGIN, writes } from './support.js';

const views = route((req, res) => {
  req.session.views = (req.session.views ?? 0) + 1;
  res.json({ views: req.session.views, id: req.sessionID });
});

describe('storage guarantees', () => {
  it('50 concurrent requests each setting its own key in one session: all 50 land', async () => {
    const app = makeApp({}, (a) => {
      a.get('/', views);
      a.get(
        '/set/:key',
        route((req, res) => {
          req.session[`k${req.params.key}`] = Number(req.params.key);
          res.send('ok');
        }),
      );
      a.get(
        '/all',
        route((req, res) => res.json({ ...req.session })),
      );
    });
    const agent = request.agent(app);
    await agent.get('/');
    await Promise.all(Array.from({ length: 50 }, (_, i) => agent.get(`/set/${i}`)));
    const all = (await agent.get('/all')).body;
    for (let i = 0; i < 50; i++) expect(all[`k${i}`]).toBe(i);
    expect(all.views).toBe(1);
  });

  it('writes nothing to the store for requests that change nothing', async () => {
    const { store, calls } = countedStore();
    const app = makeApp({ store }, (a) => {
      a.get('/', views);
      a.get(
        '/read',
        route((req, res) => res.json({ views: req.session.views })),
      );
    });
    const agent = request.agent(app);
    await agent.get('/');
    calls.length = 0;
    for (let i = 0; i < 5; i++) expect((await agent.get('/read')).body.views).toBe(1);
    expect(calls.filter((call) => call === 'get')).toHaveLength(5);
    expect(writes(calls)).toEqual([]);
  });

  it('keeps only the SHA-256 of the session ID in the store', async () => {
    const { store, inner } = countedStore();
    const app = makeApp({ store }, (a) => a.get('/', views));
    const response = await request(app).get('/');
    expect(await inner.get(response.body.id)).toBeNull();
    expect((await inner.get(hashSessionId(response.body.id)))?.data).toEqual({ views: 1 });
  });

  it('ends idle sessions on the server (idleTimeout) whatever the cookie says', async () => {
    const time = clock(Date.now());
    const { store } = countedStore(time.now);
    const app = makeApp({ store, now: time.now, idleTimeout: 60, absoluteTimeout: 600 }, (a) =>
      a.get('/', views),
    );
    const agent = request.agent(app);
    await agent.get('/');
    time.advance(30_000);
    expect((await agent.get('/')).body.views).toBe(2);
    time.advance(61_000);
    expect((await agent.get('/')).body.views).toBe(1);
  });

  it('ends sessions at the absolute timeout even when active', async () => {
    const time = clock(Date.now());
    const { store } = countedStore(time.now);
    const app = makeApp({ store, now: time.now, idleTimeout: 60, absoluteTimeout: 120 }, (a) =>
      a.get('/', views),
    );
    const agent = request.agent(app);
    await agent.get('/');
    for (let i = 2; i <= 3; i++) {
      time.advance(50_000);
      expect((await agent.get('/')).body.views).toBe(i);
    }
    time.advance(30_000);
    // 130 s after creation, active all along: the session is over.
    expect((await agent.get('/')).body.views).toBe(1);
  });
});

describe('login and devices', () => {
  const app = () =>
    makeApp({}, (a) => {
      a.get('/', views);
      a.post(
        '/login',
        route(async (req, res) => {
          const before = req.sessionID;
          await req.sessionControl.login(String(req.query.user), {
            remember: req.query.remember === '1',
          });
          res.json({
            before,
            after: req.sessionID,
            handle: req.sessionControl.handle,
            userId: req.sessionControl.userId,
            views: req.session.views,
          });
        }),
      );
      a.get(
        '/sessions',
        route(async (req, res) => res.json(await req.sessionControl.sessions())),
      );
      a.post(
        '/revoke/:handle',
        route(async (req, res) =>
          res.json({ revoked: await req.sessionControl.revoke(String(req.params.handle)) }),
        ),
      );
      a.post(
        '/everywhere',
        route(async (req, res) =>
          res.json({
            count: await req.sessionControl.signOutEverywhere({
              keepCurrent: req.query.keep === '1',
            }),
          }),
        ),
      );
    });

  it('login(userId) issues a new ID, keeps the data, and the old ID stops working', async () => {
    const server = app();
    const agent = request.agent(server);
    const first = await agent.get('/');
    const oldCookie = cookieOf(first.headers)!.split(';')[0]!;
    const login = await agent.post('/login?user=alice').set(SAME_ORIGIN);
    expect(login.body.before).toBe(first.body.id);
    expect(login.body.after).not.toBe(first.body.id);
    expect(login.body.views).toBe(1);
    expect(login.body.handle).toMatch(/^[\w-]{22}$/);
    expect(login.body.userId).toBe('alice');
    expect(cookieOf(login.headers)).toContain(encodeURIComponent('s:') + login.body.after);
    expect((await request(server).get('/').set('Cookie', oldCookie)).body.views).toBe(1);
    expect((await agent.get('/')).body.views).toBe(2);
  });

  it('keeps every data key the app’s own: userId, handle, login, sessions are plain data', async () => {
    const server = makeApp({}, (a) => {
      a.post(
        '/set',
        route((req, res) => {
          req.session.userId = 42;
          req.session.handle = 'mine';
          req.session.login = { at: 1 };
          req.session.sessions = ['a'];
          req.session.revoke = false;
          res.json({ control: typeof req.sessionControl.login });
        }),
      );
      a.get(
        '/get',
        route((req, res) => res.json({ ...req.session, cookie: undefined })),
      );
    });
    const agent = request.agent(server);
    expect((await agent.post('/set').set(SAME_ORIGIN)).body.control).toBe('function');
    expect((await agent.get('/get')).body).toEqual({
      userId: 42,
      handle: 'mine',
      login: { at: 1 },
      sessions: ['a'],
      revoke: false,
    });
  });

  it('login({ remember: true }) makes the cookie persistent', async () => {
    const response = await request(app()).post('/login?user=alice&remember=1').set(SAME_ORIGIN);
    expect(cookieOf(response.headers)).toMatch(/Expires=/);
  });

  it('lists the user’s sessions, revokes one by handle, signs out everywhere else', async () => {
    const server = app();
    const laptop = request.agent(server);
    const phone = request.agent(server);
    const tablet = request.agent(server);
    const laptopLogin = await laptop.post('/login?user=carol').set(SAME_ORIGIN);
    const phoneLogin = await phone.post('/login?user=carol').set(SAME_ORIGIN);
    await tablet.post('/login?user=carol').set(SAME_ORIGIN);
    const list = (await laptop.get('/sessions')).body as Array<{
      handle: string;
      current: boolean;
    }>;
    expect(list).toHaveLength(3);
    expect(list.filter((s) => s.current).map((s) => s.handle)).toEqual([laptopLogin.body.handle]);
    expect(JSON.stringify(list)).not.toContain(laptopLogin.body.after);

    const revoked = await laptop.post(`/revoke/${phoneLogin.body.handle}`).set(SAME_ORIGIN);
    expect(revoked.body.revoked).toBe(true);
    expect((await phone.get('/sessions')).body).toEqual([]);

    const everywhere = await laptop.post('/everywhere?keep=1').set(SAME_ORIGIN);
    expect(everywhere.body.count).toBe(1);
    expect((await laptop.get('/sessions')).body).toHaveLength(1);
    expect((await tablet.get('/sessions')).body).toEqual([]);
  });

  it('another user cannot revoke a session by its handle', async () => {
    const server = app();
    const alice = request.agent(server);
    const mallory = request.agent(server);
    const aliceLogin = await alice.post('/login?user=alice').set(SAME_ORIGIN);
    await mallory.post('/login?user=mallory').set(SAME_ORIGIN);
    const attempt = await mallory.post(`/revoke/${aliceLogin.body.handle}`).set(SAME_ORIGIN);
    expect(attempt.body.revoked).toBe(false);
    expect((await alice.get('/sessions')).body).toHaveLength(1);
  });
});

describe('CSRF', () => {
  const server = () =>
    makeApp({}, (a) => {
      a.get('/', views);
      a.post(
        '/transfer',
        route((_req, res) => res.send('done')),
      );
    });

  it('refuses a cross-site POST that carries the session cookie with 403', async () => {
    const agent = request.agent(server());
    await agent.get('/');
    const response = await agent.post('/transfer').set('Sec-Fetch-Site', 'cross-site');
    expect(response.status).toBe(403);
    expect(response.body.code).toBe('ERR_CSRF');
    // Loud: the refusal names the option express-session users may need.
    expect(response.body.message).toContain('csrf: false');
    const byOrigin = await agent.post('/transfer').set('Origin', 'https://evil.example');
    expect(byOrigin.status).toBe(403);
  });

  it('lets same-origin posts through (Fetch Metadata or a matching Origin)', async () => {
    // One listening server (bound to 127.0.0.1), so the Host header stays the same.
    const listening = createServer(server());
    await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = listening.address() as AddressInfo;
      const agent = request.agent(listening);
      await agent.get('/');
      expect((await agent.post('/transfer').set(SAME_ORIGIN)).text).toBe('done');
      const origin = `http://127.0.0.1:${port}`;
      expect((await agent.post('/transfer').set('Origin', origin)).text).toBe('done');
      expect((await agent.post('/transfer').set('Referer', `${origin}/form`)).text).toBe('done');
      expect((await agent.post('/transfer')).status).toBe(403);
    } finally {
      await new Promise((resolve) => listening.close(resolve));
    }
  });

  it('does not check requests without a session cookie, and can be turned off', async () => {
    expect(
      (await request(server()).post('/transfer').set('Sec-Fetch-Site', 'cross-site')).status,
    ).toBe(200);
    const open = makeApp({ csrf: false }, (a) => {
      a.get('/', views);
      a.post(
        '/transfer',
        route((_req, res) => res.send('done')),
      );
    });
    const agent = request.agent(open);
    await agent.get('/');
    expect((await agent.post('/transfer').set('Sec-Fetch-Site', 'cross-site')).status).toBe(200);
  });

  it('accepts configured extra origins', async () => {
    const app = makeApp({ csrf: { allowedOrigins: ['https://admin.example.com'] } }, (a) => {
      a.get('/', views);
      a.post(
        '/transfer',
        route((_req, res) => res.send('done')),
      );
    });
    const agent = request.agent(app);
    await agent.get('/');
    expect((await agent.post('/transfer').set('Origin', 'https://admin.example.com')).status).toBe(
      200,
    );
    expect((await agent.post('/transfer').set('Origin', 'https://other.example.com')).status).toBe(
      403,
    );
  });
});

describe('store outage', () => {
  function failing(
    mode: 'throw' | 'hang',
    methods: string[],
  ): { store: Store; broken: { on: boolean } } {
    const { store } = countedStore();
    const broken = { on: false };
    const proxy = new Proxy(store, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function' || !methods.includes(String(property))) return value;
        return (...args: unknown[]) => {
          if (!broken.on) return value.apply(target, args);
          if (mode === 'hang') return new Promise(() => {});
          return Promise.reject(new Error('ECONNREFUSED'));
        };
      },
    }) as Store;
    return { store: proxy, broken };
  }

  const handlerRuns: string[] = [];
  const secret = route((req, res) => {
    handlerRuns.push(String(req.session.views));
    res.send(`views ${req.session.views}`);
  });

  it('answers 503 when the store fails while loading, and the handler never runs', async () => {
    const { store, broken } = failing('throw', ['get']);
    const app = makeApp({ store }, (a) => {
      a.get('/', views);
      a.get('/secret', secret);
    });
    const agent = request.agent(app);
    await agent.get('/');
    broken.on = true;
    handlerRuns.length = 0;
    const response = await agent.get('/secret');
    expect(response.status).toBe(503);
    expect(response.body.code).toBe('ERR_STORE_UNAVAILABLE');
    expect(handlerRuns).toEqual([]);
    // An outage signs nobody out: no cookie is cleared.
    expect(response.headers['set-cookie']).toBeUndefined();
  });

  it('answers 503 within storeTimeout when the store hangs', async () => {
    const { store, broken } = failing('hang', ['get']);
    const app = makeApp({ store, storeTimeout: 50 }, (a) => a.get('/', views));
    const agent = request.agent(app);
    await agent.get('/');
    broken.on = true;
    const started = Date.now();
    const response = await agent.get('/');
    expect(response.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('answers 503 (not the handler’s page) when saving at the end fails', async () => {
    const { store, broken } = failing('throw', ['patch', 'create']);
    const app = makeApp({ store }, (a) => {
      a.get('/', views);
      a.get(
        '/redirect',
        route((req, res) => {
          req.session.user = 'alice';
          res.redirect('/dashboard');
        }),
      );
    });
    const agent = request.agent(app);
    await agent.get('/');
    broken.on = true;
    const response = await agent.get('/redirect');
    expect(response.status).toBe(503);
    expect(response.headers.location).toBeUndefined();
  });

  it('answers 503 when an express-session store never calls back', async () => {
    const legacy = new MemoryStore();
    const app = makeApp({ store: legacy, storeTimeout: 50 }, (a) => a.get('/', views));
    const agent = request.agent(app);
    await agent.get('/');
    legacy.get = () => {};
    const response = await agent.get('/');
    expect(response.status).toBe(503);
  });

  it('passes an express-session store’s own error to next(err) unchanged, as express-session does', async () => {
    const legacy = new MemoryStore();
    const seen: unknown[] = [];
    const app = makeApp({ store: legacy }, (a) => {
      a.get('/', views);
      a.use((error: unknown, _req: unknown, _res: unknown, next: (e: unknown) => void) => {
        seen.push(error);
        next(error);
      });
    });
    const agent = request.agent(app);
    await agent.get('/');
    const failure = new Error('redis down');
    legacy.get = (_sid, callback) => callback(failure);
    const response = await agent.get('/');
    expect(response.status).toBe(500);
    expect(response.body.message).toBe('redis down');
    expect(seen).toEqual([failure]);
  });
});
