/**
 * `tessera-session/stores/postgres`: the PostgreSQL store (through `pg`), its schema SQL and its
 * invalidation channel for `withReadCache`.
 */
export { createPostgresInvalidation } from './postgres-invalidation.js';
export type {
  PostgresConnection,
  PostgresPool,
  PostgresStore,
  PostgresStoreOptions,
} from './postgres-store.js';
export { createPostgresStore } from './postgres-store.js';
export { schemaStatements } from './schema.js';
