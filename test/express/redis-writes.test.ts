/**
 * tessera-session/express on Tessera's Redis store, through supertest and a real Redis: what a
 * request that changes its session sends (one HGETALL, one HSET), concurrent writes to
 * different keys all landing, and writes racing a revocation never bringing the session back.
 */
import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSessionId } from '../../packages/session/src/shared/ids.js';
import {
  createRedisStore,
  type RedisStore,
} from '../../packages/session/src/stores/redis/index.js';
import { commandsDuring, startRedisServer } from '../support/redis-server.js';
import { makeApp, route, sidOf } from './support.js';

const redis = await startRedisServer();
afterAll(() => redis.destroy());

describe('tessera-session/express on the Redis store', () => {
  let store: RedisStore;
  let probe: Redis;
  beforeAll(() => {
    store = createRedisStore({ url: redis.url }, { prefix: 'xw:' });
    probe = new Redis(redis.url);
  });
  afterAll(async () => {
    await store.close();
    probe.disconnect();
  });

  const app = () =>
    makeApp({ store }, (a) => {
      a.get(
        '/',
        route((req, res) => {
          req.session.views = (req.session.views ?? 0) + 1;
          res.json({ views: req.session.views });
        }),
      );
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

  it('an increment sends one HGETALL and one HSET, and no script', async () => {
    const agent = request.agent(app());
    await agent.get('/').expect(200);
    await agent.get('/').expect(200);
    const ran = await commandsDuring(probe, async () => {
      expect((await agent.get('/').expect(200)).body).toEqual({ views: 3 });
    });
    expect(ran).toEqual({ hgetall: 1, hset: 1 });
  });

  it('50 concurrent requests each setting its own key in one session: all 50 land', async () => {
    const agent = request.agent(app());
    await agent.get('/').expect(200);
    await Promise.all(Array.from({ length: 50 }, (_, i) => agent.get(`/set/${i}`).expect(200)));
    const all = (await agent.get('/all')).body;
    for (let i = 0; i < 50; i++) expect(all[`k${i}`]).toBe(i);
    expect(all.views).toBe(1);
  });

  it('requests writing while the session is revoked never bring it back', async () => {
    const agent = request.agent(app());
    const first = await agent.get('/').expect(200);
    const key = hashSessionId(sidOf(first.headers['set-cookie']?.[0]) as string);
    const hash = `xw:s:{${key}}`;
    expect(await probe.exists(hash)).toBe(1);
    const writers = Array.from({ length: 20 }, (_, i) => agent.get(`/set/${i}`));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await store.delete(key)).toBe(true);
    await Promise.all(writers);
    expect(await probe.exists(hash)).toBe(0);
    expect(await store.get(key)).toBeNull();
    // Writers that loaded after the revocation started a new session (express-session's
    // behaviour for an unknown ID); none of the old session's data comes back with it.
    expect((await agent.get('/all')).body.views).toBeUndefined();
  });
});
