/**
 * The session manager for the `server` strategy: creates, loads, changes and ends sessions,
 * enforces idle and absolute timeouts on the server, binds sessions to users with a fresh ID
 * at every login, and keeps the per-user device list. It talks to the outside only through a
 * Store; adapters map their framework onto it.
 */

import { TesseraError } from '../shared/errors.js';
import {
  generateHandle,
  generateSessionId,
  hashSessionId,
  isCustomSessionId,
  isValidSessionId,
} from '../shared/ids.js';
import { boundsItsCalls, promptCall } from '../stores/internal/prompt-stores.js';
import type {
  CreateWithinLimitResult,
  SessionMeta,
  SessionPatch,
  SessionRecord,
  Store,
} from '../stores/store.js';
import { authLevelFacts, authLevelOf, authMethodsOf } from './auth-level.js';
import { SessionEventEmitter, type SessionEventListener, type SessionEventName } from './events.js';
import { addressNetwork, userAgentFamily } from './internal/anomaly.js';
import { callPromptStore, callPromptStoreNow, callStore } from './internal/store-call.js';
import { type ResolvedOptions, resolveOptions, type SessionManagerOptions } from './options.js';
import { Session } from './session.js';

/** Facts about the request, recorded on the session and used for risk checks. */
export interface RequestFacts {
  /**
   * The client's address, for device lists and risk checks.
   * @defaultValue none (not recorded)
   */
  ip?: string;
  /**
   * The client's `User-Agent`, for device lists and risk checks.
   * @defaultValue none (not recorded)
   */
  userAgent?: string;
}

export interface CreateSessionOptions extends RequestFacts {
  /**
   * The new session's data (JSON-serialisable values).
   * @defaultValue {}
   */
  data?: Record<string, unknown>;
  /**
   * `server` (cookie sessions) or `hybrid` (token clients); recorded in the session's meta.
   * @defaultValue 'server'
   */
  strategy?: string;
  /**
   * The session ID, when the app generates its own (express-session's `genid`): 1 to 256
   * visible ASCII characters. Stored hashed either way.
   * @defaultValue 256 random bits from the CSPRNG, base64url
   */
  id?: string;
}

export interface LoginOptions extends RequestFacts {
  /**
   * Keep the browser cookie across restarts of the browser ("remember me").
   * @defaultValue false
   */
  remember?: boolean;
  /**
   * `server` (cookie sessions) or `hybrid` (token clients); recorded in the session's meta.
   * @defaultValue the strategy of the session signed in from, else 'server'
   */
  strategy?: string;
  /**
   * How strongly the user authenticated, on the app's own ladder: a positive integer
   * (e.g. 1 = a password, 2 = a second factor). `requireRecentAuth(maxAge, { level })`
   * compares with it; `session.authLevel` shows it.
   * @defaultValue 1
   */
  level?: number;
  /**
   * The methods used, like OpenID Connect's `amr` (e.g. `['pwd']`, `['pwd', 'otp']`): up to
   * 16 strings of 1 to 32 letters, digits or `_ . : -`. `session.authMethods` shows them.
   * @defaultValue [] (none recorded)
   */
  methods?: string[];
}

/** What {@link SessionManager.stepUp} records: the authentication the user just completed. */
export interface StepUpOptions {
  /**
   * The level the user just reached (a positive integer on the app's ladder). It replaces the
   * session's level: the level always describes the latest authentication, the one at
   * `authAt`, so a weaker re-authentication lowers it.
   */
  level: number;
  /**
   * The methods of this authentication, e.g. `['pwd', 'otp']` (they replace the recorded ones).
   * @defaultValue [] (none recorded)
   */
  methods?: string[];
}

/** A session as shown in a device list: no secret in it. */
export interface SessionInfo {
  handle: string;
  userId: string | null;
  strategy: string;
  createdAt: number;
  lastSeenAt: number;
  authAt: number | null;
  /** How strongly the user authenticated at `authAt`; null for an anonymous session. */
  authLevel: number | null;
  /** The methods recorded with the level (empty when none). */
  authMethods: string[];
  expiresAt: number;
  absoluteExpiresAt: number;
  ip: string | null;
  userAgent: string | null;
  /** Set when a risk check noted something about this session. */
  anomaly: string | null;
}

export interface SessionManager {
  readonly store: Store;
  /** A new session that is not stored until `commit` (for lazily saved sessions). */
  draft(options?: CreateSessionOptions): Session;
  /** A new session, stored at once. */
  create(options?: CreateSessionOptions): Promise<Session>;
  /** The live session with this ID, or null (bad syntax, unknown, expired, revoked). */
  load(id: string | undefined | null, facts?: RequestFacts): Promise<Session | null>;
  /** Writes the session's pending changes (a patch); nothing when nothing changed. */
  commit(session: Session): Promise<boolean>;
  /** Slides the idle timeout now (within the absolute lifetime). */
  touch(session: Session): Promise<boolean>;
  /** Re-reads the session's data from the store; false when it is gone. */
  reload(session: Session): Promise<boolean>;
  /** A new ID for the same session (same data and handle); the old ID stops working. */
  regenerate(session: Session): Promise<Session>;
  /** Binds a user: always a new ID and handle, a fresh absolute lifetime. */
  login(session: Session | null, userId: string, options?: LoginOptions): Promise<Session>;
  /**
   * Records a new authentication of the signed-in user (a second factor, a password typed
   * again): `authAt` becomes now, the level and methods those given, and the session gets a
   * new ID (a privilege change), keeping its data and handle; the old ID stops working.
   * Throws `ERR_INVALID_ARGUMENT` for an anonymous session or a bad level or methods, and
   * `ERR_SESSION_NOT_FOUND` when the session ended meanwhile.
   */
  stepUp(session: Session, options: StepUpOptions): Promise<Session>;
  /** Ends the session and answers a fresh, empty, unsaved one (new ID, no user, no data). */
  logout(session: Session): Promise<Session>;
  /** Ends the session. */
  destroy(session: Session | string): Promise<boolean>;
  /** The user's live sessions, oldest first. */
  listUserSessions(userId: string): Promise<SessionInfo[]>;
  /** Ends the session with this public handle (only if it belongs to `userId` when given). */
  revoke(handle: string, options?: { userId?: string }): Promise<boolean>;
  /** Ends every session of the user, except `except` when given ("sign out everywhere else"). */
  revokeUserSessions(userId: string, options?: { except?: Session }): Promise<number>;
  /** Removes expired records from the store. */
  purgeExpired(): Promise<number>;
  /** Subscribes to an event; answers the unsubscribe function. */
  on<E extends SessionEventName>(name: E, listener: SessionEventListener<E>): () => void;
  /** Remaining lifetime of the session in milliseconds (for cookie Max-Age). */
  remainingMs(session: Session): number;
  /**
   * The manager's clock in milliseconds since the epoch (its `now` option): the time
   * `authAt` and the expiries are measured against, e.g. by `requireRecentAuth`.
   */
  now(): number;
}

/**
 * Creates a session manager.
 * @example
 * const manager = createSessionManager({ store: createSqliteStore({ path: './data/s.db' }) });
 * const session = await manager.login(null, 'alice', { ip, userAgent });
 * res.setHeader('Set-Cookie', codec.serialize(session.id, { isSecure }));
 */
export function createSessionManager(options: SessionManagerOptions): SessionManager {
  const config = resolveOptions(options);
  return new Manager(config);
}

/** How many session IDs' store keys a manager remembers (see `#keyOf`). */
const KEY_MEMO_SIZE = 10_000;

class Manager implements SessionManager {
  readonly store: Store;
  readonly #config: ResolvedOptions;
  readonly #events = new SessionEventEmitter();
  readonly #keys = new Map<string, string>();

  constructor(config: ResolvedOptions) {
    this.#config = config;
    this.store = config.store;
  }

  on<E extends SessionEventName>(name: E, listener: SessionEventListener<E>): () => void {
    return this.#events.on(name, listener);
  }

  #call<T>(operation: string, call: () => Promise<T>): Promise<T> {
    // An in-process store answers within the call, and a store that bounds its own calls
    // (no later than storeTimeout) fails by itself: no deadline to arm (a wrapped one keeps it).
    const timeout = this.#config.storeTimeout;
    if (boundsItsCalls(this.store, operation, timeout)) {
      return callPromptStore(operation, call);
    }
    return callStore(operation, timeout, call);
  }

  /**
   * The store key of a session ID a request presented: SHA-256 once per distinct ID, not
   * once per request (a bounded memo, emptied when full).
   */
  #keyOf(id: string): string {
    let key = this.#keys.get(id);
    if (key === undefined) {
      key = hashSessionId(id);
      if (this.#keys.size >= KEY_MEMO_SIZE) this.#keys.clear();
      this.#keys.set(id, key);
    }
    return key;
  }

  #acceptsId(id: unknown): id is string {
    return isValidSessionId(id) || (this.#config.customIds && isCustomSessionId(id));
  }

  /**
   * The idle window of one session: its own `meta.idleTimeout` (seconds, set by an adapter
   * whose app gave the session an explicit lifetime), else the configured one.
   */
  #idleMs(meta: SessionMeta): number {
    const own = meta.idleTimeout;
    return typeof own === 'number' && own > 0 ? own * 1000 : this.#config.idleMs;
  }

  #newRecord(
    now: number,
    meta: SessionMeta,
    data: Record<string, unknown>,
    givenId?: string,
  ): { id: string; record: SessionRecord } {
    const id = givenId ?? generateSessionId();
    const absoluteExpiresAt = now + this.#config.absoluteMs;
    return {
      id,
      record: {
        key: hashSessionId(id),
        handle: generateHandle(),
        userId: null,
        data,
        meta,
        createdAt: now,
        lastSeenAt: now,
        authAt: null,
        expiresAt: Math.min(now + this.#idleMs(meta), absoluteExpiresAt),
        absoluteExpiresAt,
      },
    };
  }

  draft(options: CreateSessionOptions = {}): Session {
    const meta = metaFrom(options, options.strategy ?? 'server');
    if (
      options.id !== undefined &&
      !isValidSessionId(options.id) &&
      !isCustomSessionId(options.id)
    ) {
      throw new TesseraError(
        'ERR_INVALID_ARGUMENT',
        'a session ID must be 1 to 256 visible ASCII characters (no spaces or control characters)',
      );
    }
    const { id, record } = this.#newRecord(
      this.#config.now(),
      meta,
      { ...options.data },
      options.id,
    );
    return new Session(id, record, true);
  }

  async create(options: CreateSessionOptions = {}): Promise<Session> {
    const session = this.draft(options);
    await this.commit(session);
    return session;
  }

  async load(id: string | undefined | null, facts?: RequestFacts): Promise<Session | null> {
    if (!this.#acceptsId(id)) return null;
    const key = this.#keyOf(id);
    const record = await this.#call('get', () => this.store.get(key));
    return this.#loaded(id, key, record, facts);
  }

  /**
   * `load` for the adapters' hot path: the session as a value when the store answers within
   * the call (the memory store) and nothing else needs the store, else a promise as `load`.
   * Never throws: a failure is a rejected promise.
   */
  loadNow(
    id: string | undefined | null,
    facts?: RequestFacts,
  ): Session | null | Promise<Session | null> {
    const get = promptCall(this.store, 'get');
    if (get === null) return this.load(id, facts);
    try {
      if (!this.#acceptsId(id)) return null;
      const key = this.#keyOf(id);
      const record = callPromptStoreNow('get', () => get(key));
      return record instanceof Promise ? record : this.#loaded(id, key, record, facts);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** What a load does with the record it read: checks the limits, the risk and the touch. */
  #loaded(
    id: string,
    key: string,
    record: SessionRecord | null,
    facts: RequestFacts | undefined,
  ): Session | null | Promise<Session | null> {
    if (!record) return null;
    const now = this.#config.now();
    // The limits in force now apply to every session, also to one stored under longer ones
    // (timeouts tightened after an incident take effect at once).
    const idleEnd = Math.min(record.expiresAt, record.lastSeenAt + this.#idleMs(record.meta));
    const absoluteEnd = Math.min(
      record.absoluteExpiresAt,
      (record.authAt ?? record.createdAt) + this.#config.absoluteMs,
    );
    if (idleEnd <= now || absoluteEnd <= now) {
      return this.#expire(key, record, now, absoluteEnd <= now ? 'absolute' : 'idle');
    }
    const session = new Session(id, record, false);
    if (facts && session.userId !== null) return this.#checkedLoad(session, facts, now);
    if (now - record.lastSeenAt >= this.#config.touchMs) {
      return this.touch(session).then(() => session);
    }
    return session;
  }

  async #expire(
    key: string,
    record: SessionRecord,
    now: number,
    reason: 'absolute' | 'idle',
  ): Promise<null> {
    await this.#call('delete', () => this.store.delete(key));
    this.#events.emit('expired', { ...eventBase(record, now), reason });
    return null;
  }

  async #checkedLoad(session: Session, facts: RequestFacts, now: number): Promise<Session | null> {
    const verdict = await this.#checkAnomaly(session, facts, now);
    if (verdict === 'revoked') return null;
    if (now - session.lastSeenAt >= this.#config.touchMs) await this.touch(session);
    return session;
  }

  async #checkAnomaly(
    session: Session,
    facts: RequestFacts,
    now: number,
  ): Promise<'ok' | 'revoked'> {
    const findings: Array<{ kind: 'user-agent' | 'network'; previous: string; current: string }> =
      [];
    const before = userAgentFamily(session.meta.userAgent);
    const after = userAgentFamily(facts.userAgent);
    if (before && after && before !== after) {
      findings.push({ kind: 'user-agent', previous: before, current: after });
    }
    const netBefore = addressNetwork(session.meta.ip);
    const netAfter = addressNetwork(facts.ip);
    if (netBefore && netAfter && netBefore !== netAfter) {
      findings.push({ kind: 'network', previous: netBefore, current: netAfter });
    }
    const finding = findings[0];
    if (!finding) return 'ok';
    const action = this.#config.onAnomaly;
    this.#events.emit('anomaly', { ...eventBase(session, now), ...finding, action });
    if (action === 'revoke') {
      await this.#call('delete', () => this.store.delete(session.key));
      this.#events.emit('revoked', { ...eventBase(session, now), reason: 'anomaly' });
      return 'revoked';
    }
    const note = `${finding.kind} changed from ${finding.previous} to ${finding.current}`;
    // Record the new facts so one change is reported once, not on every request.
    session.updateMeta({ ip: facts.ip, userAgent: facts.userAgent, anomaly: note });
    if (action === 'reauthenticate') {
      await this.#call('patch', () =>
        this.store.patch(session.key, { userId: null, authAt: null, meta: session.meta }),
      );
      session.userId = null;
      session.authAt = null;
    }
    return 'ok';
  }

  async commit(session: Session): Promise<boolean> {
    if (session.isNew) {
      const record = this.#recordToCreate(session);
      await this.#call('create', () => this.store.create(record));
      return this.#created(session, record);
    }
    const patch = this.#patchOf(session);
    if (!patch) return false;
    const applied = await this.#call('patch', () => this.store.patch(session.key, patch));
    return this.#patched(session, applied);
  }

  /**
   * `commit` for the adapters' hot path: done within the call when the store answers so
   * (the memory store), else a promise as `commit`. Never throws: a failure is a rejected
   * promise.
   */
  commitNow(session: Session): boolean | Promise<boolean> {
    const create = session.isNew ? promptCall(this.store, 'create') : null;
    const patchCall = session.isNew ? null : promptCall(this.store, 'patch');
    try {
      if (create !== null) {
        const record = this.#recordToCreate(session);
        const created = callPromptStoreNow('create', () => create(record));
        return created instanceof Promise ? created : this.#created(session, record);
      }
      if (patchCall !== null) {
        const patch = this.#patchOf(session);
        if (!patch) return false;
        const applied = callPromptStoreNow('patch', () => patchCall(session.key, patch));
        return applied instanceof Promise ? applied : this.#patched(session, applied);
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return this.commit(session);
  }

  /** A new session's first record; its expiry starts now. */
  #recordToCreate(session: Session): SessionRecord {
    session.expiresAt = Math.min(
      session.lastSeenAt + this.#idleMs(session.meta),
      session.absoluteExpiresAt,
    );
    return session.toRecord();
  }

  #created(session: Session, record: SessionRecord): true {
    session.markClean();
    this.#events.emit('created', {
      ...eventBase(record, record.createdAt),
      strategy: String(record.meta.strategy ?? 'server'),
    });
    return true;
  }

  /** A stored session's pending changes, with the expiry moved when its idle window changed. */
  #patchOf(session: Session): SessionPatch | null {
    const patch = session.pendingPatch();
    if (!patch) return null;
    if (patch.meta && 'idleTimeout' in patch.meta) {
      // A new idle window takes effect now: the expiry moves with the patch.
      const now = this.#config.now();
      patch.lastSeenAt = now;
      patch.expiresAt = Math.min(now + this.#idleMs(session.meta), session.absoluteExpiresAt);
    }
    return patch;
  }

  #patched(session: Session, applied: boolean): true {
    if (!applied) {
      throw new TesseraError(
        'ERR_SESSION_NOT_FOUND',
        'the session ended (expired or revoked) before its changes could be saved',
      );
    }
    session.markClean();
    return true;
  }

  async touch(session: Session): Promise<boolean> {
    const now = this.#config.now();
    const expiresAt = Math.min(now + this.#idleMs(session.meta), session.absoluteExpiresAt);
    if (session.isNew) {
      session.lastSeenAt = now;
      session.expiresAt = expiresAt;
      return true;
    }
    const ok = await this.#call('touch', () => this.store.touch(session.key, now, expiresAt));
    return this.#touched(session, ok, now, expiresAt);
  }

  /** `touch` for the adapters' hot path, as {@link commitNow} is for `commit`. */
  touchNow(session: Session): boolean | Promise<boolean> {
    const touchCall = promptCall(this.store, 'touch');
    if (touchCall === null || session.isNew) return this.touch(session);
    try {
      const now = this.#config.now();
      const expiresAt = Math.min(now + this.#idleMs(session.meta), session.absoluteExpiresAt);
      const ok = callPromptStoreNow('touch', () => touchCall(session.key, now, expiresAt));
      return ok instanceof Promise ? ok : this.#touched(session, ok, now, expiresAt);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #touched(session: Session, ok: boolean, now: number, expiresAt: number): boolean {
    if (ok) {
      session.lastSeenAt = now;
      session.expiresAt = expiresAt;
      this.#events.emit('touched', { ...eventBase(session, now), expiresAt });
    }
    return ok;
  }

  async reload(session: Session): Promise<boolean> {
    const record = await this.#call('get', () => this.store.get(session.key));
    if (!record) return false;
    session.replaceData(record.data);
    session.userId = record.userId;
    session.authAt = record.authAt;
    session.meta = record.meta;
    session.lastSeenAt = record.lastSeenAt;
    session.expiresAt = record.expiresAt;
    session.absoluteExpiresAt = record.absoluteExpiresAt;
    return true;
  }

  async regenerate(session: Session): Promise<Session> {
    const now = this.#config.now();
    const id = generateSessionId();
    const record: SessionRecord = { ...session.toRecord(), key: hashSessionId(id) };
    const next = new Session(id, record, true);
    if (!session.isNew) {
      // Only a session that is still live gets a new ID: one revoked or expired while the
      // request ran must stay ended, not come back under a fresh ID.
      const deleted = await this.#call('delete', () => this.store.delete(session.key));
      if (!deleted) {
        throw new TesseraError(
          'ERR_SESSION_NOT_FOUND',
          'the session ended (expired or revoked) before it could get a new ID',
        );
      }
    }
    await this.#call('create', () => this.store.create(record));
    next.markClean();
    this.#events.emit('regenerated', {
      ...eventBase(record, now),
      previousHandle: session.handle,
      reason: 'regenerate',
    });
    return next;
  }

  async login(
    session: Session | null,
    userId: string,
    options: LoginOptions = {},
  ): Promise<Session> {
    if (typeof userId !== 'string' || userId.length === 0) {
      throw new TesseraError('ERR_INVALID_ARGUMENT', 'login needs a non-empty user ID string');
    }
    const auth = authLevelFacts('login', options.level, options.methods);
    const now = this.#config.now();
    let carried = session !== null && carriesOver(session, userId);
    const stored = session !== null && !session.isNew;
    const sameUser = stored && session.userId === userId;
    if (sameUser) {
      // The user's own session frees its place under the cap first; one revoked while the
      // request ran hands nothing on.
      const deleted = await this.#call('delete', () => this.store.delete(session.key));
      if (!deleted) carried = false;
    }
    const strategy = options.strategy ?? (session?.meta.strategy as string | undefined) ?? 'server';
    const meta: SessionMeta = { ...(carried ? session?.meta : {}), ...metaFrom(options, strategy) };
    delete meta.anomaly;
    meta.authLevel = auth.level;
    meta.authMethods = auth.methods;
    if (options.remember) meta.persistent = true;
    const data = carried && session ? session.toJSON() : {};
    const { id, record } = this.#newRecord(now, meta, data);
    record.userId = userId;
    record.authAt = now;
    await this.#createWithinLimit(record, now);
    // Another user's or an anonymous session ends only once the login succeeded (a refused
    // login leaves it as it was).
    if (stored && !sameUser) await this.#call('delete', () => this.store.delete(session.key));
    const next = new Session(id, record, false);
    if (session) {
      this.#events.emit('regenerated', {
        ...eventBase(record, now),
        previousHandle: session.handle,
        reason: 'login',
      });
    }
    this.#events.emit('created', { ...eventBase(record, now), strategy });
    return next;
  }

  async stepUp(session: Session, options: StepUpOptions): Promise<Session> {
    if (!(session instanceof Session) || session.userId === null || session.isNew) {
      throw new TesseraError(
        'ERR_INVALID_ARGUMENT',
        'stepUp needs a signed-in, stored session; sign the user in with login() first',
      );
    }
    const given = (options ?? {}) as Partial<StepUpOptions>;
    if (given.level === undefined) {
      throw new TesseraError(
        'ERR_INVALID_ARGUMENT',
        'stepUp: give the level reached, e.g. { level: 2 }',
      );
    }
    const auth = authLevelFacts('stepUp', given.level, given.methods);
    const now = this.#config.now();
    const id = generateSessionId();
    const record: SessionRecord = { ...session.toRecord(), key: hashSessionId(id), authAt: now };
    record.meta = { ...record.meta, authLevel: auth.level, authMethods: auth.methods };
    // Only a live session steps up: one revoked while the request ran stays ended.
    const deleted = await this.#call('delete', () => this.store.delete(session.key));
    if (!deleted) {
      throw new TesseraError(
        'ERR_SESSION_NOT_FOUND',
        'the session ended (expired or revoked) before it could step up',
      );
    }
    await this.#call('create', () => this.store.create(record));
    this.#events.emit('regenerated', {
      ...eventBase(record, now),
      previousHandle: session.handle,
      reason: 'step-up',
    });
    return new Session(id, record, false);
  }

  /** Stores a signed-in record under the per-user cap, atomically where the store can. */
  async #createWithinLimit(record: SessionRecord, now: number): Promise<void> {
    const limit = this.#config.maxSessionsPerUser;
    if (!Number.isFinite(limit)) {
      await this.#call('create', () => this.store.create(record));
      return;
    }
    const onLimit = this.#config.onSessionLimit;
    const store = this.store;
    let result: CreateWithinLimitResult;
    if (typeof store.createWithinLimit === 'function') {
      result = await this.#call(
        'createWithinLimit',
        () =>
          store.createWithinLimit?.(record, {
            maxPerUser: limit,
            onLimit,
          }) as Promise<CreateWithinLimitResult>,
      );
    } else {
      result = await this.#createWithinLimitFallback(record, limit);
    }
    for (const evicted of result.evicted) {
      this.#events.emit('revoked', { ...eventBase(evicted, now), reason: 'limit' });
    }
    if (!result.created) {
      throw new TesseraError(
        'ERR_SESSION_LIMIT',
        `user already has ${limit} sessions (maxSessionsPerUser is ${limit})`,
      );
    }
  }

  // For stores without `createWithinLimit`: check, then write. Not atomic: parallel logins
  // can each see room and together pass the cap (docs/stores.md says so).
  async #createWithinLimitFallback(
    record: SessionRecord,
    limit: number,
  ): Promise<CreateWithinLimitResult> {
    const userId = record.userId as string;
    const sessions = await this.#call('listByUser', () => this.store.listByUser(userId));
    const evicted: SessionRecord[] = [];
    if (sessions.length >= limit) {
      if (this.#config.onSessionLimit === 'refuse') return { created: false, evicted };
      for (const old of sessions.slice(0, sessions.length - limit + 1)) {
        if (await this.#call('delete', () => this.store.delete(old.key))) evicted.push(old);
      }
    }
    await this.#call('create', () => this.store.create(record));
    return { created: true, evicted };
  }

  async logout(session: Session): Promise<Session> {
    await this.destroy(session);
    return this.draft({ strategy: String(session.meta.strategy ?? 'server') });
  }

  async destroy(session: Session | string): Promise<boolean> {
    let key: string;
    let base: { handle: string; userId: string | null };
    if (typeof session === 'string') {
      if (!this.#acceptsId(session)) return false;
      key = hashSessionId(session);
      base = { handle: '', userId: null };
    } else {
      if (session.isNew) return false;
      key = session.key;
      base = session;
    }
    const deleted = await this.#call('delete', () => this.store.delete(key));
    if (deleted) {
      this.#events.emit('destroyed', {
        handle: base.handle,
        userId: base.userId,
        at: this.#config.now(),
      });
    }
    return deleted;
  }

  async listUserSessions(userId: string): Promise<SessionInfo[]> {
    const records = await this.#call('listByUser', () => this.store.listByUser(userId));
    const now = this.#config.now();
    return records.filter((record) => isLive(record, now)).map(toInfo);
  }

  async revoke(handle: string, options: { userId?: string } = {}): Promise<boolean> {
    if (typeof handle !== 'string' || handle.length === 0 || handle.length > 64) return false;
    const record = await this.#call('getByHandle', () => this.store.getByHandle(handle));
    if (!record) return false;
    if (options.userId !== undefined && record.userId !== options.userId) return false;
    const deleted = await this.#call('delete', () => this.store.delete(record.key));
    if (deleted) {
      this.#events.emit('revoked', { ...eventBase(record, this.#config.now()), reason: 'revoke' });
    }
    return deleted;
  }

  async revokeUserSessions(userId: string, options: { except?: Session } = {}): Promise<number> {
    const exceptKey = options.except?.key;
    const count = await this.#call('deleteByUser', () =>
      this.store.deleteByUser(userId, exceptKey),
    );
    if (count > 0) {
      this.#events.emit('revoked', {
        handle: '*',
        userId,
        at: this.#config.now(),
        reason: 'revoke-user',
      });
    }
    return count;
  }

  purgeExpired(): Promise<number> {
    return this.#call('purgeExpired', () => this.store.purgeExpired());
  }

  remainingMs(session: Session): number {
    return Math.max(0, session.absoluteExpiresAt - this.#config.now());
  }

  now(): number {
    return this.#config.now();
  }
}

/**
 * Whether login keeps what the session held: only an anonymous session's data (a cart filled
 * before signing in) or the same user's. Another user's data (`isAdmin`, a cart) never moves
 * into the next user's session.
 */
function carriesOver(session: Session, userId: string): boolean {
  return session.userId === null || session.userId === userId;
}

function metaFrom(facts: RequestFacts, strategy: string): SessionMeta {
  const meta: SessionMeta = { strategy };
  if (facts.ip) meta.ip = facts.ip;
  if (facts.userAgent) meta.userAgent = facts.userAgent.slice(0, 512);
  return meta;
}

function eventBase(
  record: { handle: string; userId: string | null },
  at: number,
): { handle: string; userId: string | null; at: number } {
  return { handle: record.handle, userId: record.userId, at };
}

function isLive(record: SessionRecord, now: number): boolean {
  return record.expiresAt > now && record.absoluteExpiresAt > now;
}

function toInfo(record: SessionRecord): SessionInfo {
  return {
    handle: record.handle,
    userId: record.userId,
    strategy: String(record.meta.strategy ?? 'server'),
    createdAt: record.createdAt,
    lastSeenAt: record.lastSeenAt,
    authAt: record.authAt,
    authLevel: authLevelOf(record.userId, record.meta),
    authMethods: authMethodsOf(record.userId, record.meta),
    expiresAt: record.expiresAt,
    absoluteExpiresAt: record.absoluteExpiresAt,
    ip: typeof record.meta.ip === 'string' ? record.meta.ip : null,
    userAgent: typeof record.meta.userAgent === 'string' ? record.meta.userAgent : null,
    anomaly: typeof record.meta.anomaly === 'string' ? record.meta.anomaly : null,
  };
}
