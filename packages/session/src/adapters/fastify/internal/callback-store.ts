/**
 * The lifecycle's manager over a @fastify/session (or express-session) store: `get`, `set`,
 * `destroy` with Node callbacks (a returned promise is taken too). It keeps
 * @fastify/session's stored format (the raw ID as key; the data plus its `cookie` as
 * value), so sessions move between @fastify/session and Tessera both ways. A store error
 * reaches the app as the store gave it (500, as with @fastify/session); a store that does not
 * answer within `storeTimeout` is `ERR_STORE_UNAVAILABLE` (503). Such stores have no user
 * index: the device list and sign-out-everywhere need a Tessera store.
 */

import { randomBytes } from 'node:crypto';
import { Session } from '../../../core/session.js';
import { callbackCall } from '../../../http/kit/callback-bridge.js';
import { FAR_FUTURE, refuseUserLevel } from '../../../http/kit/callback-store-manager.js';
import type { HttpExchange, LifecycleManager } from '../../../http/request-session.js';
import { withDeadline } from '../../../shared/deadline.js';
import { TesseraError } from '../../../shared/errors.js';
import type { SessionMeta, SessionRecord } from '../../../stores/store.js';
import type { StoredCookie } from '../cookie.js';

type Callback<T = unknown> = (error?: unknown, value?: T) => void;

/** A @fastify/session or express-session store. */
export interface CallbackStore {
  get(sid: string, callback: Callback): unknown;
  set(sid: string, session: unknown, callback: Callback): unknown;
  destroy(sid: string, callback: Callback): unknown;
}

/** True when `value` has the three callback methods (and is not a Tessera store). */
export function isCallbackStore(value: unknown): value is CallbackStore {
  const store = value as Partial<CallbackStore> & { patch?: unknown };
  return (
    typeof store === 'object' &&
    store !== null &&
    typeof store.get === 'function' &&
    typeof store.set === 'function' &&
    typeof store.destroy === 'function' &&
    typeof store.patch !== 'function'
  );
}

/** The callback-store manager, with the extra a callback store needs. */
export interface CallbackStoreManager extends LifecycleManager {
  /** Writes the session as it stands (the data and its cookie), changed or not. */
  write(session: Session): Promise<void>;
}

export interface CallbackStoreManagerOptions {
  store: CallbackStore;
  storeTimeout: number;
  /** A new ID; `exchange` is the request's, when there is one. */
  newId: (exchange: HttpExchange | undefined) => string;
  /** The cookie settings to store with a session (the request's `session.cookie`). */
  cookieOf: (session: Session) => StoredCookie | undefined;
  now: () => number;
}

/**
 * @fastify/session's ID shape: 24 CSPRNG bytes, base64url (32 characters, 192 bits).
 * @example defaultCallbackStoreId() // 'Qk_XT2K7-clT-x1tVvoY6tIQ83iP72KN'
 */
export function defaultCallbackStoreId(): string {
  return randomBytes(24).toString('base64url');
}

function recordFor(
  sid: string,
  data: Record<string, unknown>,
  meta: SessionMeta,
  at: number,
): SessionRecord {
  return {
    key: sid,
    handle: '',
    userId: null,
    data,
    meta,
    createdAt: at,
    lastSeenAt: at,
    authAt: null,
    expiresAt: FAR_FUTURE,
    absoluteExpiresAt: FAR_FUTURE,
  };
}

function expiryOf(cookie: StoredCookie | undefined): number | null {
  const at = cookie?.originalExpires ?? cookie?.expires;
  if (at === undefined || at === null) return null;
  const ms = new Date(at).valueOf();
  return Number.isNaN(ms) ? null : ms;
}

/**
 * Creates the manager over a callback store.
 * @example createCallbackStoreManager({ store, storeTimeout: 2000, newId, cookieOf, now: Date.now });
 */
export function createCallbackStoreManager(
  options: CallbackStoreManagerOptions,
): CallbackStoreManager {
  const { store, storeTimeout, now } = options;

  function call<T>(operation: string, invoke: (done: Callback<T>) => unknown): Promise<T> {
    const work = callbackCall<T>(invoke);
    return withDeadline(
      work,
      storeTimeout,
      () =>
        new TesseraError(
          'ERR_STORE_UNAVAILABLE',
          `session store did not answer ${operation} within ${storeTimeout} ms`,
        ),
    );
  }

  function storedValue(session: Session): Record<string, unknown> {
    const cookie = options.cookieOf(session) ?? (session.meta.cookie as StoredCookie | undefined);
    return { cookie: cookie ?? {}, ...session.toJSON() };
  }

  async function read(id: string): Promise<Record<string, unknown> | null> {
    try {
      const value = await call<unknown>('get', (done) => store.get(id, done));
      return value && typeof value === 'object' ? (value as Record<string, unknown>) : null;
    } catch (error) {
      if ((error as { code?: unknown } | null)?.code === 'ENOENT') return null;
      throw error;
    }
  }

  function restore(id: string, value: Record<string, unknown>): Session {
    const { cookie, ...data } = value as { cookie?: StoredCookie } & Record<string, unknown>;
    const meta: SessionMeta = { strategy: 'server', ...(cookie ? { cookie } : {}) };
    return new Session(id, recordFor(id, data, meta, now()), false);
  }

  async function write(session: Session): Promise<void> {
    await call<unknown>('set', (done) => store.set(session.id, storedValue(session), done));
    session.markClean();
  }

  async function destroyId(id: string): Promise<void> {
    await call<unknown>('destroy', (done) => store.destroy(id, done));
  }

  return {
    write,
    draft(draftOptions = {}) {
      const id = options.newId(draftOptions.exchange);
      return new Session(id, recordFor(id, {}, { strategy: 'server' }, now()), true);
    },

    async load(id) {
      if (typeof id !== 'string' || id === '') return null;
      const value = await read(id);
      if (value === null) return null;
      const expires = expiryOf(value.cookie as StoredCookie | undefined);
      if (expires !== null && expires <= now()) {
        // Expired: gone from the store too (a store error here reaches the app).
        await destroyId(id);
        return null;
      }
      return restore(id, value);
    },

    async commit(session) {
      await write(session);
      return true;
    },

    async touch() {
      return true;
    },

    async reload(session) {
      const value = await read(session.id);
      if (value === null) {
        session.replaceData({});
        return false;
      }
      const { cookie, ...data } = value as { cookie?: StoredCookie } & Record<string, unknown>;
      session.replaceData(data);
      if (cookie) session.meta = { ...session.meta, cookie };
      return true;
    },

    async regenerate(session) {
      await destroyId(session.id);
      const id = options.newId(undefined);
      const next = new Session(
        id,
        recordFor(id, session.toJSON(), { ...session.meta }, now()),
        true,
      );
      await write(next);
      return next;
    },

    async destroy(session) {
      await destroyId(typeof session === 'string' ? session : session.id);
      return true;
    },

    ...refuseUserLevel('a @fastify/session store'),

    now,

    remainingMs(session) {
      const expires = expiryOf(options.cookieOf(session));
      return expires === null ? FAR_FUTURE : Math.max(0, expires - now());
    },
  };
}
