import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  commandsDuring,
  startRedisCluster,
  startRedisServer,
} from '../../../../../test/support/redis-server.js';
import { makeRecord, testStore } from '../conformance/index.js';
import type { SessionRecord, Store } from '../store.js';
import { createRedisStore, type RedisClient, type RedisStore } from './redis-store.js';

const redis = await startRedisServer({ aof: true });
const cluster = await startRedisCluster();
afterAll(async () => {
  await Promise.all([redis.destroy(), cluster.destroy()]);
});

/** Every key and its value, as text: what an attacker with a dump of Redis would see. */
async function dumpRedis(client: RedisClient): Promise<string> {
  const nodes = 'nodes' in client ? client.nodes('master') : [client];
  const lines: string[] = [];
  for (const node of nodes) {
    for (const key of await node.keys('*')) {
      const type = await node.type(key);
      let value: unknown;
      if (type === 'hash') value = await node.hgetall(key);
      else if (type === 'string') value = await node.get(key);
      else if (type === 'zset') value = await node.zrange(key, '0', '-1', 'WITHSCORES');
      lines.push(`${key} ${JSON.stringify(value)}`);
    }
  }
  return lines.join('\n');
}

testStore('redis', ({ now }) => createRedisStore({ url: redis.url }, { now }), {
  dumpBackend: (store) => dumpRedis((store as RedisStore).client),
  outage: { stop: () => redis.stop(), start: () => redis.start() },
});

testStore('redis cluster', ({ now }) => createRedisStore({ url: cluster.url }, { now }), {
  dumpBackend: (store) => dumpRedis((store as RedisStore).client),
});

function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = Date.now();
  return makeRecord(now, {
    data: { a: 1 },
    expiresAt: now + 60_000,
    absoluteExpiresAt: now + 3_600_000,
    ...overrides,
  });
}

describe('redis store specifics', () => {
  let store: RedisStore;
  let probe: Redis;
  beforeAll(() => {
    store = createRedisStore({ url: redis.url }, { prefix: 'specific:' });
    probe = new Redis(redis.url);
  });
  afterAll(async () => {
    await store.close();
    probe.disconnect();
  });

  it('reads a session with exactly one command (HGETALL)', async () => {
    const stored = record();
    await store.create(stored);
    const sent = await commandsDuring(probe, async () => {
      expect(await store.get(stored.key)).toEqual(stored);
    });
    expect(sent).toEqual({ hgetall: 1 });
  });

  it('lets Redis expire a session itself at expiresAt (PEXPIREAT), one hash per session', async () => {
    const stored = record({ expiresAt: Date.now() + 5000, data: { a: 1, b: { c: [2] } } });
    await store.create(stored);
    const hashKey = `specific:s:{${stored.key}}`;
    expect(await probe.type(hashKey)).toBe('hash');
    expect(await probe.hget(hashKey, 'd:b')).toBe('{"c":[2]}');
    const ttl = await probe.pttl(hashKey);
    expect(ttl).toBeGreaterThan(3000);
    expect(ttl).toBeLessThanOrEqual(5000);
    await store.touch(stored.key, Date.now(), Date.now() + 120_000);
    expect(await probe.pttl(hashKey)).toBeGreaterThan(100_000);
  });

  it('keeps every key under the prefix', async () => {
    const before = new Set(await probe.keys('*'));
    await store.create(record({ userId: 'prefix-user' }));
    await store.kvSet('ns', 'k', 1, null);
    const added = (await probe.keys('*')).filter((key) => !before.has(key));
    expect(added.length).toBeGreaterThanOrEqual(5);
    expect(added.filter((key) => !key.startsWith('specific:'))).toEqual([]);
  });

  it('uses a client passed in and leaves it open on close()', async () => {
    const client = new Redis(redis.url);
    const borrowed: Store = createRedisStore({ client }, { prefix: 'borrowed:' });
    const stored = record();
    await borrowed.create(stored);
    await borrowed.close();
    expect(await client.exists(`borrowed:s:{${stored.key}}`)).toBe(1);
    client.disconnect();
  });

  it('refuses a bad url or timeout with ERR_CONFIG', () => {
    expect(() => createRedisStore({ url: 'http://localhost' })).toThrow(/redis:\/\//);
    expect(() => createRedisStore({ url: 'redis+cluster://host:notaport' })).toThrow(/host:port/);
    expect(() => createRedisStore({ url: redis.url }, { timeoutMs: 0 })).toThrow(/timeoutMs/);
  });

  it('fails within timeoutMs when nothing answers', async () => {
    // A listening socket that never speaks Redis: connect succeeds, commands hang.
    const { createServer } = await import('node:net');
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const hung = createRedisStore({ url: `redis://127.0.0.1:${port}` }, { timeoutMs: 300 });
    const started = Date.now();
    await expect(hung.get('x')).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(1500);
    await hung.close();
    silent.close();
  });
});
