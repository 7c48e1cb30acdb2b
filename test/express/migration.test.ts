/**
 * Migration between express-session and tessera-session/express on an express-session-compatible
 * store: the same store object and secret serve both, the cookie and the stored data keep
 * express-session's format, so sessions move both ways. Also: stores written against
 * express-session's `Store` class plug in, in the class and in the older `Store.call` style.
 */
import { inherits } from 'node:util';
import express, { type Express } from 'express';
import expressSession from 'express-session';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import session, { MemoryStore, Store } from '../../packages/session/src/adapters/express/index.js';
import { cookieOf, type Loose, recordingLogger, route, SECRET, writes } from './support.js';

const count = route((req, res) => {
  req.session.views = (req.session.views ?? 0) + 1;
  res.json({ views: req.session.views, id: req.sessionID });
});

function expressSessionApp(store: expressSession.Store): Express {
  const app = express();
  // Tessera's cookie defaults, spelled out for express-session.
  const cookie = { maxAge: 3_600_000, secure: 'auto', sameSite: 'lax' } as const;
  app.use(
    expressSession({ secret: SECRET, store, resave: false, saveUninitialized: false, cookie }),
  );
  app.get('/', count);
  return app;
}

function tesseraApp(store: unknown): Express {
  const app = express();
  app.use(
    session({
      secret: SECRET,
      store: store as never,
      logger: recordingLogger(),
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: 3_600_000, secure: 'auto', sameSite: 'lax' },
    }),
  );
  app.get('/', count);
  return app;
}

const cookieLine = (headers: Record<string, unknown>) => cookieOf(headers)!.split(';')[0]!;

describe('migration with an express-session store', () => {
  it('reads a session written by express-session (and its MemoryStore), and back again', async () => {
    const store = new expressSession.MemoryStore();
    const first = await request(expressSessionApp(store)).get('/');
    expect(first.body.views).toBe(1);
    const cookie = cookieLine(first.headers);

    const second = await request(tesseraApp(store)).get('/').set('Cookie', cookie);
    expect(second.body).toEqual({ views: 2, id: first.body.id });

    const third = await request(expressSessionApp(store)).get('/').set('Cookie', cookie);
    expect(third.body).toEqual({ views: 3, id: first.body.id });
  });

  it('writes sessions express-session can read, in its exact stored format', async () => {
    const store = new expressSession.MemoryStore();
    const created = await request(tesseraApp(store)).get('/');
    const cookie = cookieLine(created.headers);
    // The raw ID is the key; the value is the data plus express-session's cookie object.
    const sessions = (store as unknown as { sessions: Record<string, string> }).sessions;
    const stored = JSON.parse(sessions[created.body.id]!);
    const byExpressSession = await request(expressSessionApp(store)).get('/');
    const reference = JSON.parse(sessions[byExpressSession.body.id]!);
    expect(Object.keys(stored)).toEqual(Object.keys(reference));
    expect(Object.keys(stored.cookie)).toEqual(Object.keys(reference.cookie));
    expect({ ...stored.cookie, expires: 0, originalMaxAge: 0 }).toEqual({
      ...reference.cookie,
      expires: 0,
      originalMaxAge: 0,
    });
    expect(stored.cookie.originalMaxAge).toBeGreaterThan(3_590_000);
    expect(stored.views).toBe(1);

    const read = await request(expressSessionApp(store)).get('/').set('Cookie', cookie);
    expect(read.body).toEqual({ views: 2, id: created.body.id });
    const back = await request(tesseraApp(store)).get('/').set('Cookie', cookie);
    expect(back.body.views).toBe(3);
  });

  it('works with tessera-session/express’s own MemoryStore and slides its expiry like express-session', async () => {
    const store = new MemoryStore();
    const calls: string[] = [];
    const touch = store.touch.bind(store);
    store.touch = (sid, sess, cb) => {
      calls.push('touch');
      touch(sid, sess, cb);
    };
    const app = tesseraApp(store);
    const agent = request.agent(app);
    await agent.get('/');
    app.get(
      '/read',
      route((req, res) => res.json({ views: req.session.views })),
    );
    expect((await agent.get('/read')).body.views).toBe(1);
    expect(writes(calls)).toEqual(['touch']);
  });

  it('plugs in stores that extend Store, as a class or in the Store.call style', async () => {
    class ClassStore extends Store {
      data = new Map<string, string>();
      override get(sid: string, cb: (e: unknown, s?: Loose) => void) {
        const json = this.data.get(sid);
        cb(null, json ? JSON.parse(json) : null);
      }
      override set(sid: string, sess: unknown, cb?: (e?: unknown) => void) {
        this.data.set(sid, JSON.stringify(sess));
        cb?.();
      }
      override destroy(sid: string, cb?: (e?: unknown) => void) {
        this.data.delete(sid);
        cb?.();
      }
    }
    // The pre-class style of stores like connect-redis 3: `require('connect-redis')(session)`.
    function makeOldStyle(sessionModule: typeof session) {
      const Base = sessionModule.Store;
      function OldStore(this: Loose) {
        Base.call(this);
        this.data = new Map<string, string>();
      }
      inherits(OldStore, Base as never);
      OldStore.prototype.get = function (sid: string, cb: (e: unknown, s?: unknown) => void) {
        const json = this.data.get(sid);
        cb(null, json ? JSON.parse(json) : null);
      };
      OldStore.prototype.set = function (sid: string, sess: unknown, cb: () => void) {
        this.data.set(sid, JSON.stringify(sess));
        cb();
      };
      OldStore.prototype.destroy = function (sid: string, cb: () => void) {
        this.data.delete(sid);
        cb();
      };
      return OldStore as unknown as new () => InstanceType<typeof Store>;
    }
    const OldStore = makeOldStyle(session);
    for (const store of [new ClassStore(), new OldStore()]) {
      expect(store).toBeInstanceOf(Store);
      const agent = request.agent(tesseraApp(store));
      await agent.get('/');
      expect((await agent.get('/')).body.views).toBe(2);
    }
  });

  it('refuses the Tessera-only helpers on an express-session store with a clear error', async () => {
    const app = express();
    app.use(
      session({
        secret: SECRET,
        store: new MemoryStore(),
        logger: recordingLogger(),
        resave: false,
        saveUninitialized: false,
      }),
    );
    app.get(
      '/',
      route(async (req, res) => {
        try {
          await req.sessionControl.sessions();
          res.send('listed');
        } catch (error) {
          res.json({ code: (error as Loose).code });
        }
      }),
    );
    expect((await request(app).get('/')).body.code).toBe('ERR_CONFIG');
  });
});
