/**
 * Opens a store from a URL, as `tessera serve --store` and the CLI take it. Each driver is
 * imported only when its URL is used, so a service on SQLite never loads `pg` or `ioredis`.
 */

import type { Store } from 'tessera-session';
import { TesseraError } from 'tessera-session';

export const DEFAULT_STORE_URL = 'sqlite:./data/tessera.db';

/**
 * `env` supplies `TESSERA_REDIS_LAYOUT` (`packed`, the default, or `separate` while instances
 * of a version before the packed Redis layout share the Redis: a rolling upgrade).
 * @example const store = await openStore('sqlite:./data/tessera.db');
 */
export async function openStore(url: string, env: NodeJS.ProcessEnv = process.env): Promise<Store> {
  const value = url.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'memory': {
      const { createMemoryStore } = await import('tessera-session/stores/memory');
      return createMemoryStore();
    }
    case 'sqlite': {
      const path = value.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
      if (!path) throw badUrl(url, 'sqlite: needs a file path, e.g. sqlite:./data/tessera.db');
      const { createSqliteStore } = await import('tessera-session/stores/sqlite');
      return createSqliteStore({ path });
    }
    case 'file': {
      const dir = value.slice('file:'.length).replace(/^\/\/(?=\/)/, '');
      if (!dir) throw badUrl(url, 'file: needs a folder, e.g. file:./data/sessions');
      const { createFileStore } = await importOptional<{
        createFileStore(options: { dir: string }): Store;
      }>('tessera-session/stores/file', url);
      return createFileStore({ dir });
    }
    case 'redis':
    case 'rediss':
    case 'redis+cluster': {
      const layout = redisLayout(env.TESSERA_REDIS_LAYOUT);
      const { createRedisStore } = await importOptional<{
        createRedisStore(connection: { url: string }, options: { layout: typeof layout }): Store;
      }>('tessera-session/stores/redis', url);
      return createRedisStore({ url: value }, { layout });
    }
    case 'postgres':
    case 'postgresql': {
      const { createPostgresStore } = await importOptional<{
        createPostgresStore(options: { connectionString: string }): Store;
      }>('tessera-session/stores/postgres', url);
      return createPostgresStore({ connectionString: value });
    }
    default:
      throw badUrl(
        url,
        'use sqlite:PATH, memory:, file:DIR, redis://…, rediss://…, redis+cluster://h1:p1,h2:p2 or postgres://…',
      );
  }
}

function redisLayout(value: string | undefined): 'packed' | 'separate' {
  const layout = (value ?? '').trim().toLowerCase() || 'packed';
  if (layout !== 'packed' && layout !== 'separate') {
    throw new TesseraError(
      'ERR_CONFIG',
      `TESSERA_REDIS_LAYOUT must be packed or separate (got "${String(value)}")`,
    );
  }
  return layout;
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

const SECRET_PARAM = /pass|secret|token|key|auth|cred|sig/i;

/**
 * A store URL without its credentials, for messages and logs: the password of the user-info
 * (every host of a cluster URL) and the value of every query parameter that names a secret
 * (`password`, `sslpassword`, `sslkey`, `token`, `auth`, …) become `***`.
 * @example redact('postgres://app:pw@db/x?sslpassword=k') // 'postgres://app:***@db/x?sslpassword=***'
 */
export function redact(url: string): string {
  const queryAt = url.search(/[?#]/);
  const base = queryAt === -1 ? url : url.slice(0, queryAt);
  const rest = queryAt === -1 ? '' : url.slice(queryAt);
  const withoutUserInfo = base.replace(/\/\/([^/@]*)@/, (_match, info: string) => {
    const colon = info.indexOf(':');
    return colon === -1 ? `//${info}@` : `//${info.slice(0, colon)}:***@`;
  });
  const query = rest.replace(/([?&;])([^=&;#]*)=([^&;#]*)/g, (match, sep: string, name: string) =>
    SECRET_PARAM.test(decodeSafe(name)) ? `${sep}${name}=***` : match,
  );
  return withoutUserInfo + query;
}

function decodeSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
