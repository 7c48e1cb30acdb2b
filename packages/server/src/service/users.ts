/**
 * The service's user directory: one entry per user in the store's key-value space
 * (namespace `users`), so it lives wherever the sessions live (SQLite, Redis, PostgreSQL…).
 * Passwords are hashed with scrypt from node:crypto, a random salt per user and the cost
 * parameters stored beside the hash; checks compare in constant time and do the same
 * scrypt work for unknown users, so timing does not tell which names exist.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { Store } from 'tessera-session';
import { TesseraError } from 'tessera-session';

/** The key-value namespace of user entries. */
export const USERS_NAMESPACE = 'users';

const COST = { N: 16_384, r: 8, p: 1 } as const;
const KEY_BYTES = 32;
const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const MAX_PASSWORD = 1024;

/** A user as stored (the hash is never shown). */
export interface UserEntry {
  name: string;
  /** `scrypt$N$r$p$salt$hash` (salt and hash base64url). */
  hash: string;
  createdAt: number;
  /** A disabled account cannot sign in (its sessions were ended when it was disabled). */
  disabled?: boolean;
}

/** A user as listed. */
export interface UserInfo {
  name: string;
  createdAt: string;
  disabled: boolean;
}

export interface UserDirectory {
  /** Adds a user; throws ERR_INVALID_ARGUMENT for a bad name or password, or a taken name. */
  add(name: string, password: string): Promise<void>;
  /** Adds the user only when absent; answers whether it did. */
  addIfAbsent(name: string, password: string): Promise<boolean>;
  /** The user's name when the password matches, else null (one answer for both failures). */
  verify(name: unknown, password: unknown): Promise<string | null>;
  /** True when a user with this name exists. */
  exists(name: string): Promise<boolean>;
  list(): Promise<UserInfo[]>;
  /** Removes a user; answers whether it existed. Their sessions are the caller's to end. */
  remove(name: string): Promise<boolean>;
  /** Disables or enables a user; answers whether it exists. Sessions are the caller's to end. */
  setDisabled(name: string, disabled: boolean): Promise<boolean>;
}

/**
 * Normalises a user name (trimmed, lower case) or throws when it is not allowed.
 * @example normalizeUserName(' Alice ') // 'alice'
 */
export function normalizeUserName(name: unknown): string {
  const value = typeof name === 'string' ? name.trim().toLowerCase() : '';
  if (!NAME_PATTERN.test(value)) {
    throw new TesseraError(
      'ERR_INVALID_ARGUMENT',
      'user name must be 1-64 characters: letters, digits, ".", "_" or "-", starting with a letter or digit',
    );
  }
  return value;
}

function derive(password: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_BYTES, { N, r, p, maxmem: 256 * N * r }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/**
 * A scrypt hash of `password` with a fresh salt and the parameters in the string.
 * @example const hash = await hashPassword('correct horse');
 */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, COST.N, COST.r, COST.p);
  return [
    'scrypt',
    COST.N,
    COST.r,
    COST.p,
    salt.toString('base64url'),
    key.toString('base64url'),
  ].join('$');
}

/**
 * True when `password` matches `hash` (from hashPassword); constant-time compare.
 * @example if (await checkPassword(input, user.hash)) …
 */
export async function checkPassword(password: string, hash: string): Promise<boolean> {
  const parts = hash.split('$');
  const [kind, n, r, p, salt, expected] = parts;
  if (parts.length !== 6 || kind !== 'scrypt' || !salt || !expected) return false;
  const N = Number(n);
  const R = Number(r);
  const P = Number(p);
  if (![N, R, P].every((x) => Number.isSafeInteger(x) && x > 0) || N > 1 << 20) return false;
  const want = Buffer.from(expected, 'base64url');
  const got = await derive(password, Buffer.from(salt, 'base64url'), N, R, P);
  return want.length === got.length && timingSafeEqual(want, got);
}

function isEntry(value: unknown): value is UserEntry {
  const v = value as Partial<UserEntry> | null;
  return (
    typeof v === 'object' && v !== null && typeof v.name === 'string' && typeof v.hash === 'string'
  );
}

/**
 * The user directory over a store.
 * @example
 * const users = createUserDirectory(store);
 * await users.add('alice', 'alice-password');
 * await users.verify('alice', 'alice-password'); // 'alice'
 */
export function createUserDirectory(store: Store, now: () => number = Date.now): UserDirectory {
  // A hash to check against for unknown users, so they cost the same scrypt work.
  let decoy: Promise<string> | undefined;

  async function write(name: string, password: string, ifAbsent: boolean): Promise<boolean> {
    const user = normalizeUserName(name);
    if (typeof password !== 'string' || password.length < 8 || password.length > MAX_PASSWORD) {
      throw new TesseraError(
        'ERR_INVALID_ARGUMENT',
        `password must be 8 to ${MAX_PASSWORD} characters`,
      );
    }
    const entry: UserEntry = { name: user, hash: await hashPassword(password), createdAt: now() };
    return store.kvSet(USERS_NAMESPACE, user, entry, null, { ifAbsent: true }).then((wrote) => {
      if (!wrote && !ifAbsent) {
        throw new TesseraError('ERR_INVALID_ARGUMENT', `user "${user}" already exists`);
      }
      return wrote;
    });
  }

  return {
    async add(name, password) {
      await write(name, password, false);
    },
    addIfAbsent(name, password) {
      return write(name, password, true);
    },
    async verify(name, password) {
      if (typeof password !== 'string' || password.length > MAX_PASSWORD) return null;
      let user: string | null = null;
      try {
        user = normalizeUserName(name);
      } catch {
        user = null;
      }
      const stored = user === null ? null : await store.kvGet(USERS_NAMESPACE, user);
      if (!isEntry(stored)) {
        decoy ??= hashPassword(randomBytes(16).toString('base64url'));
        await checkPassword(password, await decoy);
        return null;
      }
      const matches = await checkPassword(password, stored.hash);
      return matches && stored.disabled !== true ? stored.name : null;
    },
    async exists(name) {
      try {
        return isEntry(await store.kvGet(USERS_NAMESPACE, normalizeUserName(name)));
      } catch (error) {
        if (error instanceof TesseraError && error.code === 'ERR_INVALID_ARGUMENT') return false;
        throw error;
      }
    },
    async setDisabled(name, disabled) {
      const user = normalizeUserName(name);
      const stored = await store.kvGet(USERS_NAMESPACE, user);
      if (!isEntry(stored)) return false;
      const entry: UserEntry = { ...stored, disabled };
      if (!disabled) delete entry.disabled;
      await store.kvSet(USERS_NAMESPACE, user, entry, null);
      return true;
    },
    async remove(name) {
      return store.kvDelete(USERS_NAMESPACE, normalizeUserName(name));
    },
    async list() {
      const entries = await store.kvList(USERS_NAMESPACE);
      return entries
        .map((entry) => entry.value)
        .filter(isEntry)
        .map((entry) => ({
          name: entry.name,
          createdAt: new Date(entry.createdAt).toISOString(),
          disabled: entry.disabled === true,
        }))
        .sort((a, b) => a.name.localeCompare(b.name));
    },
  };
}
