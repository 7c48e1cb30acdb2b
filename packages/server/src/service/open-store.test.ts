import { Redis } from 'ioredis';
import { makeRecord } from 'tessera-session/testing';
import { describe, expect, it } from 'vitest';
import { startRedisServer } from '../../../../test/support/redis-server.js';
import { openStore, redact } from './open-store.js';

describe('openStore: TESSERA_REDIS_LAYOUT', () => {
  it('refuses a value other than packed or separate, naming the variable', async () => {
    await expect(
      openStore('redis://127.0.0.1:6379', { TESSERA_REDIS_LAYOUT: 'compact' }),
    ).rejects.toMatchObject({
      code: 'ERR_CONFIG',
      message: expect.stringContaining('TESSERA_REDIS_LAYOUT'),
    });
  });

  it('writes sessions packed by default, and as separate fields with separate', async () => {
    const redis = await startRedisServer();
    const probe = new Redis(redis.url);
    try {
      const now = Date.now();
      const fieldsWritten = async (env: NodeJS.ProcessEnv, key: string): Promise<string[]> => {
        const store = await openStore(redis.url, env);
        const record = makeRecord(now, { key, handle: `h-${key}` });
        await store.create(record);
        await store.close();
        return (await probe.hkeys(`tessera:s:{${key}}`)).sort();
      };
      expect(await fieldsWritten({}, 'packed-key')).toEqual(['_p']);
      expect(await fieldsWritten({ TESSERA_REDIS_LAYOUT: 'separate' }, 'separate-key')).toEqual([
        '_b',
        '_c',
        '_e',
        '_h',
        '_l',
        '_x',
      ]);
    } finally {
      probe.disconnect();
      await redis.destroy();
    }
  });
});

describe('redact', () => {
  it('hides the password of the user-info, keeping the user name', () => {
    expect(redact('postgres://app:s3cret@db:5432/tessera')).toBe(
      'postgres://app:***@db:5432/tessera',
    );
    expect(redact('redis://:s3cret@cache:6379/0')).toBe('redis://:***@cache:6379/0');
    expect(redact('redis+cluster://u:p%40ss@h1:7000,h2:7001')).toBe(
      'redis+cluster://u:***@h1:7000,h2:7001',
    );
  });

  it('hides credentials passed in the query, and only those', () => {
    expect(
      redact('postgres://db/x?sslmode=require&password=hunter2&sslpassword=k&application_name=t'),
    ).toBe('postgres://db/x?sslmode=require&password=***&sslpassword=***&application_name=t');
    expect(redact('rediss://cache?token=abc&db=2')).toBe('rediss://cache?token=***&db=2');
    expect(redact('postgres://db/x?p%61ssword=hunter2')).toBe('postgres://db/x?p%61ssword=***');
  });

  it('leaves URLs without credentials alone', () => {
    expect(redact('sqlite:./data/tessera.db')).toBe('sqlite:./data/tessera.db');
    expect(redact('redis://user@cache:6379')).toBe('redis://user@cache:6379');
  });
});
