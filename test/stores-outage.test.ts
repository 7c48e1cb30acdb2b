/**
 * Outages of a real backend under load: the server is killed while requests run, calls fail
 * fast with ERR_STORE_UNAVAILABLE (no hang, no crash, no unhandled rejection), the store
 * recovers by itself when the server is back, and no session whose create succeeded is lost.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { isTesseraError } from '../packages/session/src/shared/errors.js';
import {
  generateHandle,
  generateSessionId,
  hashSessionId,
} from '../packages/session/src/shared/ids.js';
import { createPostgresStore } from '../packages/session/src/stores/postgres/postgres-store.js';
import { createRedisStore } from '../packages/session/src/stores/redis/redis-store.js';
import type { SessionRecord, Store } from '../packages/session/src/stores/store.js';
import { startPostgresServer } from './support/postgres-server.js';
import { startRedisServer } from './support/redis-server.js';

const redis = await startRedisServer({ aof: true });
const postgres = await startPostgresServer();
afterAll(async () => {
  await Promise.all([redis.destroy(), postgres.destroy()]);
});

function record(): SessionRecord {
  const now = Date.now();
  return {
    key: hashSessionId(generateSessionId()),
    handle: generateHandle(),
    userId: 'outage-user',
    data: { n: 1 },
    meta: {},
    createdAt: now,
    lastSeenAt: now,
    authAt: now,
    expiresAt: now + 600_000,
    absoluteExpiresAt: now + 3_600_000,
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function survivesOutage(
  store: Store,
  backend: { crash(): Promise<void>; start(): Promise<void> },
): Promise<{ failFastMs: number; recoveryMs: number; committed: number }> {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  process.on('unhandledRejection', onUnhandled);
  const committed: SessionRecord[] = [];
  const otherErrors: unknown[] = [];
  let running = true;
  // Four concurrent writers, like request handlers, for the whole test.
  const writers = Array.from({ length: 4 }, async () => {
    while (running) {
      const r = record();
      try {
        await store.create(r);
        committed.push(r);
      } catch (error) {
        if (!isTesseraError(error, 'ERR_STORE_UNAVAILABLE')) otherErrors.push(error);
        await pause(20);
      }
    }
  });
  let down = false;
  try {
    await pause(300);
    expect(committed.length).toBeGreaterThan(0);
    await backend.crash();
    down = true;
    const before = committed.length;

    const started = Date.now();
    await expect(store.get(committed[0]!.key)).rejects.toMatchObject({
      code: 'ERR_STORE_UNAVAILABLE',
    });
    const failFastMs = Date.now() - started;
    expect(failFastMs).toBeLessThan(2000);
    await pause(300);
    expect(committed.length - before).toBeLessThanOrEqual(4);

    await backend.start();
    down = false;
    const restarted = Date.now();
    for (;;) {
      try {
        await store.get(committed[0]!.key);
        break;
      } catch {
        if (Date.now() - restarted > 15_000) throw new Error('no recovery within 15 s');
        await pause(50);
      }
    }
    const recoveryMs = Date.now() - restarted;
    await pause(200);
    running = false;
    await Promise.all(writers);

    for (const r of committed) expect(await store.get(r.key)).toEqual(r);
    expect(otherErrors).toEqual([]);
    expect(unhandled).toEqual([]);
    return { failFastMs, recoveryMs, committed: committed.length };
  } finally {
    running = false;
    if (down) await backend.start();
    process.off('unhandledRejection', onUnhandled);
  }
}

describe('store outages', () => {
  it('Redis (AOF, appendfsync always) killed mid-run: fails fast, recovers, loses no committed session', async () => {
    const store = createRedisStore({ url: redis.url }, { timeoutMs: 1000 });
    const result = await survivesOutage(store, {
      crash: () => redis.stop('SIGKILL'),
      start: () => redis.start(),
    });
    console.log('redis outage', result);
    expect(result.recoveryMs).toBeLessThan(5000);
    await store.close();
  }, 60_000);

  it('PostgreSQL stopped (immediate) mid-run: fails fast, recovers, loses no committed session', async () => {
    const store = createPostgresStore(
      { connectionString: postgres.connectionString },
      { timeoutMs: 1000 },
    );
    const result = await survivesOutage(store, {
      crash: () => postgres.stop('immediate'),
      start: () => postgres.start(),
    });
    console.log('postgres outage', result);
    expect(result.recoveryMs).toBeLessThan(5000);
    await store.close();
  }, 60_000);

  it('a store whose backend is down at start-up fails fast, then works once it is up', async () => {
    await redis.stop();
    const store = createRedisStore({ url: redis.url }, { timeoutMs: 500 });
    try {
      const started = Date.now();
      await expect(store.get('k')).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
      expect(Date.now() - started).toBeLessThan(1000);
    } finally {
      await redis.start();
    }
    const deadline = Date.now() + 10_000;
    let ok = false;
    while (!ok && Date.now() < deadline) {
      ok = await store.get('k').then(
        () => true,
        () => false,
      );
      if (!ok) await pause(50);
    }
    expect(ok).toBe(true);
    await store.close();
  }, 30_000);
});
