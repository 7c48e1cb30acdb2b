/**
 * The files of a local store (SQLite, file) and of the master key beside it, kept private:
 * missing directories are made 0700, the database and its `-wal`/`-shm` companions, the
 * file store's folder and the key file are 0700/0600, and the process umask is 077 so files
 * a store makes later are private too. Existing parent directories are left alone (they may
 * be shared, like /tmp); only the store's own files are tightened.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';

/** Where a store URL keeps its data on this machine, or null for memory and network stores. */
export interface LocalStorePaths {
  kind: 'sqlite' | 'file';
  /** The SQLite file, or the file store's folder. */
  path: string;
}

/**
 * @example localStorePaths('sqlite:./data/tessera.db') // { kind: 'sqlite', path: '/abs/data/tessera.db' }
 */
export function localStorePaths(url: string): LocalStorePaths | null {
  const value = url.trim();
  const match = /^(sqlite|file):(?:\/\/(?=\/))?(.+)$/i.exec(value);
  if (!match?.[1] || !match[2]) return null;
  return { kind: match[1].toLowerCase() as 'sqlite' | 'file', path: resolve(match[2]) };
}

/**
 * The default key file beside a local store (`./data/tessera.db` → `./data/tessera.key`,
 * `./data/sessions` → `./data/sessions.key`); `./data/tessera.key` for other stores.
 * @example defaultKeyFile('sqlite:./data/tessera.db') // '/abs/data/tessera.key'
 */
export function defaultKeyFile(url: string): string {
  const local = localStorePaths(url);
  if (local === null) return resolve('data', 'tessera.key');
  const base = basename(local.path, extname(local.path)) || 'tessera';
  return join(dirname(local.path), `${base}.key`);
}

/**
 * Makes missing directories 0700 and sets the umask to 077 before a store is opened.
 * @example prepareStoreFiles('sqlite:./data/tessera.db');
 */
export function prepareStoreFiles(url: string): void {
  try {
    process.umask(0o077);
  } catch {
    // Worker threads cannot change the umask; the chmods below still apply.
  }
  const local = localStorePaths(url);
  if (local === null) return;
  const dir = local.kind === 'sqlite' ? dirname(local.path) : local.path;
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/**
 * Tightens the store's own files once it is open: 0600 for the SQLite database, `-wal`,
 * `-shm` and `-journal`; 0700 for the file store's folder and its subfolders, 0600 for its files.
 * @example tightenStoreFiles('sqlite:./data/tessera.db');
 */
export function tightenStoreFiles(url: string): void {
  const local = localStorePaths(url);
  if (local === null) return;
  if (local.kind === 'sqlite') {
    for (const suffix of ['', '-wal', '-shm', '-journal']) {
      const file = `${local.path}${suffix}`;
      if (existsSync(file)) chmodSync(file, 0o600);
    }
    return;
  }
  tightenTree(local.path);
}

function tightenTree(dir: string): void {
  if (!existsSync(dir)) return;
  chmodSync(dir, 0o700);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) tightenTree(path);
    else if (entry.isFile()) chmodSync(path, 0o600);
  }
}

/**
 * The permission bits of a file (e.g. 0o600), or null when it does not exist.
 * @example modeOf('./data/tessera.key') // 0o600
 */
export function modeOf(path: string): number | null {
  return existsSync(path) ? statSync(path).mode & 0o777 : null;
}
