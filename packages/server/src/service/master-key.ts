/**
 * The master key that seals the service's secrets at rest (token signing private keys, the
 * cookie and CSRF secrets). From TESSERA_MASTER_KEY when set; else from a key file
 * (TESSERA_MASTER_KEY_FILE, default beside the store: `./data/tessera.key` for the default
 * SQLite store), generated on first start with mode 0600. The memory store keeps nothing at
 * rest, so it needs no key.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { TesseraError } from 'tessera-session';
import { defaultKeyFile, localStorePaths, modeOf } from './store-files.js';

/** Where the master key came from. */
export interface MasterKey {
  /** The key (base64url of 32 random bytes, or what TESSERA_MASTER_KEY holds); undefined for memory stores. */
  key: string | undefined;
  source: 'env' | 'file' | 'created' | 'none';
  /** The key file, when one is used. */
  file?: string;
  /** Warnings for the log (a key file others can read, a shared store with a local key). */
  warnings: string[];
}

type Env = Record<string, string | undefined>;

/**
 * Resolves (and on first use creates) the master key for a store URL.
 * @example const { key } = resolveMasterKey('sqlite:./data/tessera.db', process.env);
 */
export function resolveMasterKey(storeUrl: string, env: Env): MasterKey {
  const fromEnv = env.TESSERA_MASTER_KEY?.trim();
  if (fromEnv) return { key: fromEnv, source: 'env', warnings: [] };
  const explicitFile = env.TESSERA_MASTER_KEY_FILE?.trim();
  if (!explicitFile && /^memory:/i.test(storeUrl.trim())) {
    return { key: undefined, source: 'none', warnings: [] };
  }
  const file = explicitFile || defaultKeyFile(storeUrl);
  const warnings: string[] = [];
  if (!explicitFile && localStorePaths(storeUrl) === null) {
    warnings.push(
      `the store is shared over the network but its master key is the local file ${file}: give every instance and the CLI the same TESSERA_MASTER_KEY or TESSERA_MASTER_KEY_FILE`,
    );
  }
  const existing = readKeyFile(file);
  if (existing !== null) {
    const mode = modeOf(file);
    if (mode !== null && (mode & 0o077) !== 0) {
      chmodSync(file, 0o600);
      warnings.push(
        `master key file ${file} was readable by others (mode ${mode.toString(8)}); set it to 0600`,
      );
    }
    return { key: existing, source: 'file', file, warnings };
  }
  return { key: createKeyFile(file), source: 'created', file, warnings };
}

function readKeyFile(file: string): string | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return null;
    throw new TesseraError('ERR_CONFIG', `cannot read master key file ${file}: ${String(error)}`);
  }
  const key = text.trim();
  if (!key) throw new TesseraError('ERR_CONFIG', `master key file ${file} is empty`);
  return key;
}

function createKeyFile(file: string): string {
  const key = randomBytes(32).toString('base64url');
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  let fd: number;
  try {
    // 'wx': never overwrite a key another process wrote a moment ago.
    fd = openSync(file, 'wx', 0o600);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'EEXIST') {
      const theirs = readKeyFile(file);
      if (theirs !== null) return theirs;
    }
    throw new TesseraError('ERR_CONFIG', `cannot create master key file ${file}: ${String(error)}`);
  }
  try {
    writeSync(fd, `${key}\n`);
  } finally {
    closeSync(fd);
  }
  return key;
}
