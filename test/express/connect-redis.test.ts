/**
 * tessera-session/express on a real connect-redis store (RedisStore from connect-redis 9 on its
 * node-redis client, against a real redis-server): sessions written by express-session move to
 * Tessera and back with the same store object, the stored JSON keeps express-session's shape,
 * and a Redis outage reaches the app's error handler at once instead of hanging or signing anyone in.
 */
import { RedisStore } from 'connect-redis';
import express, { type Express } from 'express';
import expressSession from 'express-session';
import { createClient } from 'redis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import session from '../../packages/session/src/adapters/express/index.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { cookieOf, recordingLogger, route, SECRET } from './support.js';

let redis: RedisServerHandle;
let client: ReturnType<typeof createClient>;
let store: RedisStore;

beforeAll(async () => {
  redis = await startRedisServer();
  client = createClient({
    url: redis.url,
    // Fail fast while the server is down (the outage test), as a production app would.
    socket: { reconnectStrategy: () => 200, connectTimeout: 500 },
    disableOfflineQueue: true,
  });
  client.on('error', () => {});
  await client.connect();
  store = new RedisStore({ client, prefix: 'sess:' });
});

afterAll(async () => {
  await client?.destroy?.();
  await redis?.destroy();
});

const count = route((req, res) => {
  req.session.views = (req.session.views ?? 0) + 1;
  res.json({ views: req.session.views, id: req.sessionID });
});

function expressSessionApp(): Express {
  const app = express();
  app.use(
    expressSession({
      secret: SECRET,
      store,
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: 3_600_000, sameSite: 'lax' },
    }),
  );
  app.get('/', count);
  return app;
}

function tesseraApp(storeTimeout = 2000): Express {
  const app = express();
  app.use(
    session({
      secret: SECRET,
      store: store as never,
      storeTimeout,
      logger: recordingLogger(),
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: 3_600_000, sameSite: 'lax' },
    }),
  );
  app.get('/', count);
  app.use(
    (
      error: { status?: number; code?: string; message?: string },
      _req: unknown,
      res: express.Response,
      _next: unknown,
    ) => {
      res.status(error.status ?? 500).json({ code: error.code, message: error.message });
    },
  );
  return app;
}

const cookieLine = (headers: Record<string, unknown>) => cookieOf(headers)!.split(';')[0]!;

describe('tessera-session/express on connect-redis', () => {
  it('moves a session from express-session to Tessera and back through one RedisStore', async () => {
    const first = await request(expressSessionApp()).get('/');
    expect(first.body.views).toBe(1);
    const cookie = cookieLine(first.headers);
    const second = await request(tesseraApp()).get('/').set('Cookie', cookie);
    expect(second.body).toEqual({ views: 2, id: first.body.id });
    const third = await request(expressSessionApp()).get('/').set('Cookie', cookie);
    expect(third.body).toEqual({ views: 3, id: first.body.id });

    // The record in Redis is express-session's: key sess:<sid>, JSON with its cookie object.
    const raw = await client.get(`sess:${first.body.id}`);
    const stored = JSON.parse(raw ?? '{}');
    expect(stored.views).toBe(3);
    expect(stored.cookie).toMatchObject({ httpOnly: true, path: '/' });
    // express-session wrote this one: restoring `expires` recomputes originalMaxAge from its
    // clock, so it can fall a millisecond or so short of the configured hour.
    expect(stored.cookie.originalMaxAge).toBeGreaterThan(3_590_000);
    expect(stored.cookie.originalMaxAge).toBeLessThanOrEqual(3_600_000);
    expect(await client.ttl(`sess:${first.body.id}`)).toBeGreaterThan(3000);
  });

  it('starts sessions of its own in the same format that express-session then reads', async () => {
    const first = await request(tesseraApp()).get('/');
    const cookie = cookieLine(first.headers);
    expect(await client.exists(`sess:${first.body.id}`)).toBe(1);
    const again = await request(expressSessionApp()).get('/').set('Cookie', cookie);
    expect(again.body).toEqual({ views: 2, id: first.body.id });
  });

  it('passes the store’s error to next(err) at once while Redis is down, and recovers', async () => {
    const app = tesseraApp(500);
    const first = await request(app).get('/');
    const cookie = cookieLine(first.headers);
    await redis.stop('SIGKILL');
    try {
      const started = Date.now();
      const down = await request(app).get('/').set('Cookie', cookie);
      // connect-redis's own error reaches the app's error handler, as with express-session.
      expect(down.status).toBe(500);
      expect(down.body.code).not.toBe('ERR_STORE_UNAVAILABLE');
      expect(down.body.message).toMatch(/\w/);
      expect(down.headers['set-cookie']).toBeUndefined();
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await redis.start();
    }
    // The server came back empty (no persistence in this test): a fresh session, not a 500.
    let status = 0;
    for (let i = 0; i < 30 && status !== 200; i++) {
      status = (await request(app).get('/').set('Cookie', cookie)).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(status).toBe(200);
  });
});
