/**
 * `Session`: one loaded session, with its data and the changes made to it during a request.
 * Changes are kept as a patch (keys set, keys removed) so the store applies only what this
 * request changed; a session nobody changed writes nothing.
 */
import type { SessionData, SessionMeta, SessionPatch, SessionRecord } from '../stores/store.js';
import { authLevelOf, authMethodsOf } from './auth-level.js';

/** Reads a session's data object itself (no copy); set in the class's static block. */
let readData: (session: Session) => Readonly<SessionData>;

export class Session {
  /** The secret session ID that travels in the cookie. Never log it. */
  readonly id: string;
  /** The store key: SHA-256 of `id`. */
  readonly key: string;
  /** Public handle, safe to show in device lists and logs. */
  readonly handle: string;
  readonly createdAt: number;
  /** True until the session is first written to the store. */
  isNew: boolean;
  userId: string | null;
  authAt: number | null;
  lastSeenAt: number;
  expiresAt: number;
  absoluteExpiresAt: number;
  meta: SessionMeta;

  #data: SessionData;
  // Made on the first change: most loads change nothing, and a Set costs per request.
  #set: SessionData | null = null;
  #unset: Set<string> | null = null;
  #metaChanges: SessionMeta | null = null;

  static {
    readData = (session) => session.#data;
  }

  constructor(id: string, record: SessionRecord, isNew: boolean) {
    this.id = id;
    this.key = record.key;
    this.handle = record.handle;
    this.createdAt = record.createdAt;
    this.userId = record.userId;
    this.authAt = record.authAt;
    this.lastSeenAt = record.lastSeenAt;
    this.expiresAt = record.expiresAt;
    this.absoluteExpiresAt = record.absoluteExpiresAt;
    this.meta = record.meta;
    this.#data = record.data;
    this.isNew = isNew;
  }

  /**
   * How strongly the user authenticated at `authAt`, on the app's ladder (`login` and
   * `stepUp` record it; 1 when they were given none); null while nobody is signed in.
   * @example if ((session.authLevel ?? 0) < 2) askForSecondFactor();
   */
  get authLevel(): number | null {
    return authLevelOf(this.userId, this.meta);
  }

  /**
   * The authentication methods recorded with the level (e.g. `['pwd', 'otp']`); empty when
   * none were given or nobody is signed in. A copy: changing it changes nothing.
   * @example session.authMethods.includes('otp')
   */
  get authMethods(): string[] {
    return authMethodsOf(this.userId, this.meta);
  }

  /**
   * The value stored under `name`, or undefined.
   * @example const cart = session.get('cart');
   */
  get<T = unknown>(name: string): T | undefined {
    return Object.hasOwn(this.#data, name) ? (this.#data[name] as T) : undefined;
  }

  has(name: string): boolean {
    return Object.hasOwn(this.#data, name);
  }

  /**
   * Sets one key; the value must be JSON-serialisable.
   * @example session.set('theme', 'dark');
   */
  set(name: string, value: unknown): void {
    if (value === undefined) {
      this.delete(name);
      return;
    }
    this.#data[name] = value;
    this.#set ??= {};
    this.#set[name] = value;
    this.#unset?.delete(name);
  }

  /** Removes one key. */
  delete(name: string): void {
    const set = this.#set;
    if (!Object.hasOwn(this.#data, name) && (set === null || !Object.hasOwn(set, name))) return;
    delete this.#data[name];
    if (set !== null) delete set[name];
    this.#unset ??= new Set();
    this.#unset.add(name);
  }

  /** Names of the keys the session holds. */
  keys(): string[] {
    return Object.keys(this.#data);
  }

  /** A shallow copy of the data (changing it does not change the session). */
  toJSON(): SessionData {
    return { ...this.#data };
  }

  /** Records a change of metadata, written with the next commit. */
  updateMeta(changes: SessionMeta): void {
    this.meta = { ...this.meta, ...changes };
    this.#metaChanges = { ...this.#metaChanges, ...changes };
  }

  /** True when the session has changes not yet written. */
  get isDirty(): boolean {
    return hasKeys(this.#set) || (this.#unset?.size ?? 0) > 0 || this.#metaChanges !== null;
  }

  /** The pending changes as a store patch, or null when there are none. */
  pendingPatch(): SessionPatch | null {
    if (!this.isDirty) return null;
    const patch: SessionPatch = {};
    if (hasKeys(this.#set)) patch.set = { ...this.#set };
    if (this.#unset !== null && this.#unset.size > 0) patch.unset = [...this.#unset];
    if (this.#metaChanges) patch.meta = { ...this.#metaChanges };
    return patch;
  }

  /** Forgets pending changes after they were written. */
  markClean(): void {
    this.#set = null;
    this.#unset = null;
    this.#metaChanges = null;
    this.isNew = false;
  }

  /** The full record as it stands now (data with pending changes applied). */
  toRecord(): SessionRecord {
    return {
      key: this.key,
      handle: this.handle,
      userId: this.userId,
      data: { ...this.#data },
      meta: { ...this.meta },
      createdAt: this.createdAt,
      lastSeenAt: this.lastSeenAt,
      authAt: this.authAt,
      expiresAt: this.expiresAt,
      absoluteExpiresAt: this.absoluteExpiresAt,
    };
  }

  /** Replaces the data with `data` (a reload); pending changes are dropped. */
  replaceData(data: SessionData): void {
    this.#data = data;
    this.#set = null;
    this.#unset = null;
  }
}

/** True when `object` has an own key (without listing them). */
function hasKeys(object: SessionData | null): boolean {
  if (object === null) return false;
  for (const key in object) if (Object.hasOwn(object, key)) return true;
  return false;
}

/**
 * A session's data object itself, not a copy: for adapters that copy it once into their own
 * shape. Never change it; {@link Session.set} and {@link Session.delete} do.
 * @internal
 * @example for (const key in dataOf(session)) use(key);
 */
export function dataOf(session: Session): Readonly<SessionData> {
  return readData(session);
}
