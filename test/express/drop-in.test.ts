/**
 * tessera-session/express as a drop-in for express-session 1.18/1.19, on Express 4 and 5:
 * express-session's defaults (and deprecation notices), its options (`cookie` as a function,
 * `secret` forms, `sameSite` rules, `partitioned`, `priority`), cookie lifetimes the app
 * chooses, store errors and readiness events, and its response handling.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import express, { type Express } from 'express';
import express4 from 'express4';
import request from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import session, { MemoryStore } from '../../packages/session/src/adapters/express/index.js';
import {
  clock,
  cookieOf,
  countedStore,
  type Loose,
  makeApp,
  route,
  SAME_ORIGIN,
  SECRET,
  sidOf,
  useExpress,
  writes,
} from './support.js';

const views = route((req, res) => {
  req.session.views = (req.session.views ?? 0) + 1;
  res.json({ views: req.session.views, id: req.sessionID });
});

/** express-session's own default settings: nothing about resave/saveUninitialized/cookie given. */
function defaults(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { resave: undefined, saveUninitialized: undefined, deprecate: () => {}, ...extra };
}

const DAY = 86_400_000;

describe.each([
  ['Express 5', express as unknown as () => Express],
  ['Express 4', express4 as unknown as () => Express],
])('%s', (_major, factory) => {
  beforeAll(() => useExpress(factory));

  describe('defaults', () => {
    it('resave and saveUninitialized default to true, each with its deprecation notice', async () => {
      const notices: string[] = [];
      const { store, calls } = countedStore();
      const app = makeApp(
        defaults({ store, deprecate: (ns: string, m: string) => notices.push(`${ns}: ${m}`) }),
        (a) => {
          a.get('/', (_req, res) => res.send('nothing set'));
          a.get('/views', views);
        },
      );
      expect(notices).toEqual([
        'tessera-session/express: undefined resave option; provide resave option',
        'tessera-session/express: undefined saveUninitialized option; provide saveUninitialized option',
      ]);
      const agent = request.agent(app);
      // saveUninitialized: an untouched new session is stored and gets its cookie.
      const first = await agent.get('/');
      expect(cookieOf(first.headers)).toBeDefined();
      expect(writes(calls)).toEqual(['create']);
      // resave: an unchanged stored session is written back (its expiry slides).
      calls.length = 0;
      await agent.get('/');
      expect(writes(calls)).toEqual(['touch']);
    });

    it("names the cookie connect.sid with { path: '/', httpOnly: true, secure: false, maxAge: null }", async () => {
      const app = makeApp(defaults(), (a) =>
        a.get(
          '/',
          route((req, res) => res.json(req.session.cookie)),
        ),
      );
      const response = await request(app).get('/').set('X-Forwarded-Proto', 'https');
      expect(cookieOf(response.headers)).toMatch(/^connect\.sid=s%3A[^;]+; Path=\/; HttpOnly$/);
      expect(response.body).toMatchObject({
        path: '/',
        httpOnly: true,
        secure: false,
        originalMaxAge: null,
        expires: null,
      });
    });
  });

  describe('options', () => {
    it('cookie may be a function of the request (express-session 1.18)', async () => {
      const seen: string[] = [];
      const app = makeApp(
        {
          cookie: (req: Loose) => {
            seen.push(req.url);
            return req.url.startsWith('/admin')
              ? { path: '/admin', maxAge: 60_000, sameSite: 'strict' }
              : { path: '/', httpOnly: false };
          },
        },
        (a) => {
          a.get('/admin/x', views);
          a.get('/x', views);
        },
      );
      const admin = cookieOf((await request(app).get('/admin/x')).headers);
      expect(admin).toMatch(/Path=\/admin; Expires=.*; HttpOnly; SameSite=Strict$/);
      const plain = cookieOf((await request(app).get('/x')).headers);
      expect(plain).toMatch(/; Path=\/$/);
      expect(seen).toEqual(['/admin/x', '/x']);
    });

    it('signs with a Buffer secret and verifies with every secret of an array', async () => {
      const buffer = Buffer.from('b'.repeat(40));
      const { store } = countedStore();
      const first = await request(makeApp({ store, secret: buffer }, (a) => a.get('/', views))).get(
        '/',
      );
      const line = cookieOf(first.headers)!.split(';')[0]!;
      const rotated = makeApp({ store, secret: ['n'.repeat(40), buffer] }, (a) =>
        a.get('/', views),
      );
      expect((await request(rotated).get('/').set('Cookie', line)).body.views).toBe(2);
    });

    it('falls back to req.secret without a secret, else answers "secret option required for sessions"', async () => {
      const withReqSecret = makeApp(
        { secret: undefined, deprecate: () => {} },
        (a) => a.get('/', views),
        (a) =>
          a.use((req: Loose, _res, next) => {
            req.secret = SECRET;
            next();
          }),
      );
      const agent = request.agent(withReqSecret);
      await agent.get('/');
      expect((await agent.get('/')).body.views).toBe(2);
      const without = makeApp({ secret: undefined, deprecate: () => {} }, (a) => a.get('/', views));
      const response = await request(without).get('/');
      expect(response.status).toBe(500);
      expect(response.body.message).toBe('secret option required for sessions');
    });

    it("sameSite 'none' follows secure: 'auto', true and false as express-session does", async () => {
      const line = async (cookie: Loose, https: boolean) => {
        const app = makeApp({ cookie, proxy: true }, (a) => a.get('/', views));
        const req = request(app).get('/');
        if (https) req.set('X-Forwarded-Proto', 'https');
        return cookieOf((await req).headers);
      };
      expect(await line({ sameSite: 'none', secure: 'auto' }, true)).toMatch(
        /; Secure; SameSite=None$/,
      );
      expect(await line({ sameSite: 'none', secure: 'auto' }, false)).toMatch(
        /; HttpOnly; SameSite=None$/,
      );
      expect(await line({ sameSite: 'none', secure: false }, true)).toMatch(
        /; HttpOnly; SameSite=None$/,
      );
      expect(await line({ sameSite: 'none', secure: true }, true)).toMatch(
        /; Secure; SameSite=None$/,
      );
      expect(await line({ sameSite: 'none', secure: true }, false)).toBeUndefined();
      expect(await line({ sameSite: 'auto' }, true)).toMatch(/SameSite=None$/);
      expect(await line({ sameSite: 'auto' }, false)).toMatch(/SameSite=Lax$/);
    });

    it('sets Domain, and refuses cookie settings it would not honour', async () => {
      const app = makeApp({ cookie: { domain: 'example.com' } }, (a) => a.get('/', views));
      expect(cookieOf((await request(app).get('/')).headers)).toMatch(/; Domain=example\.com;/);
      const quiet = { deprecate: () => {} };
      expect(() =>
        session({ secret: SECRET, ...quiet, cookie: { maxage: 1000 } as Loose }),
      ).toThrow(/cookie: unknown option 'maxage'/);
    });

    it('sets Partitioned and Priority', async () => {
      const app = makeApp(
        { cookie: { secure: true, partitioned: true, priority: 'high' }, proxy: true },
        (a) => a.get('/', views),
      );
      const line = cookieOf(
        (await request(app).get('/').set('X-Forwarded-Proto', 'https')).headers,
      );
      expect(line).toMatch(/; Priority=High/);
      expect(line).toMatch(/; Partitioned/);
    });
  });

  describe('cookie lifetime chosen by the app', () => {
    const remember = route((req, res) => {
      req.session.user = 'alice';
      req.session.cookie.maxAge = 30 * DAY;
      res.json({ id: req.sessionID });
    });

    it('a 30-day cookie.maxAge set in a handler keeps the session 30 days, not 12 hours', async () => {
      const time = clock(Date.now());
      const { store } = countedStore(time.now);
      const app = makeApp({ store, now: time.now }, (a) => {
        a.post('/login', remember);
        a.get(
          '/me',
          route((req, res) => res.json({ user: req.session.user ?? null })),
        );
      });
      const agent = request.agent(app);
      const login = await agent.post('/login').set(SAME_ORIGIN);
      expect(cookieOf(login.headers)).toMatch(/Expires=/);
      time.advance(13 * 3_600_000);
      expect((await agent.get('/me')).body.user).toBe('alice');
      time.advance(20 * DAY);
      expect((await agent.get('/me')).body.user).toBe('alice');
      time.advance(31 * DAY);
      expect((await agent.get('/me')).body.user).toBeNull();
    });

    it('cookie.maxAge in the options keeps sessions that long; absoluteTimeout applies when set', async () => {
      const time = clock(Date.now());
      const { store } = countedStore(time.now);
      const long = makeApp({ store, now: time.now, cookie: { maxAge: 7 * DAY } }, (a) =>
        a.get('/', views),
      );
      const agent = request.agent(long);
      await agent.get('/');
      time.advance(2 * DAY);
      expect((await agent.get('/')).body.views).toBe(2);
      const capped = makeApp(
        { store, now: time.now, cookie: { maxAge: 7 * DAY }, absoluteTimeout: 3600 },
        (a) => a.get('/', views),
      );
      const other = request.agent(capped);
      await other.get('/');
      time.advance(3_601_000);
      expect((await other.get('/')).body.views).toBe(1);
    });
  });

  describe('errors and store readiness', () => {
    it('store errors of set, touch and destroy reach the callbacks and next(err) unchanged', async () => {
      const store = new MemoryStore();
      const failure = new Error('store says no');
      const callbackErrors: unknown[] = [];
      const app = makeApp({ store }, (a) => {
        a.get('/', views);
        a.post(
          '/save',
          route((req, res) => {
            req.session.x = 1;
            req.session.save((err: Loose) => {
              callbackErrors.push(err?.message ?? null);
              res.json({});
            });
          }),
        );
        a.post(
          '/destroy',
          route((req, res) =>
            req.session.destroy((err: Loose) => res.json({ destroyError: err?.message ?? null })),
          ),
        );
      });
      const agent = request.agent(app);
      await agent.get('/');
      store.set = (_sid, _sess, cb) => cb?.(failure);
      store.destroy = (_sid, cb) => cb?.(failure);
      store.touch = (_sid, _sess, cb) => cb?.(failure);
      // The callback gets the error; the end of the request meets it again and passes it on.
      const saved = await agent.post('/save').set(SAME_ORIGIN);
      expect(callbackErrors).toEqual(['store says no']);
      expect(saved.body.message).toBe('store says no');
      expect((await agent.post('/destroy').set(SAME_ORIGIN)).body.destroyError).toBe(
        'store says no',
      );
      const touched = await agent.get('/');
      expect(touched.status).toBe(500);
      expect(touched.body.message).toBe('store says no');
    });

    it('leaves req.session undefined while the store says it is disconnected', async () => {
      const store = new MemoryStore();
      const app = makeApp({ store }, (a) =>
        a.get(
          '/',
          route((req, res) => res.json({ has: req.session !== undefined })),
        ),
      );
      expect((await request(app).get('/')).body.has).toBe(true);
      store.emit('disconnect');
      expect((await request(app).get('/')).body.has).toBe(false);
      store.emit('connect');
      expect((await request(app).get('/')).body.has).toBe(true);
    });
  });

  describe('response handling', () => {
    it('keeps cookies set before and inside writeHead, and sends its own once', async () => {
      const app = makeApp({}, (a) => {
        a.get(
          '/before',
          route((req, res) => {
            req.session.x = 1;
            res.setHeader('Set-Cookie', 'theme=dark');
            res.end('ok');
          }),
        );
        a.get(
          '/inside',
          route((req, res) => {
            req.session.x = 1;
            res.writeHead(200, { 'Set-Cookie': 'lang=en', 'Content-Type': 'text/plain' });
            res.end('ok');
          }),
        );
      });
      for (const [path, other] of [
        ['/before', 'theme=dark'],
        ['/inside', 'lang=en'],
      ] as const) {
        const cookies = (await request(app).get(path)).headers['set-cookie'] as unknown as string[];
        expect(cookies.filter((c) => c === other)).toHaveLength(1);
        expect(cookies.filter((c) => c.startsWith('connect.sid='))).toHaveLength(1);
      }
    });

    it('a second res.end() is harmless; the first one’s body goes out', async () => {
      const app = makeApp({}, (a) =>
        a.get(
          '/',
          route((req, res) => {
            req.session.x = 1;
            res.setHeader('Content-Type', 'text/plain');
            res.end('Hello');
            res.end();
          }),
        ),
      );
      const response = await request(app).get('/');
      expect(response.text).toBe('Hello');
      expect(cookieOf(response.headers)).toBeDefined();
    });

    it('handles an empty req.url and matches cookie.path on the original URL', async () => {
      const middleware = session({
        secret: SECRET,
        resave: false,
        saveUninitialized: true,
        cookie: { path: '/foo/bar' },
      });
      const server = createServer((req: IncomingMessage, res: ServerResponse) => {
        if (req.url === '/empty') req.url = '';
        middleware(req, res, () => res.end(String((req as Loose).session !== undefined)));
      });
      const at = (path: string) => request(server).get(path);
      expect((await at('/')).text).toBe('false');
      expect((await at('/foo/barn')).text).toBe('true');
      expect((await at('/foo/bar/baz')).text).toBe('true');
      expect(cookieOf((await at('/foo/bar')).headers)).toMatch(/Path=\/foo\/bar/);
      expect((await at('/foo')).text).toBe('false');
      const rooted = session({ secret: SECRET, resave: false, saveUninitialized: true });
      const empty = createServer((req, res) => {
        req.url = '';
        rooted(req, res, () => res.end('ok'));
      });
      expect(cookieOf((await request(empty).get('/')).headers)).toBeDefined();
    });

    it('reads the session only from the Cookie header, never from req.cookies', async () => {
      const { store } = countedStore();
      const app = makeApp({ store }, (a) => a.get('/', views));
      const sid = sidOf(cookieOf((await request(app).get('/')).headers));
      const viaParsed = makeApp(
        { store },
        (a) => a.get('/', views),
        (a) =>
          a.use((req: Loose, _res, next) => {
            req.cookies = { 'connect.sid': `s:${sid}` };
            req.signedCookies = { 'connect.sid': sid };
            next();
          }),
      );
      expect((await request(viaParsed).get('/')).body.id).not.toBe(sid);
      const line = `connect.sid=${encodeURIComponent(`s:${sid}`)}`;
      expect((await request(viaParsed).get('/').set('Cookie', 'x=1')).body.views).toBe(1);
      expect(sid).toBeDefined();
      expect(line).toContain('s%3A');
    });
  });
});
