/**
 * express-session's documented behaviour, run against tessera-session/express through supertest:
 * each option, each `req.session` method and callback, `req.sessionID`, and the README's
 * examples unchanged apart from the import line.
 */
import { createHmac } from 'node:crypto';
import express, { type Express } from 'express';
import express4 from 'express4';
import request from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import session, { MemoryStore } from '../../packages/session/src/adapters/express/index.js';
import { TesseraError } from '../../packages/session/src/shared/errors.js';
import { hashSessionId } from '../../packages/session/src/shared/ids.js';
import {
  cookieOf,
  countedStore,
  type Loose,
  makeApp,
  recordingLogger,
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
const look = route((req, res) => {
  res.json({
    data: { ...req.session },
    id: req.sessionID,
    sameId: req.session.id === req.sessionID,
  });
});

// Every behaviour below runs on Express 5 and on Express 4: tessera-session/express supports both.
describe.each([
  ['Express 5', express as unknown as () => Express],
  ['Express 4', express4 as unknown as () => Express],
])('%s', (_major, factory) => {
  beforeAll(() => useExpress(factory));

  describe('README examples', () => {
    it('counts views per browser session (the views example)', async () => {
      const app = makeApp({}, (a) => a.get('/', views));
      const agent = request.agent(app);
      const first = await agent.get('/');
      expect(first.body.views).toBe(1);
      expect(cookieOf(first.headers)).toMatch(
        // express-session's default cookie: no Secure, no SameSite, no Expires.
        /^connect\.sid=s%3A[\w-]+\.[\w%]+; Path=\/; HttpOnly$/,
      );
      const second = await agent.get('/');
      expect(second.body.views).toBe(2);
      expect(second.body.id).toBe(first.body.id);
      // A browser-session cookie that did not change is not sent again.
      expect(cookieOf(second.headers)).toBeUndefined();
      // Another browser has its own session.
      expect((await request(app).get('/')).body.views).toBe(1);
    });

    it('runs the login example: regenerate, set user, save, redirect; logout with regenerate', async () => {
      const app = makeApp({}, (a) => {
        a.use(express.urlencoded({ extended: false }));
        a.get(
          '/',
          route((req, res) => res.send(req.session.user ? `hello ${req.session.user}` : 'login')),
        );
        a.post(
          '/login',
          route((req, res, next) => {
            req.session.regenerate((err: unknown) => {
              if (err) return next(err);
              req.session.user = req.body.user;
              req.session.save((err2: unknown) => {
                if (err2) return next(err2);
                res.redirect('/');
              });
            });
          }),
        );
        a.get(
          '/logout',
          route((req, res, next) => {
            req.session.user = null;
            req.session.save((err: unknown) => {
              if (err) return next(err);
              req.session.regenerate((err2: unknown) => {
                if (err2) return next(err2);
                res.redirect('/');
              });
            });
          }),
        );
      });
      const agent = request.agent(app);
      const before = await agent.get('/');
      expect(before.text).toBe('login');
      const login = await agent
        .post('/login')
        .set(SAME_ORIGIN)
        .type('form')
        .send({ user: 'alice' });
      expect(login.status).toBe(302);
      expect(cookieOf(login.headers)).toBeDefined();
      expect((await agent.get('/')).text).toBe('hello alice');
      const logout = await agent.get('/logout');
      expect(logout.status).toBe(302);
      expect((await agent.get('/')).text).toBe('login');
    });
  });

  describe('saveUninitialized and resave', () => {
    it('does not store or send a cookie for a session nobody changed (Tessera default)', async () => {
      const { store, calls } = countedStore();
      const app = makeApp({ store }, (a) => a.get('/', look));
      const response = await request(app).get('/');
      expect(response.body.id).toMatch(/^[\w-]{43}$/);
      expect(cookieOf(response.headers)).toBeUndefined();
      expect(writes(calls)).toEqual([]);
    });

    it('stores and sends an unchanged new session with saveUninitialized: true', async () => {
      const { store, inner } = countedStore();
      const app = makeApp({ store, saveUninitialized: true }, (a) => a.get('/', look));
      const response = await request(app).get('/');
      const sid = sidOf(cookieOf(response.headers));
      expect(sid).toBe(response.body.id);
      expect(await inner.get(hashSessionId(sid!))).not.toBeNull();
    });

    it('writes nothing for an unchanged stored session unless resave: true', async () => {
      for (const resave of [false, true]) {
        const { store, calls } = countedStore();
        const app = makeApp({ store, resave }, (a) => {
          a.get('/set', views);
          a.get('/', look);
        });
        const agent = request.agent(app);
        await agent.get('/set');
        calls.length = 0;
        await agent.get('/');
        expect(writes(calls)).toEqual(resave ? ['touch'] : []);
      }
    });
  });

  describe('rolling', () => {
    it('sends the cookie on every response with rolling: true, only on change without', async () => {
      for (const rolling of [false, true]) {
        const app = makeApp({ rolling, cookie: { maxAge: 60_000 } }, (a) => {
          a.get('/set', views);
          a.get('/', look);
        });
        const agent = request.agent(app);
        await agent.get('/set');
        const again = await agent.get('/');
        expect(cookieOf(again.headers) !== undefined).toBe(rolling);
      }
    });

    it('re-sends a persistent cookie when the session changed (express-session rule)', async () => {
      const app = makeApp({ cookie: { maxAge: 60_000 } }, (a) => a.get('/', views));
      const agent = request.agent(app);
      await agent.get('/');
      const changed = await agent.get('/');
      expect(cookieOf(changed.headers)).toMatch(/Expires=/);
    });
  });

  describe('unset', () => {
    const unsetRoute = route((req, res) => {
      req.session = null;
      res.send('unset');
    });

    it("keeps the stored session when req.session is unset (unset: 'keep', default)", async () => {
      const { store, inner } = countedStore();
      const app = makeApp({ store }, (a) => {
        a.get('/set', views);
        a.get('/unset', unsetRoute);
        a.get('/', look);
      });
      const agent = request.agent(app);
      const set = await agent.get('/set');
      await agent.get('/unset');
      expect(await inner.get(hashSessionId(set.body.id))).not.toBeNull();
      expect((await agent.get('/')).body.data.views).toBe(1);
    });

    it("destroys the stored session when req.session is unset (unset: 'destroy')", async () => {
      const { store, inner } = countedStore();
      const app = makeApp({ store, unset: 'destroy' }, (a) => {
        a.get('/set', views);
        a.get('/unset', unsetRoute);
      });
      const agent = request.agent(app);
      const set = await agent.get('/set');
      const unset = await agent.get('/unset');
      expect(await inner.get(hashSessionId(set.body.id))).toBeNull();
      expect(cookieOf(unset.headers)).toMatch(/Expires=Thu, 01 Jan 1970/);
    });
  });

  describe('genid', () => {
    it('names sessions with genid(req) on an express-session store', async () => {
      const legacy = new MemoryStore();
      const app = makeApp(
        {
          store: legacy,
          genid: (req: Loose) =>
            `id-${req.headers['x-tenant']}-${Math.random().toString(36).slice(2)}`,
        },
        (a) => a.get('/', views),
      );
      const response = await request(app).get('/').set('X-Tenant', 'acme');
      expect(response.body.id).toMatch(/^id-acme-/);
      expect(sidOf(cookieOf(response.headers))).toBe(response.body.id);
    });

    it('names sessions with genid(req) on a Tessera store too, keeping only its hash', async () => {
      const { store, inner } = countedStore();
      let n = 0;
      const app = makeApp(
        { store, genid: (req: Loose) => `${req.headers['x-tenant']}:${++n}%` },
        (a) => {
          a.get('/', views);
          a.post(
            '/again',
            route((req, res, next) =>
              req.session.regenerate((err: unknown) => {
                if (err) return next(err);
                req.session.fresh = true;
                res.json({ id: req.sessionID });
              }),
            ),
          );
        },
      );
      const agent = request.agent(app);
      const response = await agent.get('/').set('X-Tenant', 'acme');
      expect(response.body.id).toBe('acme:1%');
      // The cookie carries it URI-encoded, as express-session's does.
      expect(cookieOf(response.headers)).toMatch(/^connect\.sid=s%3Aacme%3A1%25\./);
      expect(await inner.get('acme:1%')).toBeNull();
      expect((await inner.get(hashSessionId('acme:1%')))?.data).toEqual({ views: 1 });
      expect((await agent.get('/')).body.views).toBe(2);
      const regenerated = await agent.post('/again').set(SAME_ORIGIN).set('X-Tenant', 'acme');
      expect(regenerated.body.id).toBe('acme:2%');
      expect(await inner.get(hashSessionId('acme:1%'))).toBeNull();
    });
  });

  describe('name, secret and signatures', () => {
    it('uses the configured cookie name', async () => {
      const app = makeApp({ name: 'app.sid' }, (a) => a.get('/', views));
      const response = await request(app).get('/');
      expect(cookieOf(response.headers, 'app.sid')).toBeDefined();
      expect(cookieOf(response.headers)).toBeUndefined();
    });

    it('signs the cookie as express-session does (s: + id + . + HMAC-SHA256 base64)', async () => {
      const app = makeApp({}, (a) => a.get('/', views));
      const response = await request(app).get('/');
      const value = decodeURIComponent(cookieOf(response.headers)!.split(';')[0]!.split('=')[1]!);
      const id = response.body.id;
      const mac = createHmac('sha256', SECRET).update(id).digest('base64').replace(/=+$/, '');
      expect(value).toBe(`s:${id}.${mac}`);
    });

    it('signs with the first secret and still accepts cookies signed by the others (rotation)', async () => {
      const OLD = 'old-secret-old-secret-old-secret-0';
      const NEW = 'new-secret-new-secret-new-secret-1';
      const { store } = countedStore();
      const routes = (a: Loose) => {
        a.get('/', views);
      };
      const before = makeApp({ store, secret: OLD }, routes);
      const cookie = cookieOf((await request(before).get('/')).headers)!.split(';')[0]!;
      const after = makeApp({ store, secret: [NEW, OLD] }, routes);
      const next = await request(after).get('/').set('Cookie', cookie);
      expect(next.body.views).toBe(2);
      const dropped = makeApp({ store, secret: NEW }, routes);
      expect((await request(dropped).get('/').set('Cookie', cookie)).body.views).toBe(1);
    });

    it('starts a new session for a tampered or unsigned cookie', async () => {
      const app = makeApp({}, (a) => a.get('/', views));
      const first = await request(app).get('/');
      const line = cookieOf(first.headers)!.split(';')[0]!;
      const tampered = `${line.slice(0, -3)}AAA`;
      const forged = await request(app).get('/').set('Cookie', tampered);
      expect(forged.body.views).toBe(1);
      expect(forged.body.id).not.toBe(first.body.id);
      const unsigned = await request(app).get('/').set('Cookie', `connect.sid=${first.body.id}`);
      expect(unsigned.body.views).toBe(1);
    });

    it('warns about a secret under 32 characters, and refuses it in production', () => {
      const logger = recordingLogger();
      session({ secret: 'keyboard cat', logger });
      expect(logger.messages).toHaveLength(1);
      expect(logger.messages[0]).toMatch(/32 characters/);
      const saved = process.env.NODE_ENV;
      process.env.NODE_ENV = 'production';
      try {
        expect(() => session({ secret: 'keyboard cat', logger })).toThrow(
          expect.objectContaining({ code: 'ERR_KEY_WEAK' }),
        );
      } finally {
        process.env.NODE_ENV = saved;
      }
    });

    it('refuses unknown options and bad option values at start-up, naming them', () => {
      const quiet = { deprecate: () => {} };
      expect(() => session({ secret: SECRET, ...quiet, unset: 'drop' as never })).toThrow(
        /unset option must be "destroy" or "keep"/,
      );
      expect(() => session({ secret: [], ...quiet })).toThrow(/secret option array/);
      expect(() => session({ secret: SECRET, ...quiet, genid: 'x' as never })).toThrow(
        /genid option must be a function/,
      );
      for (const option of ['maxAge', 'cookieName', 'saveUnintialized']) {
        let thrown: unknown;
        try {
          session({ secret: SECRET, ...quiet, [option]: true } as never);
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toBeInstanceOf(TesseraError);
        expect((thrown as TesseraError).code).toBe('ERR_CONFIG');
        expect((thrown as TesseraError).message).toContain(`'${option}'`);
      }
    });
  });

  describe('cookie.secure and proxy', () => {
    const secureOf = (headers: Record<string, unknown>) => /; Secure/.test(cookieOf(headers) ?? '');

    it("'auto' sets no Secure over plain HTTP", async () => {
      const app = makeApp({ cookie: { secure: 'auto' } }, (a) => a.get('/', views));
      const response = await request(app).get('/');
      expect(cookieOf(response.headers)).toBeDefined();
      expect(secureOf(response.headers)).toBe(false);
    });

    it("'auto' sets Secure behind a trusted proxy that says https", async () => {
      const app = makeApp(
        { cookie: { secure: 'auto' } },
        (a) => a.get('/', views),
        (a) => a.set('trust proxy', 1),
      );
      const response = await request(app).get('/').set('X-Forwarded-Proto', 'https');
      expect(secureOf(response.headers)).toBe(true);
      expect(cookieOf((await request(app).get('/')).headers)).not.toMatch(/Secure/);
    });

    it('ignores X-Forwarded-Proto unless the proxy is trusted', async () => {
      const app = makeApp({ cookie: { secure: 'auto' } }, (a) => a.get('/', views));
      const response = await request(app).get('/').set('X-Forwarded-Proto', 'https');
      expect(secureOf(response.headers)).toBe(false);
    });

    it('proxy: true trusts X-Forwarded-Proto without trust proxy; proxy: false never does', async () => {
      const trusting = makeApp({ proxy: true, cookie: { secure: 'auto' } }, (a) =>
        a.get('/', views),
      );
      expect(
        secureOf((await request(trusting).get('/').set('X-Forwarded-Proto', 'https')).headers),
      ).toBe(true);
      const refusing = makeApp(
        { proxy: false, cookie: { secure: 'auto' } },
        (a) => a.get('/', views),
        (a) => a.set('trust proxy', 1),
      );
      expect(
        secureOf((await request(refusing).get('/').set('X-Forwarded-Proto', 'https')).headers),
      ).toBe(false);
    });

    it('secure: true over plain HTTP: no cookie, no stored session, one warning (never silent)', async () => {
      const logger = recordingLogger();
      const { store, calls } = countedStore();
      const app = makeApp({ store, logger, cookie: { secure: true } }, (a) => a.get('/', views));
      await request(app).get('/').set('Host', 'app.example');
      const second = await request(app).get('/').set('Host', 'app.example');
      expect(second.headers['set-cookie']).toBeUndefined();
      expect(writes(calls)).toEqual([]);
      expect(logger.messages.filter((m) => m.includes('Secure'))).toHaveLength(1);
    });

    it('secure: true over plain HTTP to a loopback host: no cookie either, as express-session', async () => {
      const app = makeApp({ cookie: { secure: true } }, (a) => a.get('/', views));
      const response = await request(app).get('/').set('Host', 'localhost:3000');
      expect(response.headers['set-cookie']).toBeUndefined();
    });

    it('secure: true over plain HTTP with strictCookies: the request fails instead', async () => {
      const app = makeApp({ strictCookies: true, cookie: { secure: true } }, (a) =>
        a.get('/', views),
      );
      const response = await request(app).get('/').set('Host', 'app.example');
      expect(response.status).toBe(500);
      expect(response.body.code).toBe('ERR_CONFIG');
    });
  });

  describe('cookie lifetime', () => {
    it('cookie.maxAge makes a persistent cookie and is readable on req.session.cookie', async () => {
      const app = makeApp({ cookie: { maxAge: 3_600_000 } }, (a) =>
        a.get(
          '/',
          route((req, res) => {
            req.session.x = 1;
            const { maxAge, originalMaxAge, expires, httpOnly, path } = req.session.cookie;
            res.json({ maxAge, originalMaxAge, expires, httpOnly, path });
          }),
        ),
      );
      const started = Date.now();
      const response = await request(app).get('/');
      expect(response.body.originalMaxAge).toBeGreaterThan(3_590_000);
      expect(response.body.maxAge).toBeLessThanOrEqual(3_600_000);
      expect(response.body.httpOnly).toBe(true);
      expect(response.body.path).toBe('/');
      const expires = Date.parse(/Expires=([^;]+)/.exec(cookieOf(response.headers)!)![1]!);
      expect(Math.abs(expires - (started + 3_600_000))).toBeLessThan(5_000);
    });

    it('cookie.expires sets a fixed expiry', async () => {
      const at = new Date(Date.now() + 7_200_000);
      const app = makeApp({ cookie: { expires: at } }, (a) => a.get('/', views));
      const response = await request(app).get('/');
      const expires = Date.parse(/Expires=([^;]+)/.exec(cookieOf(response.headers)!)![1]!);
      expect(Math.abs(expires - at.valueOf())).toBeLessThan(5_000);
    });

    it('remember me: req.session.cookie.maxAge set in a request makes that session persistent', async () => {
      const app = makeApp({ absoluteTimeout: 40 * 86400, idleTimeout: 40 * 86400 }, (a) => {
        a.get('/', views);
        a.post(
          '/remember',
          route((req, res) => {
            req.session.cookie.maxAge = 30 * 86400e3;
            res.send('ok');
          }),
        );
      });
      const agent = request.agent(app);
      expect(cookieOf((await agent.get('/')).headers)).not.toMatch(/Expires/);
      const remembered = await agent.post('/remember').set(SAME_ORIGIN);
      const expires = Date.parse(/Expires=([^;]+)/.exec(cookieOf(remembered.headers)!)![1]!);
      expect(Math.abs(expires - (Date.now() + 30 * 86400e3))).toBeLessThan(10_000);
      // Remembered on the server too: the next change re-sends a persistent cookie.
      expect(cookieOf((await agent.get('/')).headers)).toMatch(/Expires/);
    });

    it('caps a persistent cookie at the session’s absolute lifetime', async () => {
      const app = makeApp({ absoluteTimeout: 3600, cookie: { maxAge: 30 * 86400e3 } }, (a) =>
        a.get('/', views),
      );
      const response = await request(app).get('/');
      const expires = Date.parse(/Expires=([^;]+)/.exec(cookieOf(response.headers)!)![1]!);
      expect(expires - Date.now()).toBeLessThanOrEqual(3_601_000);
    });

    it('skips sessions outside cookie.path', async () => {
      const app = makeApp({ cookie: { path: '/app' } }, (a) => {
        a.get('/app/x', views);
        a.get(
          '/other',
          route((req, res) => res.json({ has: req.session !== undefined })),
        );
      });
      expect((await request(app).get('/other')).body.has).toBe(false);
      expect(cookieOf((await request(app).get('/app/x')).headers)).toMatch(/Path=\/app/);
    });
  });

  describe('req.session methods', () => {
    it('regenerate(cb): a new ID and empty data; the old ID no longer works', async () => {
      const app = makeApp({}, (a) => {
        a.get('/', views);
        a.get(
          '/regen',
          route((req, res, next) => {
            const old = req.sessionID;
            req.session.regenerate((err: unknown) => {
              if (err) return next(err);
              res.json({ old, id: req.sessionID, data: { ...req.session } });
            });
          }),
        );
      });
      const agent = request.agent(app);
      const first = await agent.get('/');
      const oldCookie = cookieOf(first.headers)!.split(';')[0]!;
      const regen = await agent.get('/regen');
      expect(regen.body.old).toBe(first.body.id);
      expect(regen.body.id).not.toBe(first.body.id);
      expect(regen.body.data.views).toBeUndefined();
      expect(sidOf(cookieOf(regen.headers))).toBe(regen.body.id);
      const replay = await request(app).get('/').set('Cookie', oldCookie);
      expect(replay.body.views).toBe(1);
    });

    it('destroy(cb): req.session is undefined after, the stored session is gone, the cookie cleared', async () => {
      const { store, inner } = countedStore();
      const app = makeApp({ store }, (a) => {
        a.get('/', views);
        a.post(
          '/logout',
          route((req, res, next) => {
            req.session.destroy((err: unknown) => {
              if (err) return next(err);
              res.json({ after: req.session === undefined });
            });
          }),
        );
      });
      const agent = request.agent(app);
      const first = await agent.get('/');
      const out = await agent.post('/logout').set(SAME_ORIGIN);
      expect(out.body.after).toBe(true);
      expect(await inner.get(hashSessionId(first.body.id))).toBeNull();
      expect(cookieOf(out.headers)).toMatch(/^connect\.sid=;/);
    });

    it('reload(cb): reads what another request stored meanwhile', async () => {
      const app = makeApp({}, (a) => {
        a.get('/', views);
        a.get(
          '/reload',
          route((req, res, next) => {
            const before = req.session.views;
            // Another request from the same browser changes the session meanwhile.
            void request(app)
              .get('/')
              .set('Cookie', String(req.headers.cookie))
              .then(() => {
                req.session.reload((err: unknown) => {
                  if (err) return next(err);
                  res.json({ before, after: req.session.views });
                });
              });
          }),
        );
      });
      const agent = request.agent(app);
      await agent.get('/');
      const response = await agent.get('/reload');
      expect(response.body).toEqual({ before: 1, after: 2 });
    });

    it('reload(cb) of a session never stored calls back with an error', async () => {
      const app = makeApp({}, (a) =>
        a.get(
          '/',
          route((req, res) =>
            req.session.reload((err: Loose) => res.json({ error: err?.message })),
          ),
        ),
      );
      expect((await request(app).get('/')).body.error).toBe('failed to load session');
    });

    it('save(cb): the session is stored before the callback runs', async () => {
      const { store, inner } = countedStore();
      let storedInCallback: unknown;
      const app = makeApp({ store }, (a) =>
        a.get(
          '/',
          route((req, res, next) => {
            req.session.cart = ['apple'];
            req.session.save(async (err: unknown) => {
              if (err) return next(err);
              storedInCallback = (await inner.get(hashSessionId(req.sessionID)))?.data;
              res.send('saved');
            });
          }),
        ),
      );
      await request(app).get('/');
      expect(storedInCallback).toEqual({ cart: ['apple'] });
    });

    it('touch(): slides the stored expiry of an unchanged session', async () => {
      const { store, calls } = countedStore();
      const app = makeApp({ store }, (a) => {
        a.get('/', views);
        a.get(
          '/touch',
          route((req, res) => {
            req.session.touch();
            res.send('touched');
          }),
        );
      });
      const agent = request.agent(app);
      await agent.get('/');
      calls.length = 0;
      await agent.get('/touch');
      expect(writes(calls)).toEqual(['touch']);
    });

    it('req.sessionID equals req.session.id and the ID in the cookie', async () => {
      const app = makeApp({}, (a) =>
        a.get(
          '/',
          route((req, res) => {
            req.session.x = 1;
            res.json({ id: req.sessionID, same: req.session.id === req.sessionID });
          }),
        ),
      );
      const response = await request(app).get('/');
      expect(response.body.same).toBe(true);
      expect(sidOf(cookieOf(response.headers))).toBe(response.body.id);
    });

    it('keeps nested changes (mutating an object in place) and deletions', async () => {
      const app = makeApp({}, (a) => {
        a.get(
          '/add',
          route((req, res) => {
            req.session.cart ??= { items: [] };
            req.session.cart.items.push(req.query.item);
            req.session.flash = 'added';
            res.json(req.session.cart);
          }),
        );
        a.get(
          '/',
          route((req, res) => {
            const flash = req.session.flash;
            delete req.session.flash;
            res.json({ cart: req.session.cart, flash });
          }),
        );
      });
      const agent = request.agent(app);
      await agent.get('/add?item=a');
      await agent.get('/add?item=b');
      expect((await agent.get('/')).body).toEqual({ cart: { items: ['a', 'b'] }, flash: 'added' });
      expect((await agent.get('/')).body).toEqual({ cart: { items: ['a', 'b'] } });
    });

    it('sets the cookie and stores the session for a streamed response (res.write before res.end)', async () => {
      const { store, inner } = countedStore();
      const app = makeApp({ store }, (a) =>
        a.get(
          '/stream',
          route((req, res) => {
            req.session.streamed = true;
            res.write('part 1, ');
            setImmediate(() => res.end('part 2'));
          }),
        ),
      );
      const response = await request(app).get('/stream');
      expect(response.text).toBe('part 1, part 2');
      const sid = sidOf(cookieOf(response.headers));
      expect((await inner.get(hashSessionId(sid!)))?.data).toEqual({ streamed: true });
    });

    it('leaves an existing req.session alone (a second session middleware is a no-op)', async () => {
      const app = makeApp({}, (a) => {
        a.use(session({ secret: SECRET, name: 'second.sid', logger: recordingLogger() }));
        a.get('/', views);
      });
      const response = await request(app).get('/');
      expect(cookieOf(response.headers)).toBeDefined();
      expect(cookieOf(response.headers, 'second.sid')).toBeUndefined();
    });
  });
});
