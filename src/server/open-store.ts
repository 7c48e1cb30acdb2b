/**
 * Opens a store from a URL, as `tessera serve --store` and the CLI take it. Each driver is
 * imported only when its URL is used, so a service on SQLite never loads `pg` or `ioredis`.
 */
import { TesseraError } from '../core/errors.js';
import type { Store } from '../stores/store.js';

export const DEFAULT_STORE_URL = 'sqlite:./data/tessera.db';

/**
 * @example const store = await openStore('sqlite:./data/tessera.db');
 */
export async function openStore(url: string): Promise<Store> {
  const value = url.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'memory': {
      const { createMemoryStore } = await import('../stores/memory/index.js');
      return createMemoryStore();
    }
    case 'sqlite': {
      const path = value.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
      if (!path) throw badUrl(url, 'sqlite: needs a file path, e.g. sqlite:./data/tessera.db');
      const { createSqliteStore } = await import('../stores/sqlite/index.js');
      return createSqliteStore({ path });
    }
    case 'file': {
      const dir = value.slice('file:'.length).replace(/^\/\/(?=\/)/, '');
      if (!dir) throw badUrl(url, 'file: needs a folder, e.g. file:./data/sessions');
      const { createFileStore } = await importOptional<{
        createFileStore(options: { dir: string }): Store;
      }>('../stores/file/index.js', url);
      return createFileStore({ dir });
    }
    case 'redis':
    case 'rediss':
    case 'redis+cluster': {
      const { createRedisStore } = await importOptional<{
        createRedisStore(options: { url: string }): Store;
      }>('../stores/redis/index.js', url);
      return createRedisStore({ url: value });
    }
    case 'postgres':
    case 'postgresql': {
      const { createPostgresStore } = await importOptional<{
        createPostgresStore(options: { connectionString: string }): Store;
      }>('../stores/postgres/index.js', url);
      return createPostgresStore({ connectionString: value });
    }
    default:
      throw badUrl(
        url,
        'use sqlite:PATH, memory:, file:DIR, redis://…, rediss://…, redis+cluster://h1:p1,h2:p2 or postgres://…',
      );
  }
}

async function importOptional<T>(specifier: string, url: string): Promise<T> {
  try {
    return (await import(specifier)) as T;
  } catch (error) {
    throw new TesseraError('ERR_CONFIG', `cannot open store ${redact(url)}: ${String(error)}`, {
      cause: error,
    });
  }
}

function badUrl(url: string, hint: string): TesseraError {
  return new TesseraError('ERR_CONFIG', `unsupported store URL "${redact(url)}": ${hint}`);
}

/** A store URL without its password, for messages and logs. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}
