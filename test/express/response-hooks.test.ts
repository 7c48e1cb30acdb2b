/**
 * How tessera-session/express hooks the response (Express 4 and 5): once, on Express's own base
 * response object, not with per-request `res.end`/`res.writeHead` wrappers; `req.sessionStore`
 * and `req.sessionControl` are shared accessors. What users rely on around that: sessions saved
 * when the response ends outside the sub-app that loaded them, the plain `node:http` fallback,
 * express-session working beside it in one process, and assignments to those fields.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import expressSession from 'express-session';
import express4 from 'express4';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import session from '../../packages/session/src/adapters/express/index.js';
import { createMemoryStore } from '../../packages/session/src/stores/memory/index.js';
import {
  cookieOf,
  countedStore,
  type Loose,
  makeApp,
  route,
  SECRET,
  useExpress,
} from './support.js';

const majors: Array<[string, () => Express]> = [
  ['Express 5', express],
  ['Express 4', express4 as unknown as () => Express],
];

describe.each(majors)('%s', (_name, factory) => {
  useExpress(factory);

  it('adds no own end/writeHead to res and no own sessionID/sessionStore/sessionControl to req; all still answer', async () => {
    const { store } = countedStore();
    const app = makeApp({ store }, (a) => {
      a.get(
        '/',
        route((req, res) => {
          req.session.views = (req.session.views ?? 0) + 1;
          const r = req as Loose;
          res.json({
            own: ['end', 'writeHead'].filter((name) => Object.hasOwn(res, name)),
            ownReq: ['sessionID', 'sessionStore', 'sessionControl'].filter((name) =>
              Object.hasOwn(r, name),
            ),
            id: typeof r.sessionID === 'string' && r.sessionID === req.session.id,
            store: r.sessionStore === store,
            handle: typeof req.sessionControl.handle,
            views: req.session.views,
          });
        }),
      );
    });
    const agent = request.agent(app);
    await agent.get('/');
    expect((await agent.get('/')).body).toEqual({
      own: [],
      ownReq: [],
      id: true,
      store: true,
      handle: 'string',
      views: 2,
    });
  });

  it('saves a session whose response ends after leaving the mounted sub-app that loaded it', async () => {
    const sub = factory();
    sub.use(session({ secret: SECRET, resave: false, saveUninitialized: false }));
    sub.use(
      route((req, _res, next) => {
        req.session.views = (req.session.views ?? 0) + 1;
        next();
      }),
    );
    const app = factory();
    app.use('/sub', sub);
    app.use('/sub', (req, res) => {
      res.json({ views: (req as Loose).session.views });
    });
    const agent = request.agent(app);
    expect((await agent.get('/sub')).body).toEqual({ views: 1 });
    expect((await agent.get('/sub')).body).toEqual({ views: 2 });
    expect((await agent.get('/sub')).body).toEqual({ views: 3 });
  });

  it('on the memory store, a changed session is saved and the response ends within res.end(); a wrapped store still saves', async () => {
    // Tessera's memory store answers within the call, so the response is not held back by
    // a promise. A store whose methods the app wrapped (here: counting calls) is called
    // through the wrapper, on the path that waits for it.
    for (const counted of [false, true]) {
      const { store, calls } = countedStore();
      const mw = session({
        secret: SECRET,
        resave: false,
        saveUninitialized: false,
        ...(counted ? { store } : {}),
      });
      const app = factory();
      app.use(mw);
      const seen: unknown[] = [];
      app.use(
        route(async (req, res) => {
          req.session.views = (req.session.views ?? 0) + 1;
          res.end();
          const ended = res.writableEnded;
          const stored = await mw.manager!.load((req as Loose).sessionID);
          seen.push({ ended, views: stored?.get('views') });
        }),
      );
      const agent = request.agent(app);
      await agent.get('/');
      await agent.get('/');
      expect(seen[1]).toMatchObject({ views: 2, ...(counted ? {} : { ended: true }) });
      if (counted) expect(calls.filter((call) => call === 'patch')).toHaveLength(1);
    }
  });

  it('lets the app assign req.sessionStore and req.sessionControl', async () => {
    const app = makeApp({}, (a) => {
      a.get(
        '/',
        route((req, res) => {
          const r = req as Loose;
          r.sessionStore = 'mine';
          r.sessionControl = 'also mine';
          res.json({ store: r.sessionStore, control: r.sessionControl });
        }),
      );
    });
    expect((await request(app).get('/')).body).toEqual({ store: 'mine', control: 'also mine' });
  });

  it('lets the app assign req.sessionID; a non-string one saves nothing, as in express-session', async () => {
    const app = makeApp({}, (a) => {
      a.get(
        '/',
        route((req, res) => {
          req.session.views = (req.session.views ?? 0) + 1;
          const r = req as Loose;
          if (req.query.id === 'bogus') r.sessionID = 42;
          if (req.query.id === 'mine') r.sessionID = 'mine';
          res.json({ views: req.session.views, id: r.sessionID });
        }),
      );
    });
    const agent = request.agent(app);
    const first = await agent.get('/');
    expect(first.body.views).toBe(1);
    expect((await agent.get('/?id=mine')).body).toEqual({ views: 2, id: 'mine' });
    expect((await agent.get('/?id=bogus')).body).toEqual({ views: 3, id: 42 });
    // The bogus ID saved nothing; the session's own ID is unchanged for the next request.
    expect((await agent.get('/')).body).toEqual({ views: 3, id: first.body.id });
  });

  it('reads req.sessionID of requests is undefined where no session was attached', async () => {
    const app = factory();
    app.use('/app', session({ secret: SECRET, resave: false, saveUninitialized: false }));
    app.get('/outside', (req, res) => {
      res.json({ id: (req as Loose).sessionID ?? null, has: 'session' in req });
    });
    await request(app).get('/app');
    expect((await request(app).get('/outside')).body).toEqual({ id: null, has: false });
  });

  it('leaves express-session working in the same process, with its own req.sessionStore', async () => {
    await request(makeApp({}, (a) => a.get('/', (_req, res) => res.send('ok')))).get('/');
    const peerStore = new expressSession.MemoryStore();
    const app = factory();
    app.use(
      expressSession({ secret: SECRET, resave: false, saveUninitialized: false, store: peerStore }),
    );
    app.get('/', (req, res) => {
      const s = (req as Loose).session;
      s.views = (s.views ?? 0) + 1;
      res.json({ views: s.views, store: (req as Loose).sessionStore === peerStore });
    });
    const agent = request.agent(app);
    expect((await agent.get('/')).body).toEqual({ views: 1, store: true });
    expect((await agent.get('/')).body).toEqual({ views: 2, store: true });
  });
});

describe('on a plain node:http server (no Express)', () => {
  it('hooks that one response: the cookie is set, the session saved, req.sessionStore set', async () => {
    const store = createMemoryStore({ purgeIntervalMs: 0 });
    const middleware = session({ secret: SECRET, resave: false, saveUninitialized: false, store });
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      middleware(req, res, (error?: unknown) => {
        if (error) {
          res.statusCode = 500;
          res.end(String(error));
          return;
        }
        const r = req as Loose;
        r.session.views = (r.session.views ?? 0) + 1;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ views: r.session.views, store: r.sessionStore === store }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const first = await request(`http://127.0.0.1:${port}`).get('/');
      expect(first.body).toEqual({ views: 1, store: true });
      const cookie = cookieOf(first.headers)?.split(';')[0] as string;
      const second = await request(`http://127.0.0.1:${port}`).get('/').set('Cookie', cookie);
      expect(second.body).toEqual({ views: 2, store: true });
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await store.close();
    }
  });
});
