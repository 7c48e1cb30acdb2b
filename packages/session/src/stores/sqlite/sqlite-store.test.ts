import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { generateHandle, generateSessionId, hashSessionId } from '../../shared/ids.js';
import { makeRecord, testStore } from '../conformance/index.js';
import { createManualClock } from '../conformance/manual-clock.js';
import { createSqliteStore, SQLITE_SCHEMA_VERSION, type SqliteStore } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = (): string => join(dir, `store-${++files}.db`);

testStore('sqlite', ({ now }) => createSqliteStore({ path: freshPath(), now }), {
  dumpBackend: async (store) => {
    const db = new Database((store as SqliteStore).path, { readonly: true });
    try {
      const sessions = db.prepare('SELECT * FROM tessera_sessions').all();
      const kv = db.prepare('SELECT * FROM tessera_kv').all();
      return JSON.stringify({ sessions, kv });
    } finally {
      db.close();
    }
  },
});

testStore('sqlite :memory:', ({ now }) => createSqliteStore({ path: ':memory:', now }));

const record = makeRecord;

describe('sqlite store', () => {
  it('keeps every session and key-value entry across close and reopen', async () => {
    const path = freshPath();
    const clock = createManualClock(Date.now());
    const first = createSqliteStore({ path, now: clock.now });
    const records = Array.from({ length: 50 }, (_, i) =>
      record(clock.now(), { userId: `user-${i % 5}`, data: { i, nested: { list: [i] } } }),
    );
    for (const r of records) await first.create(r);
    await first.patch(records[0]!.key, { set: { patched: true } });
    await first.kvSet('keys', 'active', { kid: 'k1' }, null);
    await first.close();

    const second = createSqliteStore({ path, now: clock.now });
    for (const r of records.slice(1)) expect(await second.get(r.key)).toEqual(r);
    expect((await second.get(records[0]!.key))?.data).toEqual({
      i: 0,
      nested: { list: [0] },
      patched: true,
    });
    expect(await second.listByUser('user-0')).toHaveLength(10);
    expect(await second.kvGet('keys', 'active')).toEqual({ kid: 'k1' });
    await second.close();
  });

  it('lets two instances on one file see each other’s writes', async () => {
    const path = freshPath();
    const clock = createManualClock(Date.now());
    const a = createSqliteStore({ path, now: clock.now });
    const b = createSqliteStore({ path, now: clock.now });
    const r = record(clock.now(), { userId: 'shared-user' });
    await a.create(r);
    expect(await b.get(r.key)).toEqual(r);
    await b.patch(r.key, { set: { fromB: 1 } });
    expect((await a.get(r.key))?.data).toEqual({ fromB: 1 });
    expect(await b.kvSet('ns', 'lock', 'b', null, { ifAbsent: true })).toBe(true);
    expect(await a.kvSet('ns', 'lock', 'a', null, { ifAbsent: true })).toBe(false);
    expect(await a.deleteByUser('shared-user')).toBe(1);
    expect(await b.get(r.key)).toBeNull();
    const conflict = record(clock.now(), { handle: generateHandle() });
    await a.create(conflict);
    await expect(
      b.create({ ...conflict, key: hashSessionId(generateSessionId()) }),
    ).rejects.toMatchObject({
      code: 'ERR_STORE_CONFLICT',
    });
    await a.close();
    await b.close();
  });

  it('keeps every patch when two instances patch one session at once', async () => {
    const path = freshPath();
    const a = createSqliteStore({ path });
    const b = createSqliteStore({ path });
    const r = record(Date.now());
    await a.create(r);
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        (i % 2 === 0 ? a : b).patch(r.key, { set: { [`k${i}`]: i } }),
      ),
    );
    expect(Object.keys((await a.get(r.key))?.data ?? {})).toHaveLength(100);
    await a.close();
    await b.close();
  });

  it('keeps every patch when another process patches the same session at the same time', async () => {
    const path = freshPath();
    const store = createSqliteStore({ path });
    const r = record(Date.now());
    await store.create(r);
    const rounds = 200;
    const child = spawnPatcher(path, r.key, rounds);
    await child.ready;
    for (let i = 0; i < rounds; i++) {
      await store.patch(r.key, { set: { [`parent${i}`]: i } });
      if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await child.done).toBe(0);
    const data = (await store.get(r.key))?.data ?? {};
    for (let i = 0; i < rounds; i++) {
      expect(data[`parent${i}`]).toBe(i);
      expect(data[`child${i}`]).toBe(i);
    }
    await store.close();
  }, 30_000);

  it('keeps the per-user cap when another process logs the same user in at the same time', async () => {
    for (const onLimit of ['refuse', 'evict-oldest'] as const) {
      const path = freshPath();
      const store = createSqliteStore({ path });
      const user = `cap-${onLimit}`;
      const rounds = 40;
      const child = spawnCapper(path, user, onLimit, rounds);
      await child.ready;
      let created = 0;
      for (let i = 0; i < rounds; i++) {
        const now = Date.now();
        const result = await store.createWithinLimit(record(now, { userId: user }), {
          maxPerUser: 2,
          onLimit,
        });
        if (result.created) created++;
        if (i % 5 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      const childCreated = await child.created;
      if (onLimit === 'refuse') expect(created + childCreated).toBe(2);
      else expect(created + childCreated).toBe(2 * rounds);
      expect(await store.listByUser(user)).toHaveLength(2);
      await store.close();
    }
  }, 60_000);

  it('creates missing parent folders of the database file', async () => {
    const path = join(dir, 'missing', 'deeper', 'sessions.db');
    const store = createSqliteStore({ path });
    const r = record(Date.now());
    await store.create(r);
    expect(existsSync(path)).toBe(true);
    expect(await store.get(r.key)).toEqual(r);
    await store.close();
  });

  it('uses WAL, synchronous=NORMAL, the documented tables and a schema version', async () => {
    const path = freshPath();
    const store = createSqliteStore({ path });
    await store.close();
    const db = new Database(path);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    const indexes = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'tessera_%'")
      .all()
      .map((row) => (row as { name: string }).name)
      .sort();
    expect(indexes).toEqual([
      'tessera_kv_expires_at',
      'tessera_sessions_expires_at',
      'tessera_sessions_user_id',
    ]);
    db.close();
  });

  it('refuses a database written by a newer schema version', () => {
    const path = freshPath();
    const db = new Database(path);
    db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => createSqliteStore({ path })).toThrow(/newer than this Tessera/);
  });

  it('purges in batches: more expired rows than one batch all go', async () => {
    const clock = createManualClock(Date.now());
    const store = createSqliteStore({ path: ':memory:', now: clock.now });
    const t0 = clock.now();
    for (let i = 0; i < 1200; i++) await store.create(record(t0, { expiresAt: t0 + 1000 }));
    for (let i = 0; i < 700; i++) await store.kvSet('ns', `k${i}`, i, t0 + 1000);
    const live = record(t0);
    await store.create(live);
    clock.set(t0 + 1000);
    expect(await store.purgeExpired()).toBe(1900);
    expect(await store.get(live.key)).toEqual(live);
    await store.close();
  });

  it('refuses a missing path and bad timings with ERR_CONFIG', () => {
    expect(() => createSqliteStore({ path: '' })).toThrow(/path/);
    expect(() => createSqliteStore({ path: ':memory:', busyTimeoutMs: -1 })).toThrow(
      /busyTimeoutMs/,
    );
    expect(() => createSqliteStore({ path: ':memory:', purgeIntervalMs: Number.NaN })).toThrow(
      /purgeIntervalMs/,
    );
  });
});

/** Starts a second process that patches `key` `rounds` times on the same file. */
function spawnPatcher(
  path: string,
  key: string,
  rounds: number,
): { ready: Promise<void>; done: Promise<number | null> } {
  const storeModule = fileURLToPath(new URL('./index.ts', import.meta.url));
  const script = `
    const { createSqliteStore } = await import(${JSON.stringify(storeModule)});
    const store = createSqliteStore({ path: ${JSON.stringify(path)} });
    process.stdout.write('ready\\n');
    for (let i = 0; i < ${rounds}; i++) {
      const applied = await store.patch(${JSON.stringify(key)}, { set: { ['child' + i]: i } });
      if (!applied) process.exit(2);
      if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await store.close();
  `;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '--eval', script],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    child.on('exit', () => reject(new Error('the patcher process exited before it was ready')));
  });
  const done = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { ready, done };
}

/** A second process creating `rounds` capped sessions for `user`; answers how many it created. */
function spawnCapper(
  path: string,
  user: string,
  onLimit: 'refuse' | 'evict-oldest',
  rounds: number,
): { ready: Promise<void>; created: Promise<number> } {
  const storeModule = fileURLToPath(new URL('./index.ts', import.meta.url));
  const script = `
    const { randomBytes } = await import('node:crypto');
    const { createSqliteStore } = await import(${JSON.stringify(storeModule)});
    const store = createSqliteStore({ path: ${JSON.stringify(path)} });
    process.stdout.write('ready\\n');
    let created = 0;
    for (let i = 0; i < ${rounds}; i++) {
      const now = Date.now();
      const record = {
        key: randomBytes(32).toString('base64url'), handle: randomBytes(16).toString('base64url'),
        userId: ${JSON.stringify(user)}, data: {}, meta: {}, createdAt: now, lastSeenAt: now,
        authAt: now, expiresAt: now + 3600000, absoluteExpiresAt: now + 7200000,
      };
      const result = await store.createWithinLimit(record, { maxPerUser: 2, onLimit: ${JSON.stringify(onLimit)} });
      if (result.created) created++;
      if (i % 5 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await store.close();
    process.stdout.write('created ' + created + '\\n');
  `;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '--eval', script],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('ready')) resolve();
    });
    child.on('exit', () => reject(new Error('the capper process exited before it was ready')));
  });
  const created = new Promise<number>((resolve, reject) =>
    child.on('exit', (code) => {
      const match = /created (\d+)/.exec(output);
      if (code === 0 && match) resolve(Number(match[1]));
      else reject(new Error(`the capper process failed (exit ${code}): ${output}`));
    }),
  );
  return { ready, created };
}
