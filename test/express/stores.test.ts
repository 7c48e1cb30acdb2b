/**
 * express-session stores from the wild, each on its real backend, under tessera-session/express
 * exactly as under express-session: connect-redis 7 (ioredis and node-redis clients), 8 and 9
 * (node-redis), connect-pg-simple (PostgreSQL), better-sqlite3-session-store (SQLite) and
 * session-file-store. Each runs one short round trip — a session is created, read back,
 * read by express-session itself from the same store, and destroyed — plus the one check that
 * createRedisStore refuses a node-redis client at construction.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { RedisStore as RedisStore9 } from 'connect-redis';
import RedisStore7 from 'connect-redis7';
import { RedisStore as RedisStore8 } from 'connect-redis8';
import express, { type Express } from 'express';
import expressSession from 'express-session';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createClient } from 'redis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import session from '../../packages/session/src/adapters/express/index.js';
import { TesseraError } from '../../packages/session/src/shared/errors.js';
import { createRedisStore } from '../../packages/session/src/stores/redis/index.js';
import { type PostgresServerHandle, startPostgresServer } from '../support/postgres-server.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { cookieOf, type Loose, recordingLogger, route, SAME_ORIGIN, SECRET } from './support.js';

const require = createRequire(import.meta.url);

const views = route((req, res) => {
  req.session.views = (req.session.views ?? 0) + 1;
  res.json({ views: req.session.views, id: req.sessionID });
});

function app(store: unknown, middleware: 'tessera' | 'express-session'): Express {
  const a = express();
  const options = {
    secret: SECRET,
    store: store as never,
    resave: false,
    saveUninitialized: false,
    cookie: { maxAge: 3_600_000 },
  };
  a.use(
    middleware === 'tessera'
      ? session({ ...options, logger: recordingLogger() })
      : expressSession(options),
  );
  a.get('/', views);
  a.post(
    '/logout',
    route((req, res, next) =>
      req.session.destroy((err: unknown) => (err ? next(err) : res.send('bye'))),
    ),
  );
  return a;
}

/** Create, read back, hand to express-session, destroy: the same as with express-session. */
async function roundTrip(store: unknown): Promise<void> {
  const tessera = app(store, 'tessera');
  const first = await request(tessera).get('/');
  expect(first.status).toBe(200);
  const line = cookieOf(first.headers)!.split(';')[0]!;
  const second = await request(tessera).get('/').set('Cookie', line);
  expect(second.body).toEqual({ views: 2, id: first.body.id });
  const byExpressSession = await request(app(store, 'express-session'))
    .get('/')
    .set('Cookie', line);
  expect(byExpressSession.body).toEqual({ views: 3, id: first.body.id });
  expect((await request(tessera).post('/logout').set('Cookie', line).set(SAME_ORIGIN)).text).toBe(
    'bye',
  );
  const after = await request(tessera).get('/').set('Cookie', line);
  expect(after.body.views).toBe(1);
  expect(after.body.id).not.toBe(first.body.id);
}

describe('express-session stores under tessera-session/express', () => {
  let redis: RedisServerHandle;
  let postgres: PostgresServerHandle;
  const closers: Array<() => Promise<unknown> | unknown> = [];

  beforeAll(async () => {
    [redis, postgres] = await Promise.all([startRedisServer(), startPostgresServer()]);
  });

  afterAll(async () => {
    for (const close of closers.reverse()) await close();
    await Promise.all([redis?.destroy(), postgres?.destroy()]);
  });

  async function nodeRedis() {
    const client = createClient({ url: redis.url });
    await client.connect();
    closers.push(() => client.destroy());
    return client;
  }

  it('connect-redis 7 with an ioredis client', async () => {
    const client = new Redis(redis.url);
    closers.push(() => client.quit());
    await roundTrip(new RedisStore7({ client, prefix: 'v7io:' }));
  });

  it('connect-redis 7 with a node-redis client', async () => {
    await roundTrip(new RedisStore7({ client: await nodeRedis(), prefix: 'v7:' }));
  });

  it('connect-redis 8 with a node-redis client', async () => {
    await roundTrip(new RedisStore8({ client: await nodeRedis(), prefix: 'v8:' }));
  });

  it('connect-redis 9 with a node-redis client', async () => {
    await roundTrip(new RedisStore9({ client: await nodeRedis(), prefix: 'v9:' }));
  });

  it('connect-pg-simple on PostgreSQL', async () => {
    const PgStore = require('connect-pg-simple')(session);
    const pool = new pg.Pool({ connectionString: postgres.connectionString });
    const store = new PgStore({ pool, createTableIfMissing: true, pruneSessionInterval: false });
    closers.push(() => pool.end());
    closers.push(() => store.close());
    await roundTrip(store);
  });

  it('better-sqlite3-session-store on SQLite', async () => {
    const SqliteStore = require('better-sqlite3-session-store')(session);
    const client = new Database(':memory:');
    closers.push(() => client.close());
    await roundTrip(new SqliteStore({ client, expired: { intervalMs: 3_600_000 } }));
  });

  it('session-file-store in a directory', async () => {
    const FileStore = require('session-file-store')(session);
    const dir = mkdtempSync(join(tmpdir(), 'tessera-file-store-'));
    closers.push(() => rmSync(dir, { recursive: true, force: true }));
    await roundTrip(new FileStore({ path: dir, retries: 0, logFn: () => {}, reapInterval: -1 }));
  });

  it('createRedisStore({ client }) refuses a node-redis client at construction, naming the fix', async () => {
    const client = await nodeRedis();
    let thrown: unknown;
    try {
      createRedisStore({ client: client as Loose });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TesseraError);
    expect((thrown as TesseraError).code).toBe('ERR_CONFIG');
    expect((thrown as TesseraError).message).toMatch(/ioredis/);
    expect((thrown as TesseraError).message).toMatch(/connect-redis|url/);
  });
});
