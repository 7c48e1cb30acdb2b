/**
 * The Store contract: the only way Tessera's core reaches persistent state. Every store
 * (memory, SQLite, file, Redis, PostgreSQL) implements it and passes the one conformance
 * suite in `stores/conformance`.
 *
 * A store never sees a raw session ID: records are addressed by `key`, the SHA-256 of the
 * ID (base64url). Times are milliseconds since the epoch. A record whose `expiresAt` is at
 * or before the store's clock is gone: `get` answers null for it even before a purge.
 */

/** Session data: JSON-serialisable values by key. */
export type SessionData = Record<string, unknown>;

/** Recorded facts about a session, for device lists and risk checks (never a binding). */
export interface SessionMeta {
  /** Client address seen at creation (or last update). */
  ip?: string;
  /** User-Agent header seen at creation (or last update). */
  userAgent?: string;
  /** `server` for cookie sessions, `hybrid` for token clients. */
  strategy?: string;
  /** True when the client asked to be remembered (persistent cookie). */
  persistent?: boolean;
  /**
   * This session's own idle timeout in seconds, when its app gave it an explicit lifetime
   * (express-session's `cookie.maxAge`); the manager's `idleTimeout` otherwise.
   */
  idleTimeout?: number;
  [key: string]: unknown;
}

/** One stored session. */
export interface SessionRecord {
  /** SHA-256 of the session ID, base64url (43 characters). The primary key. */
  key: string;
  /** Public handle: stable for the session's life (kept across regenerate), safe to show. */
  handle: string;
  /** The user the session is bound to, or null for an anonymous session. */
  userId: string | null;
  data: SessionData;
  meta: SessionMeta;
  createdAt: number;
  lastSeenAt: number;
  /** When the user authenticated (login); null for anonymous sessions. */
  authAt: number | null;
  /** When the record dies: min(idle expiry, absolute expiry). Stores expire on this. */
  expiresAt: number;
  /** Absolute end of life; never moved by activity. */
  absoluteExpiresAt: number;
}

/**
 * A change to one record, applied atomically by the store: keys in `set` are written,
 * keys in `unset` removed, other data keys are left as they are (so two concurrent patches
 * that change different keys both land). Top-level fields given are replaced; `meta` is
 * merged key by key.
 */
export interface SessionPatch {
  set?: SessionData;
  unset?: string[];
  userId?: string | null;
  authAt?: number | null;
  lastSeenAt?: number;
  expiresAt?: number;
  absoluteExpiresAt?: number;
  meta?: SessionMeta;
}

/** A stored value in a store's small key-value space (denylists, refresh tokens, keys). */
export interface KeyValueEntry {
  key: string;
  value: unknown;
  expiresAt: number | null;
}

/** The per-user cap `createWithinLimit` applies. */
export interface UserSessionLimit {
  /** Most live sessions the record's user may hold once the new one is stored (1 or more). */
  maxPerUser: number;
  /** At the cap: write nothing (`refuse`) or delete the oldest live sessions first. */
  onLimit: 'refuse' | 'evict-oldest';
}

/** What `createWithinLimit` did. */
export interface CreateWithinLimitResult {
  /** False only under `refuse` when the user already held `maxPerUser` live sessions. */
  created: boolean;
  /** Records deleted to make room (`evict-oldest`), oldest first. */
  evicted: Array<Pick<SessionRecord, 'key' | 'handle' | 'userId'>>;
}

export interface Store {
  /** A short name for logs and metrics (`memory`, `sqlite`, …). */
  readonly kind: string;

  /** The live record under `key`, or null when absent or expired. */
  get(key: string): Promise<SessionRecord | null>;
  /** Live record by public handle, or null. */
  getByHandle(handle: string): Promise<SessionRecord | null>;
  /** Inserts a new record; throws `ERR_STORE_CONFLICT` when the key or handle is taken. */
  create(record: SessionRecord): Promise<void>;
  /**
   * Inserts a signed-in record (`userId` set) while keeping its user at most `maxPerUser`
   * live sessions, as one atomic step: parallel calls for one user never leave more than
   * `maxPerUser` live records. Optional: without it the manager checks, then creates, which
   * parallel logins can overrun (docs/stores.md). Every built-in store has it.
   * @example
   * const { created, evicted } = await store.createWithinLimit(record, { maxPerUser: 2, onLimit: 'evict-oldest' });
   */
  createWithinLimit?(
    record: SessionRecord,
    limit: UserSessionLimit,
  ): Promise<CreateWithinLimitResult>;
  /** Applies a patch atomically; false when the record is absent or expired. */
  patch(key: string, patch: SessionPatch): Promise<boolean>;
  /** Moves `lastSeenAt` and `expiresAt`; false when the record is absent or expired. */
  touch(key: string, lastSeenAt: number, expiresAt: number): Promise<boolean>;
  /** Deletes one record; true when there was a live one. */
  delete(key: string): Promise<boolean>;
  /** Live records of one user, oldest first by `createdAt`. */
  listByUser(userId: string): Promise<SessionRecord[]>;
  /** Deletes every record of one user except `exceptKey`; the number deleted. */
  deleteByUser(userId: string, exceptKey?: string): Promise<number>;
  /** Removes expired session records and key-value entries; the number removed. */
  purgeExpired(): Promise<number>;

  /** Key-value space, namespaced (`ns`), with optional expiry (ms epoch). */
  kvGet(ns: string, key: string): Promise<unknown | null>;
  /**
   * Writes a value; with `ifAbsent` only when no live value exists (atomic), and answers
   * whether it wrote.
   */
  kvSet(
    ns: string,
    key: string,
    value: unknown,
    expiresAt: number | null,
    options?: { ifAbsent?: boolean },
  ): Promise<boolean>;
  kvDelete(ns: string, key: string): Promise<boolean>;
  /** Live entries of one namespace. */
  kvList(ns: string): Promise<KeyValueEntry[]>;

  /** Releases connections and timers; later calls throw `ERR_STORE_CLOSED`. */
  close(): Promise<void>;
}

/** Options every store factory accepts. */
export interface StoreClockOptions {
  /** Clock in milliseconds since the epoch; injected by tests. Default `Date.now`. */
  now?: () => number;
}

/**
 * The names of the methods every store has, besides `kind` and `close` (for wrappers). The
 * optional ones are in `OPTIONAL_STORE_METHODS`: a wrapper forwards them only when present.
 */
export const STORE_METHODS = [
  'get',
  'getByHandle',
  'create',
  'patch',
  'touch',
  'delete',
  'listByUser',
  'deleteByUser',
  'purgeExpired',
  'kvGet',
  'kvSet',
  'kvDelete',
  'kvList',
] as const satisfies ReadonlyArray<keyof Store>;

/** Optional Store methods: a wrapper defines them only when the wrapped store has them. */
export const OPTIONAL_STORE_METHODS = ['createWithinLimit'] as const satisfies ReadonlyArray<
  keyof Store
>;
