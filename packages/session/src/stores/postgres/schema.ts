/**
 * The PostgreSQL schema of the store: the SQL the store runs with `createSchema: true` (and
 * that `docs/stores.md` prints for users who create it themselves).
 */
import { TesseraError } from '../../shared/errors.js';

const TABLE_PATTERN = /^(?:[a-z_][a-z0-9_]{0,62}\.)?[a-z_][a-z0-9_]{0,50}$/;

/** Quoted identifiers for one table name (`tessera_sessions` or `schema.table`). */
export interface TableNames {
  sessions: string;
  kv: string;
  /** Prefix for index names, and the LISTEN/NOTIFY channel name. */
  bare: string;
  channel: string;
}

/**
 * Checks `table` and answers the quoted names derived from it.
 * @example tableNames('tessera_sessions').kv // '"tessera_sessions_kv"'
 */
export function tableNames(table: string): TableNames {
  if (typeof table !== 'string' || !TABLE_PATTERN.test(table)) {
    throw new TesseraError(
      'ERR_CONFIG',
      'createPostgresStore: `table` must be a lower-case SQL identifier (letters, digits, _), ' +
        'optionally schema-qualified, e.g. "tessera_sessions" or "auth.tessera_sessions".',
    );
  }
  const dot = table.indexOf('.');
  const schema = dot >= 0 ? `"${table.slice(0, dot)}".` : '';
  const bare = dot >= 0 ? table.slice(dot + 1) : table;
  return {
    sessions: `${schema}"${bare}"`,
    kv: `${schema}"${bare}_kv"`,
    bare,
    channel: `${table.replace('.', '_')}_invalidate`,
  };
}

/**
 * The DDL for the store's two tables and their indexes (idempotent).
 * @example for (const sql of schemaStatements('tessera_sessions')) await pool.query(sql);
 */
export function schemaStatements(table: string): string[] {
  const names = tableNames(table);
  return [
    `CREATE TABLE IF NOT EXISTS ${names.sessions} (
  key text PRIMARY KEY,
  handle text NOT NULL UNIQUE,
  user_id text,
  data jsonb NOT NULL DEFAULT '{}'::jsonb,
  meta jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at bigint NOT NULL,
  last_seen_at bigint NOT NULL,
  auth_at bigint,
  expires_at bigint NOT NULL,
  absolute_expires_at bigint NOT NULL
)`,
    `CREATE INDEX IF NOT EXISTS "${names.bare}_user_id_idx" ON ${names.sessions} (user_id)`,
    `CREATE INDEX IF NOT EXISTS "${names.bare}_expires_at_idx" ON ${names.sessions} (expires_at)`,
    `CREATE TABLE IF NOT EXISTS ${names.kv} (
  ns text NOT NULL,
  key text NOT NULL,
  value text NOT NULL,
  expires_at bigint,
  PRIMARY KEY (ns, key)
)`,
    `CREATE INDEX IF NOT EXISTS "${names.bare}_kv_expires_at_idx" ON ${names.kv} (expires_at)`,
  ];
}
