/**
 * The memory store: sessions in this process's heap, for development, tests and
 * single-process tools. Bounded (least-recently-used sessions are evicted when full),
 * expiry-aware (an expired record is invisible at once, dropped when next touched and by a
 * periodic purge), indexed by user and by public handle. Nothing is shared between
 * processes and everything is lost on exit: use SQLite for one server, Redis or PostgreSQL
 * for many.
 *
 * Each session is one small object whose data and meta are kept as JSON text: compact
 * (no per-key objects on the heap), a deep copy by construction, and a fresh object for
 * every `get`. A patch that only sets keys appends them to the text (`JSON.parse` keeps the
 * last of duplicate keys, as the ECMAScript spec requires) instead of re-encoding the whole
 * session; the text is re-encoded once the appended part outgrows the original.
 */
import { TesseraError } from '../../shared/errors.js';
import { storeClosedError, storeConflictError } from '../internal/errors.js';
import { markPrompt, type PromptSessionCalls } from '../internal/prompt-stores.js';
import { startPurgeTimer } from '../internal/purge-timer.js';
import {
  applyDataPatch,
  applyMetaPatch,
  patchTouchesData,
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
  SessionData,
  SessionPatch,
  SessionRecord,
  Store,
  StoreClockOptions,
  UserSessionLimit,
} from '../store.js';

/** Options of `createMemoryStore`. */
export interface MemoryStoreOptions extends StoreClockOptions {
  /**
   * Most sessions held at once (a count); beyond it the least recently used one is evicted.
   * @defaultValue 10000
   */
  maxEntries?: number;
  /**
   * Milliseconds between purges of expired entries; 0 turns the timer off.
   * @defaultValue 60000 (one minute)
   */
  purgeIntervalMs?: number;
}

/** Counters of a memory store. */
export interface MemoryStoreStats {
  /** Session records held, including expired ones not yet dropped. */
  size: number;
  /** Live sessions evicted because the store was full. */
  evictions: number;
}

/** The memory store: a `Store` with counters. */
export interface MemoryStore extends Store {
  /** Always present on this store: the per-user cap is atomic here. */
  createWithinLimit: NonNullable<Store['createWithinLimit']>;
  readonly kind: 'memory';
  /** Current size and the number of evictions so far. */
  stats(): MemoryStoreStats;
}

const DEFAULT_MAX_ENTRIES = 10_000;
const DEFAULT_PURGE_INTERVAL_MS = 60_000;
const EMPTY_JSON = '{}';

/**
 * Creates a memory store.
 * @example
 * import { createMemoryStore } from 'tessera-session/stores/memory';
 * const store = createMemoryStore({ maxEntries: 50_000 });
 * const manager = createSessionManager({ store });
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw new TesseraError(
      'ERR_CONFIG',
      `\`maxEntries\` must be a whole number of sessions, 1 or more (got ${String(maxEntries)}).`,
    );
  }
  const purgeIntervalMs = options.purgeIntervalMs ?? DEFAULT_PURGE_INTERVAL_MS;
  if (typeof purgeIntervalMs !== 'number' || !(purgeIntervalMs >= 0)) {
    throw new TesseraError(
      'ERR_CONFIG',
      '`purgeIntervalMs` must be a number of milliseconds, 0 or more (0 turns the purge off).',
    );
  }
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') {
    throw new TesseraError('ERR_CONFIG', '`now` must be a function returning milliseconds.');
  }
  return new MemorySessionStore(maxEntries, purgeIntervalMs, now);
}

/** One stored session. A class so every entry shares one compact hidden class. */
class Entry {
  key: string;
  handle: string;
  userId: string | null;
  /** `data` as JSON text, possibly with duplicate keys appended by patches (last wins). */
  data: string;
  /** Length of `data` when it was last fully encoded; appends beyond twice that re-encode. */
  dataBase: number;
  /** `meta` as JSON text (the shared `EMPTY_JSON` when empty). */
  meta: string;
  createdAt: number;
  lastSeenAt: number;
  authAt: number | null;
  expiresAt: number;
  absoluteExpiresAt: number;

  constructor(record: SessionRecord) {
    this.key = record.key;
    this.handle = record.handle;
    this.userId = record.userId;
    this.data = flat(JSON.stringify(record.data));
    this.dataBase = this.data.length;
    this.meta = metaText(record.meta);
    this.createdAt = record.createdAt;
    this.lastSeenAt = record.lastSeenAt;
    this.authAt = record.authAt;
    this.expiresAt = record.expiresAt;
    this.absoluteExpiresAt = record.absoluteExpiresAt;
  }

  toRecord(): SessionRecord {
    return {
      key: this.key,
      handle: this.handle,
      userId: this.userId,
      data: JSON.parse(this.data),
      meta: this.meta === EMPTY_JSON ? {} : JSON.parse(this.meta),
      createdAt: this.createdAt,
      lastSeenAt: this.lastSeenAt,
      authAt: this.authAt,
      expiresAt: this.expiresAt,
      absoluteExpiresAt: this.absoluteExpiresAt,
    };
  }
}

interface KvSlot {
  /** The value as JSON text. */
  value: string;
  expiresAt: number | null;
}

class MemorySessionStore implements MemoryStore {
  readonly kind = 'memory' as const;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #stopPurge: () => void;
  /** Sessions by key, in least-recently-used-first order (a use moves an entry to the end). */
  #sessions = new Map<string, Entry>();
  #handles = new Map<string, Entry>();
  /** A user's entries: the entry itself while there is one, a Set from the second on. */
  #users = new Map<string, Entry | Set<Entry>>();
  #kv = new Map<string, Map<string, KvSlot>>();
  #evictions = 0;
  #closed = false;
  /** The entry last moved to the end of `#sessions` (the most recently used one). */
  #newest: Entry | undefined;

  constructor(maxEntries: number, purgeIntervalMs: number, now: () => number) {
    this.#maxEntries = maxEntries;
    this.#now = now;
    this.#stopPurge = startPurgeTimer(purgeIntervalMs, () => this.purgeExpired());
    // The core calls these directly (no promise per call) while `get`, `patch` and `touch`
    // are still this class's own.
    const calls: PromptSessionCalls = {
      get: (key) => this.#get(key),
      create: (record) => this.#create(record),
      patch: (key, patch) => this.#patch(key, patch),
      touch: (key, lastSeenAt, expiresAt) => this.#touch(key, lastSeenAt, expiresAt),
    };
    markPrompt(this, calls);
  }

  stats(): MemoryStoreStats {
    return { size: this.#sessions.size, evictions: this.#evictions };
  }

  async get(key: string): Promise<SessionRecord | null> {
    return this.#get(key);
  }

  #get(key: string): SessionRecord | null {
    this.#checkOpen();
    validateKey(key, 'key');
    const entry = this.#live(key);
    if (entry === undefined) return null;
    this.#markUsed(entry);
    return entry.toRecord();
  }

  async getByHandle(handle: string): Promise<SessionRecord | null> {
    this.#checkOpen();
    validateKey(handle, 'handle');
    const entry = this.#handles.get(handle);
    if (entry === undefined) return null;
    if (entry.expiresAt <= this.#now()) {
      this.#remove(entry);
      return null;
    }
    this.#markUsed(entry);
    return entry.toRecord();
  }

  async create(record: SessionRecord): Promise<void> {
    this.#create(record);
  }

  #create(record: SessionRecord): void {
    this.#checkOpen();
    validateRecord(record);
    this.#insert(record, this.#now());
  }

  // Atomic without a lock: the check, the evictions and the insert run in one synchronous
  // stretch, so no other call on this store can interleave.
  async createWithinLimit(
    record: SessionRecord,
    limit: UserSessionLimit,
  ): Promise<CreateWithinLimitResult> {
    this.#checkOpen();
    validateRecord(record);
    validateUserLimit(record, limit);
    const now = this.#now();
    this.#checkConflicts(record, now);
    const live = this.#userEntries(record.userId as string);
    const evicted: CreateWithinLimitResult['evicted'] = [];
    if (live.length >= limit.maxPerUser) {
      if (limit.onLimit === 'refuse') return { created: false, evicted };
      live.sort((a, b) => a.createdAt - b.createdAt);
      for (const entry of live.slice(0, live.length - limit.maxPerUser + 1)) {
        this.#remove(entry);
        evicted.push({ key: entry.key, handle: entry.handle, userId: entry.userId });
      }
    }
    this.#insert(record, now);
    return { created: true, evicted };
  }

  #checkConflicts(record: SessionRecord, now: number): void {
    const sameKey = this.#sessions.get(record.key);
    if (sameKey !== undefined && sameKey.expiresAt > now) {
      throw storeConflictError(this.kind, 'key');
    }
    const sameHandle = this.#handles.get(record.handle);
    if (sameHandle !== undefined && sameHandle.expiresAt > now) {
      throw storeConflictError(this.kind, 'handle');
    }
  }

  #insert(record: SessionRecord, now: number): void {
    this.#checkConflicts(record, now);
    const sameKey = this.#sessions.get(record.key);
    const sameHandle = this.#handles.get(record.handle);
    if (sameKey !== undefined) this.#remove(sameKey);
    if (sameHandle !== undefined) this.#remove(sameHandle);
    if (this.#sessions.size >= this.#maxEntries) this.#evictOne(now);
    const entry = new Entry(record);
    this.#sessions.set(entry.key, entry);
    this.#newest = entry;
    this.#handles.set(entry.handle, entry);
    if (entry.userId !== null) this.#indexUser(entry.userId, entry);
  }

  async patch(key: string, patch: SessionPatch): Promise<boolean> {
    return this.#patch(key, patch);
  }

  #patch(key: string, patch: SessionPatch): boolean {
    this.#checkOpen();
    validateKey(key, 'key');
    validatePatch(patch);
    const entry = this.#live(key);
    if (entry === undefined) return false;
    if (patchTouchesData(patch)) {
      const appended = patch.unset === undefined ? appendKeys(entry.data, patch.set!) : null;
      if (appended !== null && appended.length <= 2 * entry.dataBase + 64) {
        entry.data = appended;
      } else {
        entry.data = flat(JSON.stringify(applyDataPatch(JSON.parse(entry.data), patch)));
        entry.dataBase = entry.data.length;
      }
    }
    if (patch.meta !== undefined) {
      entry.meta = metaText(applyMetaPatch(JSON.parse(entry.meta), patch));
    }
    if (patch.userId !== undefined && patch.userId !== entry.userId) {
      if (entry.userId !== null) this.#unindexUser(entry.userId, entry);
      entry.userId = patch.userId;
      if (entry.userId !== null) this.#indexUser(entry.userId, entry);
    }
    if (patch.authAt !== undefined) entry.authAt = patch.authAt;
    if (patch.lastSeenAt !== undefined) entry.lastSeenAt = patch.lastSeenAt;
    if (patch.expiresAt !== undefined) entry.expiresAt = patch.expiresAt;
    if (patch.absoluteExpiresAt !== undefined) entry.absoluteExpiresAt = patch.absoluteExpiresAt;
    this.#markUsed(entry);
    return true;
  }

  async touch(key: string, lastSeenAt: number, expiresAt: number): Promise<boolean> {
    return this.#touch(key, lastSeenAt, expiresAt);
  }

  #touch(key: string, lastSeenAt: number, expiresAt: number): boolean {
    this.#checkOpen();
    validateKey(key, 'key');
    validateTime(lastSeenAt, 'lastSeenAt');
    validateTime(expiresAt, 'expiresAt');
    const entry = this.#live(key);
    if (entry === undefined) return false;
    entry.lastSeenAt = lastSeenAt;
    entry.expiresAt = expiresAt;
    this.#markUsed(entry);
    return true;
  }

  async delete(key: string): Promise<boolean> {
    this.#checkOpen();
    validateKey(key, 'key');
    const entry = this.#sessions.get(key);
    if (entry === undefined) return false;
    this.#remove(entry);
    return entry.expiresAt > this.#now();
  }

  async listByUser(userId: string): Promise<SessionRecord[]> {
    this.#checkOpen();
    validateKey(userId, 'userId');
    const live = this.#userEntries(userId);
    live.sort((a, b) => a.createdAt - b.createdAt);
    return live.map((entry) => entry.toRecord());
  }

  async deleteByUser(userId: string, exceptKey?: string): Promise<number> {
    this.#checkOpen();
    validateKey(userId, 'userId');
    if (exceptKey !== undefined) validateKey(exceptKey, 'exceptKey');
    let deleted = 0;
    for (const entry of this.#userEntries(userId)) {
      if (entry.key === exceptKey) continue;
      this.#remove(entry);
      deleted++;
    }
    return deleted;
  }

  async purgeExpired(): Promise<number> {
    this.#checkOpen();
    const now = this.#now();
    let removed = 0;
    for (const entry of this.#sessions.values()) {
      if (entry.expiresAt <= now) {
        this.#remove(entry);
        removed++;
      }
    }
    for (const [ns, slots] of this.#kv) {
      for (const [key, slot] of slots) {
        if (slot.expiresAt !== null && slot.expiresAt <= now) {
          slots.delete(key);
          removed++;
        }
      }
      if (slots.size === 0) this.#kv.delete(ns);
    }
    return removed;
  }

  async kvGet(ns: string, key: string): Promise<unknown | null> {
    this.#checkOpen();
    validateKey(ns, 'ns');
    validateKey(key, 'key');
    const slot = this.#liveSlot(ns, key);
    return slot === undefined ? null : JSON.parse(slot.value);
  }

  async kvSet(
    ns: string,
    key: string,
    value: unknown,
    expiresAt: number | null,
    options?: { ifAbsent?: boolean },
  ): Promise<boolean> {
    this.#checkOpen();
    validateKey(ns, 'ns');
    validateKey(key, 'key');
    validateExpiry(expiresAt);
    validateKvValue(value);
    if (options?.ifAbsent === true && this.#liveSlot(ns, key) !== undefined) return false;
    let slots = this.#kv.get(ns);
    if (slots === undefined) {
      slots = new Map();
      this.#kv.set(ns, slots);
    }
    slots.set(key, { value: flat(JSON.stringify(value)), expiresAt });
    return true;
  }

  async kvDelete(ns: string, key: string): Promise<boolean> {
    this.#checkOpen();
    validateKey(ns, 'ns');
    validateKey(key, 'key');
    const live = this.#liveSlot(ns, key) !== undefined;
    const slots = this.#kv.get(ns);
    if (slots !== undefined) {
      slots.delete(key);
      if (slots.size === 0) this.#kv.delete(ns);
    }
    return live;
  }

  async kvList(ns: string): Promise<KeyValueEntry[]> {
    this.#checkOpen();
    validateKey(ns, 'ns');
    const slots = this.#kv.get(ns);
    if (slots === undefined) return [];
    const now = this.#now();
    const entries: KeyValueEntry[] = [];
    for (const [key, slot] of slots) {
      if (slot.expiresAt !== null && slot.expiresAt <= now) {
        slots.delete(key);
        continue;
      }
      entries.push({ key, value: JSON.parse(slot.value), expiresAt: slot.expiresAt });
    }
    if (slots.size === 0) this.#kv.delete(ns);
    return entries;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopPurge();
    this.#sessions = new Map();
    this.#handles = new Map();
    this.#users = new Map();
    this.#kv = new Map();
  }

  #checkOpen(): void {
    if (this.#closed) throw storeClosedError(this.kind);
  }

  /** The entry under `key` if it is live; an expired one is dropped on the way. */
  #live(key: string): Entry | undefined {
    const entry = this.#sessions.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#remove(entry);
      return undefined;
    }
    return entry;
  }

  #markUsed(entry: Entry): void {
    // Re-inserting moves the entry to the end of the Map's order; skip it when already there.
    if (entry === this.#newest) return;
    this.#sessions.delete(entry.key);
    this.#sessions.set(entry.key, entry);
    this.#newest = entry;
  }

  #evictOne(now: number): void {
    const oldest = this.#sessions.values().next().value;
    if (oldest === undefined) return;
    this.#remove(oldest);
    if (oldest.expiresAt > now) this.#evictions++;
  }

  #remove(entry: Entry): void {
    this.#sessions.delete(entry.key);
    if (entry === this.#newest) this.#newest = undefined;
    if (this.#handles.get(entry.handle) === entry) this.#handles.delete(entry.handle);
    if (entry.userId !== null) this.#unindexUser(entry.userId, entry);
  }

  #indexUser(userId: string, entry: Entry): void {
    const current = this.#users.get(userId);
    if (current === undefined) this.#users.set(userId, entry);
    else if (current instanceof Set) current.add(entry);
    else if (current !== entry) this.#users.set(userId, new Set([current, entry]));
  }

  #unindexUser(userId: string, entry: Entry): void {
    const current = this.#users.get(userId);
    if (current === entry) {
      this.#users.delete(userId);
    } else if (current instanceof Set) {
      current.delete(entry);
      if (current.size === 1) this.#users.set(userId, current.values().next().value as Entry);
    }
  }

  /** A user's live entries; expired ones are dropped on the way. */
  #userEntries(userId: string): Entry[] {
    const current = this.#users.get(userId);
    if (current === undefined) return [];
    const all = current instanceof Set ? [...current] : [current];
    const now = this.#now();
    const live: Entry[] = [];
    for (const entry of all) {
      if (entry.expiresAt <= now) this.#remove(entry);
      else live.push(entry);
    }
    return live;
  }

  #liveSlot(ns: string, key: string): KvSlot | undefined {
    const slots = this.#kv.get(ns);
    const slot = slots?.get(key);
    if (slot === undefined) return undefined;
    if (slot.expiresAt !== null && slot.expiresAt <= this.#now()) {
      slots!.delete(key);
      if (slots!.size === 0) this.#kv.delete(ns);
      return undefined;
    }
    return slot;
  }
}

function metaText(meta: object): string {
  const text = JSON.stringify(meta);
  return text === EMPTY_JSON ? EMPTY_JSON : flat(text);
}

/**
 * `text` as one flat string. `JSON.stringify` and `+` build V8 rope strings that take about
 * half as much memory again as the characters; `trim()` (a no-op on JSON text) flattens them.
 */
function flat(text: string): string {
  return text.trim();
}

/**
 * The data text with `set`'s keys appended, or null when a value is `undefined` (a removal,
 * which appending cannot express). Duplicate keys are fine: `JSON.parse` keeps the last.
 */
function appendKeys(text: string, set: SessionData): string | null {
  let pairs = '';
  for (const key of Object.keys(set)) {
    const value = set[key];
    if (value === undefined) return null;
    pairs += `,${JSON.stringify(key)}:${JSON.stringify(value)}`;
  }
  if (pairs === '') return text;
  return flat(text === EMPTY_JSON ? `{${pairs.slice(1)}}` : `${text.slice(0, -1)}${pairs}}`);
}
