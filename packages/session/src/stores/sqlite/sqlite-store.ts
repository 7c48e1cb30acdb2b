/**
 * The SQLite store: sessions in one local database file through better-sqlite3, for a single
 * server (the reference service's default) and for tools that run beside it on the same file
 * (the CLI). WAL mode lets readers and one writer work at once; every write that reads first
 * (create, patch) runs in a `BEGIN IMMEDIATE` transaction, so it is atomic across connections
 * and processes, and `busyTimeoutMs` makes a writer wait for another instead of failing.
 *
 * better-sqlite3 is synchronous: each call runs to completion before the returned promise
 * settles, so within one process calls never interleave either.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { TesseraError } from '../../shared/errors.js';
import { requirePeer } from '../../shared/require-peer.js';
import { storeClosedError, storeConflictError, storeUnavailableError } from '../internal/errors.js';
import { parseJsonText } from '../internal/json.js';
import { startPurgeTimer } from '../internal/purge-timer.js';
import {
  applyDataPatch,
  applyMetaPatch,
  patchTouchesData,
  validateExpiry,
  validateKey,
  validateKvValue,
  validatePatch,
  validateRecord,
  validateTime,
  validateUserLimit,
} from '../internal/records.js';
import type {
  CreateWithinLimitResult,
  KeyValueEntry,
  SessionData,
  SessionMeta,
  SessionPatch,
  SessionRecord,
  Store,
  StoreClockOptions,
  UserSessionLimit,
} from '../store.js';

// Loaded here, synchronously, so a missing better-sqlite3 is one clear line (shared/require-peer.ts).
const Database = requirePeer<typeof BetterSqlite3>(
  'better-sqlite3',
  'tessera-session/stores/sqlite',
);

/** Options of `createSqliteStore`. */
export interface SqliteStoreOptions extends StoreClockOptions {
  /** The database file (parent folders are created), or `:memory:` for a private in-memory one. */
  path: string;
  /** Milliseconds between purges of expired rows; 0 turns the timer off. Default 60 000. */
  purgeIntervalMs?: number;
  /** How long a write waits for another connection's write lock. Default 5000 ms. */
  busyTimeoutMs?: number;
}

/** The SQLite store. */
export interface SqliteStore extends Store {
  /** Always present on this store: the per-user cap is atomic here. */
  createWithinLimit: NonNullable<Store['createWithinLimit']>;
  readonly kind: 'sqlite';
  /** The database file as given. */
  readonly path: string;
}

/** The schema version this code writes, kept in `PRAGMA user_version`. */
export const SQLITE_SCHEMA_VERSION = 1;

/** Rows removed per statement by `purgeExpired`, so a big purge never blocks for long. */
const PURGE_BATCH = 500;

/**
 * `MIGRATIONS[n]` brings a database from schema version n to n + 1. Append, never edit.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE tessera_sessions (
     key TEXT PRIMARY KEY NOT NULL,
     handle TEXT NOT NULL UNIQUE,
     user_id TEXT,
     data TEXT NOT NULL,
     meta TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     last_seen_at INTEGER NOT NULL,
     auth_at INTEGER,
     expires_at INTEGER NOT NULL,
     absolute_expires_at INTEGER NOT NULL
   );
   CREATE INDEX tessera_sessions_user_id ON tessera_sessions (user_id);
   CREATE INDEX tessera_sessions_expires_at ON tessera_sessions (expires_at);
   CREATE TABLE tessera_kv (
     ns TEXT NOT NULL,
     key TEXT NOT NULL,
     value TEXT NOT NULL,
     expires_at INTEGER,
     PRIMARY KEY (ns, key)
   );
   CREATE INDEX tessera_kv_expires_at ON tessera_kv (expires_at) WHERE expires_at IS NOT NULL;`,
];

const SESSION_COLUMNS =
  'key, handle, user_id, data, meta, created_at, last_seen_at, auth_at, expires_at, absolute_expires_at';

interface SessionRow {
  key: string;
  handle: string;
  user_id: string | null;
  data: string;
  meta: string;
  created_at: number;
  last_seen_at: number;
  auth_at: number | null;
  expires_at: number;
  absolute_expires_at: number;
}

/**
 * Opens (and creates or migrates) a SQLite session store.
 * @example
 * import { createSqliteStore } from 'tessera-session/stores/sqlite';
 * const store = createSqliteStore({ path: './data/tessera.db' });
 * const manager = createSessionManager({ store });
 */
export function createSqliteStore(options: SqliteStoreOptions): SqliteStore {
  if (typeof options !== 'object' || options === null) {
    throw new TesseraError('ERR_CONFIG', 'createSqliteStore needs options: `{ path }`.');
  }
  const { path } = options;
  if (typeof path !== 'string' || path.length === 0) {
    throw new TesseraError(
      'ERR_CONFIG',
      '`path` must name the database file (for example `./data/tessera.db`) or be `:memory:`.',
    );
  }
  const purgeIntervalMs = nonNegative(options.purgeIntervalMs, 60_000, 'purgeIntervalMs');
  const busyTimeoutMs = nonNegative(options.busyTimeoutMs, 5000, 'busyTimeoutMs');
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') {
    throw new TesseraError('ERR_CONFIG', '`now` must be a function returning milliseconds.');
  }

  let db: BetterSqlite3.Database;
  try {
    if (path !== ':memory:' && !path.startsWith('file:')) {
      mkdirSync(dirname(resolve(path)), { recursive: true });
    }
    db = new Database(path, { timeout: busyTimeoutMs });
  } catch (error) {
    throw new TesseraError(
      'ERR_STORE_UNAVAILABLE',
      `Cannot open the SQLite database at \`path\` "${path}": ${(error as Error).message}. ` +
        'Check that the folder exists or can be created and is writable.',
      { cause: error },
    );
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    migrate(db, path);
    return new SqliteSessionStore(db, path, now, purgeIntervalMs);
  } catch (error) {
    db.close();
    if (error instanceof TesseraError) throw error;
    throw storeUnavailableError('sqlite', 'open', error);
  }
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) {
    throw new TesseraError(
      'ERR_CONFIG',
      `\`${name}\` must be a number of milliseconds, 0 or more.`,
    );
  }
  return value;
}

function migrate(db: BetterSqlite3.Database, path: string): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SQLITE_SCHEMA_VERSION) {
      throw new TesseraError(
        'ERR_CONFIG',
        `The SQLite database "${path}" has schema version ${version}, newer than this Tessera ` +
          `understands (${SQLITE_SCHEMA_VERSION}); upgrade Tessera or point \`path\` elsewhere.`,
      );
    }
    for (let step = version; step < SQLITE_SCHEMA_VERSION; step++) {
      db.exec(MIGRATIONS[step]!);
    }
    if (version !== SQLITE_SCHEMA_VERSION) db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
  }).immediate();
}

class SqliteSessionStore implements SqliteStore {
  readonly kind = 'sqlite' as const;
  readonly path: string;
  readonly #db: BetterSqlite3.Database;
  readonly #now: () => number;
  readonly #stopPurge: () => void;
  readonly #sql;
  readonly #createTx: (record: SessionRecord, now: number) => void;
  readonly #createLimitedTx: (
    record: SessionRecord,
    limit: UserSessionLimit,
    now: number,
  ) => CreateWithinLimitResult;
  readonly #patchTx: (key: string, patch: SessionPatch, now: number) => boolean;
  /** UPDATE statements by the columns they write; at most 2^7 shapes. */
  readonly #updates = new Map<string, BetterSqlite3.Statement>();
  #closed = false;

  constructor(
    db: BetterSqlite3.Database,
    path: string,
    now: () => number,
    purgeIntervalMs: number,
  ) {
    this.#db = db;
    this.path = path;
    this.#now = now;
    const sql = {
      get: db.prepare<[string, number], SessionRow>(
        `SELECT ${SESSION_COLUMNS} FROM tessera_sessions WHERE key = ? AND expires_at > ?`,
      ),
      getByHandle: db.prepare<[string, number], SessionRow>(
        `SELECT ${SESSION_COLUMNS} FROM tessera_sessions WHERE handle = ? AND expires_at > ?`,
      ),
      deleteExpiredClash: db.prepare<[string, string, number]>(
        'DELETE FROM tessera_sessions WHERE (key = ? OR handle = ?) AND expires_at <= ?',
      ),
      insert: db.prepare(
        `INSERT INTO tessera_sessions (${SESSION_COLUMNS}) VALUES (@key, @handle, @user_id, ` +
          '@data, @meta, @created_at, @last_seen_at, @auth_at, @expires_at, @absolute_expires_at)',
      ),
      getForPatch: db.prepare<[string, number], { data: string; meta: string }>(
        'SELECT data, meta FROM tessera_sessions WHERE key = ? AND expires_at > ?',
      ),
      touch: db.prepare<[number, number, string, number]>(
        'UPDATE tessera_sessions SET last_seen_at = ?, expires_at = ? WHERE key = ? AND expires_at > ?',
      ),
      delete: db.prepare<[string], { expires_at: number }>(
        'DELETE FROM tessera_sessions WHERE key = ? RETURNING expires_at',
      ),
      listByUser: db.prepare<[string, number], SessionRow>(
        `SELECT ${SESSION_COLUMNS} FROM tessera_sessions WHERE user_id = ? AND expires_at > ? ` +
          'ORDER BY created_at, rowid',
      ),
      deleteByUser: db.prepare<[string, string], { expires_at: number }>(
        'DELETE FROM tessera_sessions WHERE user_id = ? AND key <> ? RETURNING expires_at',
      ),
      purgeSessions: db.prepare<[number, number]>(
        'DELETE FROM tessera_sessions WHERE rowid IN ' +
          '(SELECT rowid FROM tessera_sessions WHERE expires_at <= ? LIMIT ?)',
      ),
      purgeKv: db.prepare<[number, number]>(
        'DELETE FROM tessera_kv WHERE rowid IN (SELECT rowid FROM tessera_kv ' +
          'WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ?)',
      ),
      kvGet: db.prepare<[string, string, number], { value: string }>(
        'SELECT value FROM tessera_kv WHERE ns = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)',
      ),
      kvSet: db.prepare<[string, string, string, number | null]>(
        'INSERT INTO tessera_kv (ns, key, value, expires_at) VALUES (?, ?, ?, ?) ' +
          'ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at',
      ),
      // The upsert only overwrites an expired entry, so the whole check-and-set is one statement.
      kvSetIfAbsent: db.prepare<[string, string, string, number | null, number]>(
        'INSERT INTO tessera_kv (ns, key, value, expires_at) VALUES (?, ?, ?, ?) ' +
          'ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at ' +
          'WHERE tessera_kv.expires_at IS NOT NULL AND tessera_kv.expires_at <= ?',
      ),
      kvDelete: db.prepare<[string, string], { expires_at: number | null }>(
        'DELETE FROM tessera_kv WHERE ns = ? AND key = ? RETURNING expires_at',
      ),
      kvList: db.prepare<
        [string, number],
        { key: string; value: string; expires_at: number | null }
      >(
        'SELECT key, value, expires_at FROM tessera_kv WHERE ns = ? ' +
          'AND (expires_at IS NULL OR expires_at > ?) ORDER BY key',
      ),
    };
    this.#sql = sql;

    const createTx = db.transaction((record: SessionRecord, at: number) => {
      // An expired record is gone: its key and handle may be taken again.
      sql.deleteExpiredClash.run(record.key, record.handle, at);
      sql.insert.run(toRow(record));
    });
    this.#createTx = (record, at) => createTx.immediate(record, at);

    // BEGIN IMMEDIATE takes the database's write lock before the count, so processes sharing
    // the file run their checks one after another: the cap holds across them.
    const createLimitedTx = db.transaction(
      (record: SessionRecord, limit: UserSessionLimit, at: number): CreateWithinLimitResult => {
        const live = sql.listByUser.all(record.userId as string, at);
        const evicted: CreateWithinLimitResult['evicted'] = [];
        if (live.length >= limit.maxPerUser) {
          if (limit.onLimit === 'refuse') return { created: false, evicted };
          for (const row of live.slice(0, live.length - limit.maxPerUser + 1)) {
            sql.delete.get(row.key);
            evicted.push({ key: row.key, handle: row.handle, userId: row.user_id });
          }
        }
        sql.deleteExpiredClash.run(record.key, record.handle, at);
        sql.insert.run(toRow(record));
        return { created: true, evicted };
      },
    );
    this.#createLimitedTx = (record, limit, at) => createLimitedTx.immediate(record, limit, at);

    const patchTx = db.transaction((key: string, patch: SessionPatch, at: number): boolean => {
      const row = sql.getForPatch.get(key, at);
      if (row === undefined) return false;
      // Only the columns the patch changes are written, so an unchanged indexed column
      // (user_id, expires_at) costs no index update.
      const values: Record<string, unknown> = { key };
      if (patch.userId !== undefined) values.user_id = patch.userId;
      if (patchTouchesData(patch)) {
        values.data = JSON.stringify(applyDataPatch(parseData(row.data), patch));
      }
      if (patch.meta !== undefined) {
        values.meta = JSON.stringify(applyMetaPatch(parseMeta(row.meta), patch));
      }
      if (patch.lastSeenAt !== undefined) values.last_seen_at = patch.lastSeenAt;
      if (patch.authAt !== undefined) values.auth_at = patch.authAt;
      if (patch.expiresAt !== undefined) values.expires_at = patch.expiresAt;
      if (patch.absoluteExpiresAt !== undefined) {
        values.absolute_expires_at = patch.absoluteExpiresAt;
      }
      const columns = Object.keys(values).slice(1);
      if (columns.length > 0) this.#updateStatement(columns).run(values);
      return true;
    });
    this.#patchTx = (key, patch, at) => patchTx.immediate(key, patch, at);

    this.#stopPurge = startPurgeTimer(purgeIntervalMs, () => this.purgeExpired());
  }

  async get(key: string): Promise<SessionRecord | null> {
    this.#checkOpen();
    validateKey(key, 'key');
    const row = this.#call('get', () => this.#sql.get.get(key, this.#now()));
    return row === undefined ? null : toRecord(row);
  }

  async getByHandle(handle: string): Promise<SessionRecord | null> {
    this.#checkOpen();
    validateKey(handle, 'handle');
    const row = this.#call('getByHandle', () => this.#sql.getByHandle.get(handle, this.#now()));
    return row === undefined ? null : toRecord(row);
  }

  async create(record: SessionRecord): Promise<void> {
    this.#checkOpen();
    validateRecord(record);
    try {
      this.#createTx(record, this.#now());
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT')) {
        const onHandle = /tessera_sessions\.handle/.test((error as Error).message);
        throw storeConflictError(this.kind, onHandle ? 'handle' : 'key');
      }
      throw this.#failure('create', error);
    }
  }

  async createWithinLimit(
    record: SessionRecord,
    limit: UserSessionLimit,
  ): Promise<CreateWithinLimitResult> {
    this.#checkOpen();
    validateRecord(record);
    validateUserLimit(record, limit);
    try {
      return this.#createLimitedTx(record, limit, this.#now());
    } catch (error) {
      throw this.#createFailure(error);
    }
  }

  #createFailure(error: unknown): TesseraError {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT')) {
      const onHandle = /tessera_sessions\.handle/.test((error as Error).message);
      return storeConflictError(this.kind, onHandle ? 'handle' : 'key');
    }
    return this.#failure('create', error);
  }

  async patch(key: string, patch: SessionPatch): Promise<boolean> {
    this.#checkOpen();
    validateKey(key, 'key');
    validatePatch(patch);
    return this.#call('patch', () => this.#patchTx(key, patch, this.#now()));
  }

  async touch(key: string, lastSeenAt: number, expiresAt: number): Promise<boolean> {
    this.#checkOpen();
    validateKey(key, 'key');
    validateTime(lastSeenAt, 'lastSeenAt');
    validateTime(expiresAt, 'expiresAt');
    const result = this.#call('touch', () =>
      this.#sql.touch.run(lastSeenAt, expiresAt, key, this.#now()),
    );
    return result.changes > 0;
  }

  async delete(key: string): Promise<boolean> {
    this.#checkOpen();
    validateKey(key, 'key');
    const row = this.#call('delete', () => this.#sql.delete.get(key));
    return row !== undefined && row.expires_at > this.#now();
  }

  async listByUser(userId: string): Promise<SessionRecord[]> {
    this.#checkOpen();
    validateKey(userId, 'userId');
    const rows = this.#call('listByUser', () => this.#sql.listByUser.all(userId, this.#now()));
    return rows.map(toRecord);
  }

  async deleteByUser(userId: string, exceptKey?: string): Promise<number> {
    this.#checkOpen();
    validateKey(userId, 'userId');
    if (exceptKey !== undefined) validateKey(exceptKey, 'exceptKey');
    // Keys are never empty, so '' excludes nothing.
    const rows = this.#call('deleteByUser', () =>
      this.#sql.deleteByUser.all(userId, exceptKey ?? ''),
    );
    const now = this.#now();
    return rows.filter((row) => row.expires_at > now).length;
  }

  async purgeExpired(): Promise<number> {
    this.#checkOpen();
    const now = this.#now();
    let removed = 0;
    for (const statement of [this.#sql.purgeSessions, this.#sql.purgeKv]) {
      for (;;) {
        this.#checkOpen();
        const { changes } = this.#call('purgeExpired', () => statement.run(now, PURGE_BATCH));
        removed += changes;
        if (changes < PURGE_BATCH) break;
        // Let requests in between batches instead of holding the event loop for a big purge.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    return removed;
  }

  async kvGet(ns: string, key: string): Promise<unknown | null> {
    this.#checkOpen();
    validateKey(ns, 'ns');
    validateKey(key, 'key');
    const row = this.#call('kvGet', () => this.#sql.kvGet.get(ns, key, this.#now()));
    return row === undefined ? null : parseJsonText(row.value, 'key-value value');
  }

  async kvSet(
    ns: string,
    key: string,
    value: unknown,
    expiresAt: number | null,
    options?: { ifAbsent?: boolean },
  ): Promise<boolean> {
    this.#checkOpen();
    validateKey(ns, 'ns');
    validateKey(key, 'key');
    validateExpiry(expiresAt);
    validateKvValue(value);
    const text = JSON.stringify(value);
    if (options?.ifAbsent === true) {
      const result = this.#call('kvSet', () =>
        this.#sql.kvSetIfAbsent.run(ns, key, text, expiresAt, this.#now()),
      );
      return result.changes > 0;
    }
    this.#call('kvSet', () => this.#sql.kvSet.run(ns, key, text, expiresAt));
    return true;
  }

  async kvDelete(ns: string, key: string): Promise<boolean> {
    this.#checkOpen();
    validateKey(ns, 'ns');
    validateKey(key, 'key');
    const row = this.#call('kvDelete', () => this.#sql.kvDelete.get(ns, key));
    return row !== undefined && (row.expires_at === null || row.expires_at > this.#now());
  }

  async kvList(ns: string): Promise<KeyValueEntry[]> {
    this.#checkOpen();
    validateKey(ns, 'ns');
    const rows = this.#call('kvList', () => this.#sql.kvList.all(ns, this.#now()));
    return rows.map((row) => ({
      key: row.key,
      value: parseJsonText(row.value, 'key-value value'),
      expiresAt: row.expires_at,
    }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopPurge();
    this.#db.close();
  }

  #checkOpen(): void {
    if (this.#closed) throw storeClosedError(this.kind);
  }

  /** The cached UPDATE statement writing exactly these columns (named parameters). */
  #updateStatement(columns: string[]): BetterSqlite3.Statement {
    const signature = columns.join(',');
    let statement = this.#updates.get(signature);
    if (statement === undefined) {
      const assignments = columns.map((column) => `${column} = @${column}`).join(', ');
      statement = this.#db.prepare(`UPDATE tessera_sessions SET ${assignments} WHERE key = @key`);
      this.#updates.set(signature, statement);
    }
    return statement;
  }

  /** Runs a driver call, turning driver failures into `ERR_STORE_UNAVAILABLE`. */
  #call<T>(operation: string, run: () => T): T {
    try {
      return run();
    } catch (error) {
      throw this.#failure(operation, error);
    }
  }

  #failure(operation: string, error: unknown): TesseraError {
    if (error instanceof TesseraError) return error;
    return storeUnavailableError(this.kind, operation, error);
  }
}

function toRow(record: SessionRecord): SessionRow {
  return {
    key: record.key,
    handle: record.handle,
    user_id: record.userId,
    data: JSON.stringify(record.data),
    meta: JSON.stringify(record.meta),
    created_at: record.createdAt,
    last_seen_at: record.lastSeenAt,
    auth_at: record.authAt,
    expires_at: record.expiresAt,
    absolute_expires_at: record.absoluteExpiresAt,
  };
}

function toRecord(row: SessionRow): SessionRecord {
  return {
    key: row.key,
    handle: row.handle,
    userId: row.user_id,
    data: parseData(row.data),
    meta: parseMeta(row.meta),
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    authAt: row.auth_at,
    expiresAt: row.expires_at,
    absoluteExpiresAt: row.absolute_expires_at,
  };
}

function parseData(text: string): SessionData {
  return parseJsonText(text, 'session data') as SessionData;
}

function parseMeta(text: string): SessionMeta {
  return text === '{}' ? {} : (parseJsonText(text, 'session meta') as SessionMeta);
}
