/**
 * The PostgreSQL store (through `pg`, loaded only by this module): one row per session with
 * data and meta as jsonb, patched by a single UPDATE (`data || set - unset`), so concurrent
 * patches to different keys of one session never lose each other; a key-value table beside
 * it; purges in bounded batches that many instances can run at once (SKIP LOCKED).
 *
 * Each data or meta key's value is kept as its JSON text inside the jsonb object (a jsonb
 * string), because jsonb cannot hold the character U+0000 that JSON strings may contain.
 */
import type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg';
import { withDeadline } from '../../shared/deadline.js';
import { isTesseraError, TesseraError } from '../../shared/errors.js';
import { requirePeer } from '../../shared/require-peer.js';
import { storeClosedError, storeConflictError } from '../internal/errors.js';
import { parseJsonText } from '../internal/json.js';
import {
  isExpired,
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
  SessionMeta,
  SessionPatch,
  SessionRecord,
  Store,
  StoreClockOptions,
  UserSessionLimit,
} from '../store.js';
import { schemaStatements, type TableNames, tableNames } from './schema.js';

// Loaded here, synchronously, so a missing pg is one clear line (shared/require-peer.ts).
const pg = requirePeer<typeof import('pg')>('pg', 'tessera-session/stores/postgres');

/**
 * The part of a `pg` Pool the store uses, written out so the published types need no
 * `@types/pg`; a `new pg.Pool(…)` fits it.
 * @example const store = createPostgresStore({ pool: new pg.Pool({ connectionString }) });
 */
export interface PostgresPool {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
  connect(): Promise<unknown>;
  end(): Promise<void>;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** Where the PostgreSQL store connects. */
export type PostgresConnection =
  /** `postgres://user:password@host:5432/db`; the store makes (and closes) its own pool. */
  | { connectionString: string }
  /** An existing `pg` Pool; not closed by the store. */
  | { pool: PostgresPool };

export interface PostgresStoreOptions extends StoreClockOptions {
  /** Session table; the key-value table is `<table>_kv`. Default `tessera_sessions`. */
  table?: string;
  /** Create the tables and indexes when missing (idempotent). Default true. */
  createSchema?: boolean;
  /** Every call fails with `ERR_STORE_UNAVAILABLE` after this long. Default 2000 ms. */
  timeoutMs?: number;
}

/** The PostgreSQL store, with what `createPostgresInvalidation` needs. */
export interface PostgresStore extends Store {
  /** Always present on this store: the per-user cap is atomic here. */
  createWithinLimit: NonNullable<Store['createWithinLimit']>;
  readonly kind: 'postgres';
  readonly pool: PostgresPool;
  /** Quoted table names and the notification channel. */
  readonly tables: TableNames;
}

interface SessionRow {
  key: string;
  handle: string;
  user_id: string | null;
  data: Record<string, string>;
  meta: Record<string, string>;
  created_at: string;
  last_seen_at: string;
  auth_at: string | null;
  expires_at: string;
  absolute_expires_at: string;
}

const COLUMNS =
  'key, handle, user_id, data, meta, created_at, last_seen_at, auth_at, expires_at, absolute_expires_at';

function encodeObject(values: Record<string, unknown>): string {
  const out: Record<string, string> = {};
  for (const name of Object.keys(values)) {
    const value = values[name];
    if (value === undefined) continue;
    Object.defineProperty(out, name, {
      value: JSON.stringify(value),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return JSON.stringify(out);
}

function decodeObject(stored: Record<string, string>, what: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(stored)) {
    Object.defineProperty(out, name, {
      value: parseJsonText(stored[name] as string, what),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

function toRecord(row: SessionRow): SessionRecord {
  return {
    key: row.key,
    handle: row.handle,
    userId: row.user_id,
    data: decodeObject(row.data, 'session data'),
    meta: decodeObject(row.meta, 'session meta') as SessionMeta,
    createdAt: Number(row.created_at),
    lastSeenAt: Number(row.last_seen_at),
    authAt: row.auth_at === null ? null : Number(row.auth_at),
    expiresAt: Number(row.expires_at),
    absoluteExpiresAt: Number(row.absolute_expires_at),
  };
}

/** Text columns cannot hold U+0000; such keys cannot name anything stored. */
function hasNul(value: string): boolean {
  return value.includes('\u0000');
}

function checkText(value: string, name: string): void {
  if (hasNul(value)) {
    throw new TesseraError(
      'ERR_INVALID_ARGUMENT',
      `\`${name}\` must not contain the character U+0000 (PostgreSQL text cannot hold it).`,
    );
  }
}

/**
 * Creates a PostgreSQL store.
 * @example
 * import { createPostgresStore } from 'tessera-session/stores/postgres';
 * const store = createPostgresStore({ connectionString: process.env.DATABASE_URL! });
 */
export function createPostgresStore(
  connection: PostgresConnection,
  options: PostgresStoreOptions = {},
): PostgresStore {
  const tables = tableNames(options.table ?? 'tessera_sessions');
  const timeoutMs = options.timeoutMs ?? 2000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new TesseraError(
      'ERR_CONFIG',
      'createPostgresStore: `timeoutMs` must be a positive number.',
    );
  }
  const now = options.now ?? Date.now;
  const createSchema = options.createSchema ?? true;
  let pool: Pool;
  let owned: boolean;
  if ('pool' in connection && connection.pool) {
    pool = connection.pool as Pool;
    owned = false;
  } else if ('connectionString' in connection && typeof connection.connectionString === 'string') {
    pool = new pg.Pool({
      connectionString: connection.connectionString,
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
      max: 10,
    });
    owned = true;
  } else {
    throw new TesseraError(
      'ERR_CONFIG',
      'createPostgresStore: pass { connectionString: "postgres://…" } or { pool } (a pg Pool).',
    );
  }
  // An idle client whose server went away is reported here; without a listener it would crash
  // the process. Calls report the outage as ERR_STORE_UNAVAILABLE instead.
  const onPoolError = (): void => {};
  pool.on('error', onPoolError);

  const S = tables.sessions;
  const KV = tables.kv;
  let closed = false;
  let schemaReady: Promise<void> | null = createSchema ? null : Promise.resolve();

  async function ensureSchema(): Promise<void> {
    if (!schemaReady) {
      schemaReady = (async () => {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          // Many instances may start at once; CREATE … IF NOT EXISTS alone races.
          await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [S]);
          for (const sql of schemaStatements(options.table ?? 'tessera_sessions')) {
            await client.query(sql);
          }
          await client.query('COMMIT');
          client.release();
        } catch (error) {
          client.release(error instanceof Error ? error : true);
          throw error;
        }
      })();
      schemaReady.catch(() => {
        schemaReady = null;
      });
    }
    return schemaReady;
  }

  function mapError(operation: string, error: unknown): TesseraError {
    if (isTesseraError(error)) return error;
    const code = (error as { code?: unknown })?.code;
    if (code === '23505') return storeConflictError('postgres', 'key');
    if (typeof code === 'string' && code.startsWith('22')) {
      return new TesseraError(
        'ERR_STORE_DATA',
        `PostgresStore.${operation}: PostgreSQL refused the value (${code}).`,
        { cause: error },
      );
    }
    return new TesseraError(
      'ERR_STORE_UNAVAILABLE',
      `PostgresStore.${operation}: PostgreSQL is unreachable or failed; the call can be retried.`,
      { cause: error },
    );
  }

  async function run<T>(operation: string, body: () => Promise<T>): Promise<T> {
    if (closed) throw storeClosedError('postgres');
    const work = (async () => {
      await ensureSchema();
      return body();
    })();
    try {
      return await withDeadline(
        work,
        timeoutMs,
        () =>
          new TesseraError(
            'ERR_STORE_UNAVAILABLE',
            `PostgresStore.${operation}: no answer within ${timeoutMs} ms.`,
          ),
      );
    } catch (error) {
      throw mapError(operation, error);
    }
  }

  const query = <R extends QueryResultRow>(sql: string, params: unknown[]) =>
    pool.query<R>(sql, params);

  async function purgeBatches(sql: string, at: number): Promise<number> {
    let total = 0;
    for (;;) {
      const result = await query(sql, [at]);
      const removed = result.rowCount ?? 0;
      total += removed;
      if (removed < 1000) return total;
    }
  }

  type Query = <R extends QueryResultRow>(
    sql: string,
    params: unknown[],
  ) => Promise<QueryResult<R>>;

  async function insert(q: Query, record: SessionRecord, at: number): Promise<void> {
    // An expired record still holding the key or handle gives them up.
    await q(`DELETE FROM ${S} WHERE (key = $1 OR handle = $2) AND expires_at <= $3`, [
      record.key,
      record.handle,
      at,
    ]);
    const inserted = await q(
      `INSERT INTO ${S} (${COLUMNS}) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7, $8, $9, $10)
       ON CONFLICT DO NOTHING`,
      [
        record.key,
        record.handle,
        record.userId,
        encodeObject(record.data),
        encodeObject(record.meta),
        record.createdAt,
        record.lastSeenAt,
        record.authAt,
        record.expiresAt,
        record.absoluteExpiresAt,
      ],
    );
    if (inserted.rowCount === 1) return;
    const { rowCount } = await q(`SELECT 1 FROM ${S} WHERE key = $1`, [record.key]);
    throw storeConflictError('postgres', rowCount ? 'key' : 'handle');
  }

  // Inside a transaction: a transaction-scoped advisory lock per (table, user) makes capped
  // creates of one user run one after another on every instance; the count then sees every
  // committed session of that user.
  async function createLimited(
    client: PoolClient,
    record: SessionRecord,
    limit: UserSessionLimit,
  ): Promise<CreateWithinLimitResult> {
    const q: Query = (sql, params) => client.query(sql, params);
    const userId = record.userId as string;
    await q('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`${S}:${userId}`]);
    const at = now();
    const { rows } = await q<{ key: string; handle: string }>(
      `SELECT key, handle FROM ${S} WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at, key`,
      [userId, at],
    );
    const evicted: CreateWithinLimitResult['evicted'] = [];
    if (rows.length >= limit.maxPerUser) {
      if (limit.onLimit === 'refuse') return { created: false, evicted };
      const excess = rows.slice(0, rows.length - limit.maxPerUser + 1);
      await q(`DELETE FROM ${S} WHERE key = ANY($1::text[])`, [excess.map((row) => row.key)]);
      for (const row of excess) evicted.push({ key: row.key, handle: row.handle, userId });
    }
    await insert(q, record, at);
    return { created: true, evicted };
  }

  const store: PostgresStore = {
    kind: 'postgres',
    pool,
    tables,

    get(key) {
      return run('get', async () => {
        if (typeof key !== 'string' || hasNul(key)) return null;
        const { rows } = await query<SessionRow>(
          `SELECT ${COLUMNS} FROM ${S} WHERE key = $1 AND expires_at > $2`,
          [key, now()],
        );
        return rows[0] ? toRecord(rows[0]) : null;
      });
    },

    getByHandle(handle) {
      return run('getByHandle', async () => {
        if (typeof handle !== 'string' || hasNul(handle)) return null;
        const { rows } = await query<SessionRow>(
          `SELECT ${COLUMNS} FROM ${S} WHERE handle = $1 AND expires_at > $2`,
          [handle, now()],
        );
        return rows[0] ? toRecord(rows[0]) : null;
      });
    },

    create(record) {
      return run('create', async () => {
        validateRecord(record);
        checkText(record.key, 'record.key');
        checkText(record.handle, 'record.handle');
        if (record.userId !== null) checkText(record.userId, 'record.userId');
        await insert(query, record, now());
      });
    },

    createWithinLimit(record, limit) {
      return run('create', async () => {
        validateRecord(record);
        validateUserLimit(record, limit);
        checkText(record.key, 'record.key');
        checkText(record.handle, 'record.handle');
        checkText(record.userId as string, 'record.userId');
        const client = await pool.connect();
        let failed: unknown;
        try {
          await client.query('BEGIN');
          const result = await createLimited(client, record, limit);
          await client.query('COMMIT');
          return result;
        } catch (error) {
          failed = error;
          await client.query('ROLLBACK').catch(() => {});
          throw error;
        } finally {
          client.release(failed instanceof Error && !isTesseraError(failed) ? failed : undefined);
        }
      });
    },

    patch(key, patch: SessionPatch) {
      return run('patch', async () => {
        validateKey(key, 'key');
        validatePatch(patch);
        if (hasNul(key)) return false;
        if (typeof patch.userId === 'string') checkText(patch.userId, 'patch.userId');
        const set = patch.set ?? {};
        const unset = [
          ...(patch.unset ?? []),
          ...Object.keys(set).filter((name) => set[name] === undefined),
        ];
        const meta = patch.meta ?? {};
        const metaUnset = Object.keys(meta).filter((name) => meta[name] === undefined);
        // One statement: the row lock makes concurrent patches apply one after the other,
        // each to the latest version of the row.
        const result = await query(
          `UPDATE ${S} SET
             data = (data || $3::jsonb) - $4::text[],
             meta = (meta || $5::jsonb) - $6::text[],
             user_id = CASE WHEN $7::boolean THEN $8::text ELSE user_id END,
             auth_at = CASE WHEN $9::boolean THEN $10::bigint ELSE auth_at END,
             last_seen_at = COALESCE($11::bigint, last_seen_at),
             expires_at = COALESCE($12::bigint, expires_at),
             absolute_expires_at = COALESCE($13::bigint, absolute_expires_at)
           WHERE key = $1 AND expires_at > $2`,
          [
            key,
            now(),
            encodeObject(set),
            unset,
            encodeObject(meta),
            metaUnset,
            patch.userId !== undefined,
            patch.userId ?? null,
            patch.authAt !== undefined,
            patch.authAt ?? null,
            patch.lastSeenAt ?? null,
            patch.expiresAt ?? null,
            patch.absoluteExpiresAt ?? null,
          ],
        );
        return result.rowCount === 1;
      });
    },

    touch(key, lastSeenAt, expiresAt) {
      return run('touch', async () => {
        validateKey(key, 'key');
        validateTime(lastSeenAt, 'lastSeenAt');
        validateTime(expiresAt, 'expiresAt');
        if (hasNul(key)) return false;
        const result = await query(
          `UPDATE ${S} SET last_seen_at = $3, expires_at = $4 WHERE key = $1 AND expires_at > $2`,
          [key, now(), lastSeenAt, expiresAt],
        );
        return result.rowCount === 1;
      });
    },

    delete(key) {
      return run('delete', async () => {
        if (typeof key !== 'string' || hasNul(key)) return false;
        const { rows } = await query<{ expires_at: string }>(
          `DELETE FROM ${S} WHERE key = $1 RETURNING expires_at`,
          [key],
        );
        return rows.length > 0 && !isExpired(Number(rows[0]?.expires_at), now());
      });
    },

    listByUser(userId) {
      return run('listByUser', async () => {
        validateKey(userId, 'userId');
        if (hasNul(userId)) return [];
        const { rows } = await query<SessionRow>(
          `SELECT ${COLUMNS} FROM ${S} WHERE user_id = $1 AND expires_at > $2
           ORDER BY created_at, key`,
          [userId, now()],
        );
        return rows.map(toRecord);
      });
    },

    deleteByUser(userId, exceptKey) {
      return run('deleteByUser', async () => {
        validateKey(userId, 'userId');
        if (hasNul(userId)) return 0;
        const { rows } = await query<{ expires_at: string }>(
          `DELETE FROM ${S} WHERE user_id = $1 AND ($2::text IS NULL OR key <> $2)
           RETURNING expires_at`,
          [userId, exceptKey ?? null],
        );
        const at = now();
        return rows.filter((row) => !isExpired(Number(row.expires_at), at)).length;
      });
    },

    purgeExpired() {
      return run('purgeExpired', async () => {
        const at = now();
        // Bounded batches; SKIP LOCKED lets several instances purge at once without waiting.
        const sessions = await purgeBatches(
          `DELETE FROM ${S} WHERE key IN (
             SELECT key FROM ${S} WHERE expires_at <= $1 LIMIT 1000 FOR UPDATE SKIP LOCKED)`,
          at,
        );
        const entries = await purgeBatches(
          `DELETE FROM ${KV} WHERE (ns, key) IN (
             SELECT ns, key FROM ${KV} WHERE expires_at <= $1 LIMIT 1000 FOR UPDATE SKIP LOCKED)`,
          at,
        );
        return sessions + entries;
      });
    },

    kvGet(ns, key) {
      return run('kvGet', async () => {
        validateKey(ns, 'ns');
        validateKey(key, 'key');
        if (hasNul(ns) || hasNul(key)) return null;
        const { rows } = await query<{ value: string }>(
          `SELECT value FROM ${KV} WHERE ns = $1 AND key = $2
           AND (expires_at IS NULL OR expires_at > $3)`,
          [ns, key, now()],
        );
        return rows[0] ? parseJsonText(rows[0].value, 'key-value value') : null;
      });
    },

    kvSet(ns, key, value, expiresAt, setOptions) {
      return run('kvSet', async () => {
        validateKey(ns, 'ns');
        validateKey(key, 'key');
        checkText(ns, 'ns');
        checkText(key, 'key');
        validateExpiry(expiresAt);
        validateKvValue(value);
        const text = JSON.stringify(value);
        const sql = setOptions?.ifAbsent
          ? `INSERT INTO ${KV} AS kv (ns, key, value, expires_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (ns, key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
             WHERE kv.expires_at IS NOT NULL AND kv.expires_at <= $5`
          : `INSERT INTO ${KV} AS kv (ns, key, value, expires_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (ns, key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`;
        const params = [ns, key, text, expiresAt];
        if (setOptions?.ifAbsent) params.push(now());
        const result = await query(sql, params);
        return result.rowCount === 1;
      });
    },

    kvDelete(ns, key) {
      return run('kvDelete', async () => {
        validateKey(ns, 'ns');
        validateKey(key, 'key');
        if (hasNul(ns) || hasNul(key)) return false;
        const { rows } = await query<{ expires_at: string | null }>(
          `DELETE FROM ${KV} WHERE ns = $1 AND key = $2 RETURNING expires_at`,
          [ns, key],
        );
        const row = rows[0];
        if (!row) return false;
        return !isExpired(row.expires_at === null ? null : Number(row.expires_at), now());
      });
    },

    kvList(ns) {
      return run('kvList', async () => {
        validateKey(ns, 'ns');
        if (hasNul(ns)) return [];
        const { rows } = await query<{ key: string; value: string; expires_at: string | null }>(
          `SELECT key, value, expires_at FROM ${KV} WHERE ns = $1
           AND (expires_at IS NULL OR expires_at > $2) ORDER BY key`,
          [ns, now()],
        );
        return rows.map(
          (row): KeyValueEntry => ({
            key: row.key,
            value: parseJsonText(row.value, 'key-value value'),
            expiresAt: row.expires_at === null ? null : Number(row.expires_at),
          }),
        );
      });
    },

    async close() {
      if (closed) return;
      closed = true;
      if (owned) {
        await pool.end().catch(() => {
          // Already gone.
        });
      }
      // The 'error' listener stays: a connection the server closes while the pool is ending
      // still reports an error, and an unheard one would crash the process.
    },
  };
  return store;
}
