/**
 * `tessera-session/stores/sqlite`: sessions in a local SQLite file (better-sqlite3), for one server
 * and the tools beside it. The only module that loads better-sqlite3.
 * @example
 * import { createSqliteStore } from 'tessera-session/stores/sqlite';
 * const store = createSqliteStore({ path: './data/tessera.db' });
 * @module tessera-session/stores/sqlite
 */
export type { SqliteStore, SqliteStoreOptions } from './sqlite-store.js';
export { createSqliteStore, SQLITE_SCHEMA_VERSION } from './sqlite-store.js';
