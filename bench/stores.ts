/**
 * Store benchmark: Tessera's memory and SQLite stores beside express-session's MemoryStore,
 * doing the same work in the same run.
 *
 * - load+patch per second: load a session, change one key, write it back (Tessera: `get` +
 *   `patch`; express-session: `get` + `set` through its callback API, promisified), for one
 *   session and for 100 000 sessions read in random order; 15 short rounds, interleaved so
 *   load from other processes hits every store alike; medians reported.
 * - heap per session: 100 000 sessions of ~200 bytes of JSON data, measured with `gc()`.
 *
 * Run: `node --expose-gc --import tsx bench/stores.ts` (about a minute). Prints a table and
 * writes `bench/results/stores.json`.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import session from 'express-session';

import type { SessionData, SessionRecord, Store } from '../packages/session/src/stores/store.js';
import { median } from './stats.js';
import { lib } from './tessera.js';

const { generateHandle, generateSessionId, hashSessionId } = await lib.ids();
const { createMemoryStore } = await lib.memoryStore();
const { createSqliteStore } = await lib.sqliteStore();

const MANY = 100_000;
const ROUNDS = 15;
const ROUND_MS = 150;
const DAY = 86_400_000;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.error('Run with --expose-gc: node --expose-gc --import tsx bench/stores.ts');
  process.exit(1);
}

/** ~200 bytes of JSON, different per session. */
function sessionData(i: number): SessionData {
  return {
    userName: `user${i}@example.com`,
    displayName: `Example User ${i}`,
    roles: ['reader', 'editor'],
    cart: [
      { sku: `A-${i % 997}`, qty: 2 },
      { sku: 'B-22', qty: 1 },
    ],
    theme: 'dark',
    counter: 0,
    csrf: randomBytes(16).toString('base64url'),
  };
}

function tesseraRecord(i: number, now: number, signedIn: boolean): SessionRecord {
  return {
    key: hashSessionId(generateSessionId()),
    handle: generateHandle(),
    userId: signedIn ? `user-${i}` : null,
    data: sessionData(i),
    meta: signedIn
      ? {
          ip: `198.51.100.${i % 256}`,
          userAgent:
            'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36',
          strategy: 'server',
        }
      : {},
    createdAt: now,
    lastSeenAt: now,
    authAt: signedIn ? now : null,
    expiresAt: now + DAY,
    absoluteExpiresAt: now + DAY,
  };
}

/** What express-session stores: the data plus its `cookie` object. */
function expressSession(i: number): session.SessionData & Record<string, unknown> {
  return {
    cookie: {
      originalMaxAge: DAY,
      maxAge: DAY,
      expires: new Date(Date.now() + DAY),
      httpOnly: true,
      path: '/',
    } as session.Cookie,
    ...sessionData(i),
  };
}

const expressSid = (): string => randomBytes(24).toString('base64url');

/** express-session's MemoryStore behind promises, as an app would await it. */
function promisify(store: session.MemoryStore) {
  return {
    get: (sid: string) =>
      new Promise<session.SessionData & Record<string, unknown>>((resolve, reject) =>
        store.get(sid, (error, value) =>
          error ? reject(error) : resolve(value as session.SessionData & Record<string, unknown>),
        ),
      ),
    set: (sid: string, value: session.SessionData) =>
      new Promise<void>((resolve, reject) =>
        store.set(sid, value, (error?: unknown) => (error ? reject(error) : resolve())),
      ),
  };
}

interface Target {
  name: string;
  /** One load+patch of the session number `index`. */
  op(index: number): Promise<void>;
  close(): Promise<void>;
}

async function tesseraTarget(
  name: string,
  store: Store,
  records: SessionRecord[],
): Promise<Target> {
  for (const record of records) await store.create(record);
  return loadPatchTarget(name, store, records);
}

/**
 * The SQLite target on a temp file. The 100 000 rows are written in one transaction before
 * the store opens the file: seeding through `create` (one committed transaction each) would
 * spend most of the run waiting for the disk, and seeding is not what is measured.
 */
async function sqliteTarget(path: string, records: SessionRecord[]): Promise<Target> {
  await createSqliteStore({ path }).close(); // creates the schema
  const db = new Database(path);
  const insert = db.prepare(
    'INSERT INTO tessera_sessions (key, handle, user_id, data, meta, created_at, last_seen_at, ' +
      'auth_at, expires_at, absolute_expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  db.transaction(() => {
    for (const r of records) {
      insert.run(
        r.key,
        r.handle,
        r.userId,
        JSON.stringify(r.data),
        JSON.stringify(r.meta),
        r.createdAt,
        r.lastSeenAt,
        r.authAt,
        r.expiresAt,
        r.absoluteExpiresAt,
      );
    }
  })();
  db.close();
  return loadPatchTarget('tessera sqlite', createSqliteStore({ path }), records);
}

function loadPatchTarget(name: string, store: Store, records: SessionRecord[]): Target {
  const keys = records.map((record) => record.key);
  return {
    name,
    async op(index) {
      const key = keys[index]!;
      const record = await store.get(key);
      await store.patch(key, { set: { counter: (record!.data.counter as number) + 1 } });
    },
    close: () => store.close(),
  };
}

async function expressTarget(count: number): Promise<Target> {
  const store = promisify(new session.MemoryStore());
  const sids: string[] = [];
  for (let i = 0; i < count; i++) {
    const sid = expressSid();
    await store.set(sid, expressSession(i));
    sids.push(sid);
  }
  return {
    name: 'express-session MemoryStore',
    async op(index) {
      const sid = sids[index]!;
      const value = await store.get(sid);
      value.counter = (value.counter as number) + 1;
      await store.set(sid, value);
    },
    close: async () => {},
  };
}

/** Operations per second for `ROUND_MS`, sessions picked from a fixed random sequence. */
async function runRound(target: Target, count: number, order: Uint32Array): Promise<number> {
  const mask = order.length - 1;
  let done = 0;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < ROUND_MS) {
    for (let i = 0; i < 256; i++) {
      await target.op(count === 1 ? 0 : order[(done + i) & mask]!);
    }
    done += 256;
    elapsed = performance.now() - started;
  }
  return (done / elapsed) * 1000;
}

async function throughput(count: number, sqlitePath: string) {
  const order = new Uint32Array(1 << 16);
  for (let i = 0; i < order.length; i++) order[i] = Math.floor(Math.random() * count);
  const now = Date.now();
  const records = () => Array.from({ length: count }, (_, i) => tesseraRecord(i, now, false));
  const targets = [
    await tesseraTarget(
      'tessera memory',
      createMemoryStore({ maxEntries: Math.max(count, 10_000) }),
      records(),
    ),
    await sqliteTarget(sqlitePath, records()),
    await expressTarget(count),
  ];
  const samples = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  for (const target of targets) await runRound(target, count, order); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const target of targets)
      samples.get(target.name)!.push(await runRound(target, count, order));
  }
  for (const target of targets) await target.close();
  return Object.fromEntries(
    [...samples].map(([name, values]) => [
      name,
      { median: Math.round(median(values)), rounds: values.map(Math.round) },
    ]),
  );
}

/** Heap bytes per session held by `fill`'s store (its result is kept alive until measured). */
async function heapPerSession(fill: () => Promise<unknown>): Promise<number> {
  gc!();
  gc!();
  const before = process.memoryUsage().heapUsed;
  const held = await fill();
  gc!();
  gc!();
  const after = process.memoryUsage().heapUsed;
  if (held === undefined) throw new Error('nothing held');
  return Math.round((after - before) / MANY);
}

async function memory() {
  const now = Date.now();
  const tessera = (signedIn: boolean) => async () => {
    const store = createMemoryStore({ maxEntries: MANY, purgeIntervalMs: 0 });
    for (let i = 0; i < MANY; i++) await store.create(tesseraRecord(i, now, signedIn));
    return store;
  };
  const express = async () => {
    const store = new session.MemoryStore();
    const set = promisify(store).set;
    for (let i = 0; i < MANY; i++) await set(expressSid(), expressSession(i));
    return store;
  };
  const dataBytes = JSON.stringify(sessionData(MANY / 2)).length;
  return {
    dataBytes,
    'tessera memory (anonymous)': await heapPerSession(tessera(false)),
    'tessera memory (signed in: userId + meta)': await heapPerSession(tessera(true)),
    'express-session MemoryStore': await heapPerSession(express),
  };
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
  try {
    console.log(`Tessera store benchmark (Node ${process.version}, ${cpus()[0]?.model ?? '?'})`);
    console.log('Measuring heap per session…');
    const heap = await memory();
    console.log('Measuring load+patch with 1 session…');
    const one = await throughput(1, join(dir, 'one.db'));
    console.log(`Measuring load+patch with ${fmt(MANY)} sessions…`);
    const many = await throughput(MANY, join(dir, 'many.db'));

    const express = 'express-session MemoryStore';
    const rows = [] as string[][];
    for (const [label, result] of [
      ['1 session', one],
      [`${fmt(MANY)} sessions`, many],
    ] as const) {
      const base = result[express]!.median;
      for (const [name, { median }] of Object.entries(result)) {
        rows.push([label, name, fmt(median), `${(median / base).toFixed(2)}x`]);
      }
    }
    console.log('\nload+patch (get + patch; express-session: get + set), ops/s, median of rounds');
    printTable(['sessions', 'store', 'ops/s', 'vs express-session'], rows);

    const heapRows = Object.entries(heap)
      .filter(([name]) => name !== 'dataBytes')
      .map(([name, bytes]) => [name, fmt(bytes)]);
    console.log(
      `\nheap per session, ${fmt(MANY)} sessions of ${heap.dataBytes} bytes of JSON data (gc'd)`,
    );
    printTable(['store', 'bytes/session'], heapRows);

    const summary = {
      date: new Date().toISOString(),
      node: process.version,
      cpu: cpus()[0]?.model ?? null,
      rounds: ROUNDS,
      roundMs: ROUND_MS,
      loadPatchOpsPerSecond: { one, many: { sessions: MANY, ...many } },
      ratioVsExpressSession: {
        one: ratios(one, express),
        many: ratios(many, express),
      },
      heapBytesPerSession: heap,
      durationMs: Date.now() - started,
    };
    const out = new URL('./results/', import.meta.url);
    mkdirSync(out, { recursive: true });
    writeFileSync(new URL('stores.json', out), `${JSON.stringify(summary, null, 2)}\n`);
    console.log(
      `\nWrote bench/results/stores.json (${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function ratios(result: Record<string, { median: number }>, base: string) {
  const baseline = result[base]!.median;
  return Object.fromEntries(
    Object.entries(result).map(([name, { median }]) => [
      name,
      Number((median / baseline).toFixed(2)),
    ]),
  );
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 || i === 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

await main();
