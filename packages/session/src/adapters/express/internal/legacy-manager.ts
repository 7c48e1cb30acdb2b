/**
 * The lifecycle's manager over an express-session-compatible store (`get`/`set`/`destroy`,
 * optional `touch`, callback style, e.g. a connect-redis instance). It keeps
 * express-session's format exactly (the raw ID as key, the data plus its `cookie` object
 * as value) so data moves between express-session and Tessera both ways. Writes are whole
 * objects (last writer wins), IDs are not hashed at rest, and there is no user index.
 */

import { Session } from '../../../core/session.js';
import { callbackCall } from '../../../http/kit/callback-bridge.js';
import { FAR_FUTURE, refuseUserLevel } from '../../../http/kit/callback-store-manager.js';
import type { HttpExchange, LifecycleManager } from '../../../http/request-session.js';
import { withDeadline } from '../../../shared/deadline.js';
import { TesseraError } from '../../../shared/errors.js';
import { generateSessionId } from '../../../shared/ids.js';
import type { SessionMeta, SessionRecord } from '../../../stores/store.js';
import { Cookie, type CookieData } from '../cookie.js';

/** An express-session-compatible store, as found in the wild. */
export interface LegacyStore {
  get(sid: string, callback: (error: unknown, session?: unknown) => void): unknown;
  set(sid: string, session: unknown, callback: (error?: unknown) => void): unknown;
  destroy(sid: string, callback: (error?: unknown) => void): unknown;
  touch?(sid: string, session: unknown, callback: (error?: unknown) => void): unknown;
}

export interface LegacyManagerOptions {
  store: LegacyStore;
  storeTimeout: number;
  genid: ((req: unknown) => string) | undefined;
  /** The request object behind an exchange (for `genid(req)`). */
  requestOf: (exchange: HttpExchange | undefined) => unknown;
  now: () => number;
}

/** True when `value` looks like an express-session store. */
export function isLegacyStore(value: unknown): value is LegacyStore {
  const store = value as Partial<LegacyStore> | null;
  return (
    typeof store === 'object' &&
    store !== null &&
    typeof store.get === 'function' &&
    typeof store.set === 'function' &&
    typeof store.destroy === 'function'
  );
}

/**
 * Creates the legacy-store manager.
 * @example createLegacyManager({ store: redisStore, storeTimeout: 2000, genid: undefined, requestOf, now: Date.now });
 */
export function createLegacyManager(options: LegacyManagerOptions): LifecycleManager {
  const { store, storeTimeout, now } = options;

  // The store's own errors reach the app unchanged (next(err), callbacks), as with
  // express-session; a store that never answers is Tessera's ERR_STORE_UNAVAILABLE (503).
  function call<T>(
    operation: string,
    invoke: (done: (error: unknown, value?: T) => void) => unknown,
  ): Promise<T> {
    const work = callbackCall<T>(invoke, operation === 'get' ? ['ENOENT'] : []);
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

  function stored(session: Session): Record<string, unknown> {
    const cookie = new Cookie((session.meta.cookie as never) ?? undefined);
    return { cookie, ...session.toJSON() };
  }

  function recordFor(sid: string, data: Record<string, unknown>, meta: SessionMeta): SessionRecord {
    const at = now();
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

  function newId(exchange: HttpExchange | undefined): string {
    if (!options.genid) return generateSessionId();
    return options.genid(options.requestOf(exchange));
  }

  async function commit(session: Session): Promise<boolean> {
    if (!session.isNew && !session.isDirty) return false;
    await call<void>('set', (done) => store.set(session.id, stored(session), done));
    session.markClean();
    return true;
  }

  return {
    draft(draftOptions = {}) {
      const id = newId(draftOptions.exchange);
      return new Session(id, recordFor(id, {}, { strategy: 'server' }), true);
    },

    async load(id) {
      if (typeof id !== 'string' || id === '') return null;
      const value = await call<unknown>('get', (done) => store.get(id, done));
      if (!value || typeof value !== 'object') return null;
      const { cookie, ...data } = value as { cookie: CookieData } & Record<string, unknown>;
      // A stored session without its cookie is corrupt: reading it fails the request with a
      // TypeError, as it does with express-session.
      const restored = new Cookie({ ...cookie, expires: cookie.expires } as never);
      if (restored.expires !== null && restored.expires.valueOf() <= now()) return null;
      const maxAge = restored.originalMaxAge;
      const meta: SessionMeta = {
        strategy: 'server',
        cookie: restored.toJSON(),
        cookieMaxAge: typeof maxAge === 'number' ? Math.max(1, Math.round(maxAge / 1000)) : null,
      };
      return new Session(id, recordFor(id, data, meta), false);
    },

    commit,

    async touch(session) {
      if (session.isNew) return true;
      if (typeof store.touch !== 'function') return true;
      const touch = store.touch.bind(store);
      await call<void>('touch', (done) => touch(session.id, stored(session), done));
      return true;
    },

    async reload(session) {
      const value = await call<unknown>('get', (done) => store.get(session.id, done));
      if (!value || typeof value !== 'object') return false;
      const { cookie, ...data } = value as { cookie?: CookieData } & Record<string, unknown>;
      session.replaceData(data);
      if (cookie) session.meta = { ...session.meta, cookie };
      return true;
    },

    async regenerate(session) {
      if (!session.isNew) await call<void>('destroy', (done) => store.destroy(session.id, done));
      const id = newId(undefined);
      const next = new Session(id, recordFor(id, session.toJSON(), { ...session.meta }), true);
      await commit(next);
      return next;
    },

    async destroy(session) {
      const id = typeof session === 'string' ? session : session.id;
      if (typeof session !== 'string' && session.isNew) return false;
      await call<void>('destroy', (done) => store.destroy(id, done));
      return true;
    },

    ...refuseUserLevel('an express-session store'),

    now,

    remainingMs(session) {
      const expires = (session.meta.cookie as CookieData | undefined)?.expires;
      const at = expires ? new Date(expires).valueOf() - now() : Number.NaN;
      return Number.isFinite(at) ? Math.max(0, at) : FAR_FUTURE;
    },
  };
}
