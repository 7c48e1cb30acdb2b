/**
 * The file store: one JSON file per session under `<dir>/sessions/<key>.json` and one per
 * key-value entry under `<dir>/kv/<sha256(ns)>/<sha256(key)>.json`. Writes are atomic (a
 * temporary file renamed over the old one), a per-key mutex makes patches atomic within the
 * process, and lookups by handle or user scan the directory (the handle lookup keeps a small
 * in-memory index, rebuilt by a scan when it misses). Meant for one process and a modest
 * number of sessions; use SQLite, Redis or PostgreSQL beyond that.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isTesseraError, TesseraError } from '../../shared/errors.js';
import { storeClosedError, storeConflictError, storeUnavailableError } from '../internal/errors.js';
import { parseJsonText } from '../internal/json.js';
import { startPurgeTimer } from '../internal/purge-timer.js';
import {
  applyPatch,
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
  SessionRecord,
  Store,
  StoreClockOptions,
} from '../store.js';

export interface FileStoreOptions extends StoreClockOptions {
  /** Directory that holds the store (created with mode 0700 when missing). */
  dir: string;
  /**
   * Milliseconds between removals of expired files; 0 turns the timer off.
   * @defaultValue 60000 (one minute)
   */
  purgeIntervalMs?: number;
}

/** Session keys are base64url (SHA-256 of the ID), so they are safe file names as they are. */
const FILE_KEY = /^[A-Za-z0-9_-]{1,200}$/;

interface StoredEntry {
  ns: string;
  key: string;
  value: unknown;
  expiresAt: number | null;
}

function nameHash(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

function isMissing(error: unknown): boolean {
  return (error as { code?: unknown })?.code === 'ENOENT';
}

/**
 * Creates a file store in `dir`.
 * @example
 * import { createFileStore } from 'tessera-session/stores/file';
 * const store = createFileStore({ dir: './data/sessions' });
 */
export function createFileStore(options: FileStoreOptions): Store {
  if (!options || typeof options.dir !== 'string' || options.dir.length === 0) {
    throw new TesseraError('ERR_CONFIG', 'createFileStore: `dir` must be a directory path.');
  }
  const now = options.now ?? Date.now;
  const sessionsDir = join(options.dir, 'sessions');
  const kvDir = join(options.dir, 'kv');
  const locks = new Map<string, Promise<void>>();
  const handleIndex = new Map<string, string>();
  let closed = false;
  let ready: Promise<void> | null = null;

  function ensureDirs(): Promise<void> {
    if (!ready) {
      ready = (async () => {
        await mkdir(sessionsDir, { recursive: true, mode: 0o700 });
        await mkdir(kvDir, { recursive: true, mode: 0o700 });
      })();
      ready.catch(() => {
        ready = null;
      });
    }
    return ready;
  }

  async function run<T>(operation: string, body: () => Promise<T>): Promise<T> {
    if (closed) throw storeClosedError('file');
    try {
      await ensureDirs();
      return await body();
    } catch (error) {
      if (isTesseraError(error)) throw error;
      throw storeUnavailableError('file', operation, error);
    }
  }

  /** Runs `fn` after every earlier holder of `name` has finished. */
  function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const previous = locks.get(name) ?? Promise.resolve();
    let release!: () => void;
    const mine = previous.then(() => new Promise<void>((resolve) => (release = resolve)));
    locks.set(name, mine);
    return previous.then(fn).finally(() => {
      release();
      if (locks.get(name) === mine) locks.delete(name);
    });
  }

  async function writeAtomic(path: string, text: string): Promise<void> {
    const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temp, text, { mode: 0o600 });
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true }).catch(() => {});
      throw error;
    }
  }

  async function readText(path: string): Promise<string | null> {
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  const sessionPath = (key: string): string => join(sessionsDir, `${key}.json`);

  async function readRecord(key: string): Promise<SessionRecord | null> {
    const text = await readText(sessionPath(key));
    return text === null ? null : (parseJsonText(text, 'session record') as SessionRecord);
  }

  async function readLive(key: string): Promise<SessionRecord | null> {
    const record = await readRecord(key);
    return record && !isExpired(record.expiresAt, now()) ? record : null;
  }

  /** Every readable session record on disk (unreadable or half-written files are skipped). */
  async function scanSessions(): Promise<SessionRecord[]> {
    const names = await readdir(sessionsDir);
    const records: SessionRecord[] = [];
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      const key = name.slice(0, -5);
      try {
        const record = await readRecord(key);
        if (record) records.push(record);
      } catch {
        // A corrupted file is reported by `get` on that key; a scan carries on without it.
      }
    }
    handleIndex.clear();
    for (const record of records) handleIndex.set(record.handle, record.key);
    return records;
  }

  function assertFileKey(key: string): void {
    if (!FILE_KEY.test(key)) {
      throw new TesseraError(
        'ERR_INVALID_ARGUMENT',
        '`key` must be base64url (letters, digits, - and _), at most 200 characters: the file ' +
          'store uses it as a file name. Pass the SHA-256 of the session ID (hashSessionId).',
      );
    }
  }

  async function findByHandle(handle: string): Promise<SessionRecord | null> {
    const indexed = handleIndex.get(handle);
    if (indexed !== undefined) {
      const record = await readLive(indexed);
      if (record && record.handle === handle) return record;
    }
    const at = now();
    const found = (await scanSessions()).find(
      (r) => r.handle === handle && !isExpired(r.expiresAt, at),
    );
    return found ?? null;
  }

  const kvDirOf = (ns: string): string => join(kvDir, nameHash(ns));
  const kvPath = (ns: string, key: string): string => join(kvDirOf(ns), `${nameHash(key)}.json`);

  async function readEntry(path: string): Promise<StoredEntry | null> {
    const text = await readText(path);
    return text === null ? null : (parseJsonText(text, 'key-value entry') as StoredEntry);
  }

  async function insert(record: SessionRecord): Promise<void> {
    const text = JSON.stringify(record);
    // One create at a time keeps the handle check and the write together.
    await withLock('create', () =>
      withLock(`s:${record.key}`, async () => {
        if (await readLive(record.key)) throw storeConflictError('file', 'key');
        if (await findByHandle(record.handle)) throw storeConflictError('file', 'handle');
        await writeAtomic(sessionPath(record.key), text);
        handleIndex.set(record.handle, record.key);
      }),
    );
  }

  const store: Store = {
    kind: 'file',

    get(key) {
      return run('get', async () => {
        if (typeof key !== 'string' || !FILE_KEY.test(key)) return null;
        return readLive(key);
      });
    },

    getByHandle(handle) {
      return run('getByHandle', async () => {
        if (typeof handle !== 'string' || handle.length === 0) return null;
        return findByHandle(handle);
      });
    },

    create(record) {
      return run('create', async () => {
        validateRecord(record);
        assertFileKey(record.key);
        await insert(record);
      });
    },

    createWithinLimit(record, limit) {
      return run('create', async () => {
        validateRecord(record);
        validateUserLimit(record, limit);
        assertFileKey(record.key);
        const userId = record.userId as string;
        // One capped create per user at a time within the process (this store is for one
        // process): the count, the evictions and the write happen under the user's lock.
        return withLock(`u:${userId}`, async () => {
          const at = now();
          const live = (await scanSessions())
            .filter((r) => r.userId === userId && !isExpired(r.expiresAt, at))
            .sort((a, b) => a.createdAt - b.createdAt || (a.key < b.key ? -1 : 1));
          const evicted: CreateWithinLimitResult['evicted'] = [];
          if (live.length >= limit.maxPerUser) {
            if (limit.onLimit === 'refuse') return { created: false, evicted };
            for (const old of live.slice(0, live.length - limit.maxPerUser + 1)) {
              await withLock(`s:${old.key}`, () => rm(sessionPath(old.key), { force: true }));
              handleIndex.delete(old.handle);
              evicted.push({ key: old.key, handle: old.handle, userId: old.userId });
            }
          }
          await insert(record);
          return { created: true, evicted };
        });
      });
    },

    patch(key, patch) {
      return run('patch', async () => {
        validateKey(key, 'key');
        validatePatch(patch);
        if (!FILE_KEY.test(key)) return false;
        return withLock(`s:${key}`, async () => {
          const current = await readLive(key);
          if (!current) return false;
          // `current` is fresh from JSON.parse and the result is serialised before anyone
          // else can see it, so the caller's objects never end up shared with the store.
          await writeAtomic(sessionPath(key), JSON.stringify(applyPatch(current, patch)));
          return true;
        });
      });
    },

    touch(key, lastSeenAt, expiresAt) {
      return run('touch', async () => {
        validateKey(key, 'key');
        validateTime(lastSeenAt, 'lastSeenAt');
        validateTime(expiresAt, 'expiresAt');
        if (!FILE_KEY.test(key)) return false;
        return withLock(`s:${key}`, async () => {
          const current = await readLive(key);
          if (!current) return false;
          current.lastSeenAt = lastSeenAt;
          current.expiresAt = expiresAt;
          await writeAtomic(sessionPath(key), JSON.stringify(current));
          return true;
        });
      });
    },

    delete(key) {
      return run('delete', async () => {
        if (typeof key !== 'string' || !FILE_KEY.test(key)) return false;
        return withLock(`s:${key}`, async () => {
          const current = await readRecord(key).catch(() => null);
          await rm(sessionPath(key), { force: true });
          if (current) handleIndex.delete(current.handle);
          return current !== null && !isExpired(current.expiresAt, now());
        });
      });
    },

    listByUser(userId) {
      return run('listByUser', async () => {
        validateKey(userId, 'userId');
        const at = now();
        return (await scanSessions())
          .filter((r) => r.userId === userId && !isExpired(r.expiresAt, at))
          .sort((a, b) => a.createdAt - b.createdAt || (a.key < b.key ? -1 : 1));
      });
    },

    deleteByUser(userId, exceptKey) {
      return run('deleteByUser', async () => {
        validateKey(userId, 'userId');
        const targets = (await scanSessions()).filter(
          (r) => r.userId === userId && r.key !== exceptKey,
        );
        let count = 0;
        for (const target of targets) {
          await withLock(`s:${target.key}`, async () => {
            const current = await readRecord(target.key).catch(() => null);
            if (!current || current.userId !== userId) return;
            await rm(sessionPath(target.key), { force: true });
            handleIndex.delete(current.handle);
            if (!isExpired(current.expiresAt, now())) count++;
          });
        }
        return count;
      });
    },

    purgeExpired() {
      return run('purgeExpired', async () => {
        const at = now();
        let count = 0;
        for (const record of await scanSessions()) {
          if (!isExpired(record.expiresAt, at)) continue;
          await withLock(`s:${record.key}`, async () => {
            const current = await readRecord(record.key).catch(() => null);
            if (!current || !isExpired(current.expiresAt, at)) return;
            await rm(sessionPath(record.key), { force: true });
            handleIndex.delete(current.handle);
            count++;
          });
        }
        for (const nsDir of await readdir(kvDir)) {
          const names = await readdir(join(kvDir, nsDir)).catch(() => [] as string[]);
          for (const name of names) {
            if (!name.endsWith('.json')) continue;
            const path = join(kvDir, nsDir, name);
            await withLock(`kv:${path}`, async () => {
              const entry = await readEntry(path).catch(() => null);
              if (!entry || !isExpired(entry.expiresAt, at)) return;
              await rm(path, { force: true });
              count++;
            });
          }
        }
        return count;
      });
    },

    kvGet(ns, key) {
      return run('kvGet', async () => {
        validateKey(ns, 'ns');
        validateKey(key, 'key');
        const entry = await readEntry(kvPath(ns, key));
        if (!entry || entry.ns !== ns || entry.key !== key) return null;
        return isExpired(entry.expiresAt, now()) ? null : entry.value;
      });
    },

    kvSet(ns, key, value, expiresAt, setOptions) {
      return run('kvSet', async () => {
        validateKey(ns, 'ns');
        validateKey(key, 'key');
        validateExpiry(expiresAt);
        validateKvValue(value);
        const text = JSON.stringify({ ns, key, value, expiresAt } satisfies StoredEntry);
        const path = kvPath(ns, key);
        return withLock(`kv:${path}`, async () => {
          if (setOptions?.ifAbsent) {
            const current = await readEntry(path);
            if (current && !isExpired(current.expiresAt, now())) return false;
          }
          await mkdir(kvDirOf(ns), { recursive: true, mode: 0o700 });
          await writeAtomic(path, text);
          return true;
        });
      });
    },

    kvDelete(ns, key) {
      return run('kvDelete', async () => {
        validateKey(ns, 'ns');
        validateKey(key, 'key');
        const path = kvPath(ns, key);
        return withLock(`kv:${path}`, async () => {
          const current = await readEntry(path).catch(() => null);
          await rm(path, { force: true });
          return current !== null && !isExpired(current.expiresAt, now());
        });
      });
    },

    kvList(ns) {
      return run('kvList', async () => {
        validateKey(ns, 'ns');
        let names: string[];
        try {
          names = await readdir(kvDirOf(ns));
        } catch (error) {
          if (isMissing(error)) return [];
          throw error;
        }
        const at = now();
        const entries: KeyValueEntry[] = [];
        for (const name of names) {
          if (!name.endsWith('.json')) continue;
          const entry = await readEntry(join(kvDirOf(ns), name)).catch(() => null);
          if (!entry || entry.ns !== ns || isExpired(entry.expiresAt, at)) continue;
          entries.push({ key: entry.key, value: entry.value, expiresAt: entry.expiresAt });
        }
        return entries;
      });
    },

    async close() {
      closed = true;
      stopPurge();
    },
  };

  const stopPurge = startPurgeTimer(options.purgeIntervalMs ?? 60_000, () => store.purgeExpired());
  return store;
}
