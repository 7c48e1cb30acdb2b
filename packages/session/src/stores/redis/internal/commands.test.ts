/**
 * How the Redis store's commands leave the process, on a real Redis: one pipeline per
 * event-loop turn, in issue order, without waiting for the previous batch's replies.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { startRedisServer } from '../../../../../../test/support/redis-server.js';
import { createRedisStore } from '../redis-store.js';
import { storeCommands } from './commands.js';

const redis = await startRedisServer();
const client = new Redis(redis.url);
afterAll(async () => {
  client.disconnect();
  await redis.destroy();
});

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('storeCommands on a standalone client', () => {
  const commands = storeCommands(client, false);

  it('sends the commands of one turn as one pipeline, in the order they were issued', async () => {
    const pipeline = vi.spyOn(client, 'pipeline');
    try {
      const replies = Promise.all([
        commands.hset('batch:h', 'a', '1', 'b', '2'),
        commands.hgetall('batch:h'),
        commands.hmget('batch:h', 'b', 'missing'),
        commands.set('batch:s', 'v', 'PX', '60000', 'NX'),
        commands.set('batch:s', 'w', 'PX', '60000', 'NX'),
        commands.get('batch:s'),
        commands.zadd('batch:z', 5, 'm'),
        commands.zrange('batch:z', '0', '-1'),
        commands.evalsha('0'.repeat(40), 0).catch((error: Error) => error.message),
        commands.eval("return redis.call('HGET', KEYS[1], 'a')", 1, 'batch:h'),
        commands.scan('0', 'batch:*'),
      ]);
      expect(await replies).toEqual([
        2,
        { a: '1', b: '2' },
        ['2', null],
        'OK',
        null,
        'v',
        1,
        ['m'],
        expect.stringMatching(/^NOSCRIPT/),
        '1',
        ['0', expect.arrayContaining(['batch:h', 'batch:s', 'batch:z'])],
      ]);
      expect(pipeline).toHaveBeenCalledTimes(1);
    } finally {
      pipeline.mockRestore();
    }
  });

  it('sends the next turn without waiting for the replies to the previous one', async () => {
    const pipeline = vi.spyOn(client, 'pipeline');
    try {
      // Redis busy for 200 ms on the first batch.
      const slow = commands.eval(
        "local t = redis.call('TIME'); local s = t[1] * 1000000 + t[2]; repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] - s > 200000; return 1",
        0,
      );
      let slowDone = false;
      void slow.then(() => {
        slowDone = true;
      });
      await nextTurn();
      const fast = commands.get('batch:s');
      await nextTurn();
      expect(pipeline).toHaveBeenCalledTimes(2);
      expect(slowDone).toBe(false);
      expect(await slow).toBe(1);
      expect(await fast).toBe('v');
    } finally {
      pipeline.mockRestore();
    }
  });

  it('fails only the command Redis refuses, not the rest of its batch', async () => {
    const [wrong, right] = await Promise.allSettled([
      commands.hgetall('batch:s'), // a string, not a hash
      commands.get('batch:s'),
    ]);
    expect(wrong).toMatchObject({
      status: 'rejected',
      reason: expect.objectContaining({ message: expect.stringMatching(/^WRONGTYPE/) }),
    });
    expect(right).toEqual({ status: 'fulfilled', value: 'v' });
  });

  it('fails the batch, not the process, when the driver throws while sending it', async () => {
    const pipeline = vi.spyOn(client, 'pipeline').mockImplementationOnce(() => {
      throw new Error('driver failure');
    });
    try {
      const results = await Promise.allSettled([commands.get('batch:s'), commands.get('x')]);
      expect(results).toEqual([
        { status: 'rejected', reason: new Error('driver failure') },
        { status: 'rejected', reason: new Error('driver failure') },
      ]);
      expect(await commands.get('batch:s')).toBe('v'); // the next batch goes out as usual
    } finally {
      pipeline.mockRestore();
    }
  });

  it('rejects every command of a batch sent on a closed connection', async () => {
    const closed = new Redis(redis.url, { lazyConnect: true, enableOfflineQueue: false });
    closed.on('error', () => {
      // The rejections below are what this test reads.
    });
    const results = await Promise.allSettled([
      storeCommands(closed, false).get('batch:s'),
      storeCommands(closed, false).hgetall('batch:h'),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    closed.disconnect();
  });
});

describe('the store on a standalone client', () => {
  it('lets commands issued before close() finish ahead of QUIT', async () => {
    const store = createRedisStore({ url: redis.url }, { prefix: 'batch-close:' });
    const reading = store.get('absent-key');
    const kv = store.kvGet('ns', 'absent');
    await store.close();
    expect(await reading).toBeNull();
    expect(await kv).toBeNull();
  });
});
