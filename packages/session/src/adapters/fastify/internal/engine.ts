/**
 * The plugin's engine, made once at registration: the store (a Tessera store through a
 * session manager, or a @fastify/session-style callback store through its bridge), how a
 * session is written and re-read, new IDs (`idGenerator`), the request lifecycle, and the
 * warnings about what differs from @fastify/session.
 */

import type { FastifyInstance } from 'fastify';
import { createSessionManager, type SessionManager } from '../../../core/manager.js';
import type { Session } from '../../../core/session.js';
import { createDbsc, type Dbsc } from '../../../http/dbsc.js';
import { defaultStore } from '../../../http/kit/default-store.js';
import {
  createRequestSessions,
  type HttpExchange,
  type LifecycleManager,
  onceWarner,
  type RequestSessions,
  type SessionLogger,
} from '../../../http/request-session.js';
import { TesseraError } from '../../../shared/errors.js';
import type { Store } from '../../../stores/store.js';
import type { ResolvedFastifyOptions } from '../options.js';
import { cookieOfSession } from '../session.js';
import { MemoryStore } from '../store.js';
import {
  type CallbackStore,
  type CallbackStoreManager,
  createCallbackStoreManager,
  defaultCallbackStoreId,
} from './callback-store.js';
import { sessionCookieFormat } from './cookie-format.js';
import { FastifyExchange } from './exchange.js';

/** What the plugin's hooks work with. */
export interface Engine {
  resolved: ResolvedFastifyOptions;
  sessions: RequestSessions;
  /** The DBSC server side, when the `dbsc` option is on. */
  dbsc: Dbsc | null;
  store: Store | CallbackStore;
  /** Writes a session now, changed or not (a callback store's `set`, a Tessera commit or touch). */
  persist(session: Session): Promise<void>;
  /**
   * The end-of-request write: as `persist`, except that an unchanged Tessera session is not
   * touched again (its load this request already slid its expiry, per `touchInterval`), so a
   * read-only request with `rolling` makes one store call, the load. Undefined (no promise)
   * when there is nothing to write.
   */
  persistAtEnd(session: Session): Promise<void> | undefined;
  reread(session: Session): Promise<boolean>;
  discardNew(session: Session): Promise<void>;
  warnOnce(key: string, message: string): void;
}

function checkIdGenerator(resolved: ResolvedFastifyOptions, tessera: boolean): void {
  if (resolved.idGenerator !== undefined && tessera) {
    throw new TesseraError(
      'ERR_CONFIG',
      'idGenerator: Tessera stores issue 256-bit session IDs and keep only their hash; use a @fastify/session-style store (get/set/destroy) to choose IDs yourself, or leave idGenerator out',
    );
  }
}

function newIdFor(
  resolved: ResolvedFastifyOptions,
): (exchange: HttpExchange | undefined) => string {
  return (exchange) => {
    if (resolved.idGenerator === undefined) return defaultCallbackStoreId();
    const request = exchange instanceof FastifyExchange ? exchange.request : undefined;
    const id = resolved.idGenerator(request);
    if (typeof id !== 'string' || id === '') {
      throw new TesseraError(
        'ERR_CONFIG',
        'idGenerator(request) must return a non-empty string session ID',
      );
    }
    return id;
  };
}

function tesseraManager(resolved: ResolvedFastifyOptions): {
  manager: SessionManager;
  store: Store;
} {
  if (resolved.manager !== undefined)
    return { manager: resolved.manager, store: resolved.manager.store };
  const store = resolved.store as Store;
  return { manager: createSessionManager({ ...resolved.managerOptions, store }), store };
}

/**
 * Validates the store choice and builds the engine.
 * @example const engine = createEngine(fastify, resolveFastifyOptions(options));
 */
export function createEngine(fastify: FastifyInstance, resolved: ResolvedFastifyOptions): Engine {
  const logger = resolved.logger ?? fastify.log;
  const tessera =
    resolved.manager !== undefined ||
    typeof (resolved.store as Store | undefined)?.patch === 'function';
  checkIdGenerator(resolved, tessera);
  let manager: LifecycleManager;
  let store: Store | CallbackStore;
  let persist: Engine['persist'];
  let persistAtEnd: Engine['persistAtEnd'];
  let discardNew: Engine['discardNew'] = async () => {};
  if (tessera) {
    warnShorterLifetime(resolved, logger);
    const built = tesseraManager(resolved);
    manager = built.manager;
    store = built.store;
    persist = async (session) => {
      const wrote = await built.manager.commit(session);
      if (!wrote && !session.isNew) await built.manager.touch(session);
    };
    persistAtEnd = (session) => {
      // What `commit` would find: a stored session with no pending change writes nothing.
      if (!session.isNew && !session.isDirty) return undefined;
      return built.manager.commit(session).then(() => undefined);
    };
  } else {
    store =
      (resolved.store as CallbackStore | undefined) ??
      defaultStore({ adapter: 'tessera-session/fastify', logger, create: () => new MemoryStore() });
    const callbackManager: CallbackStoreManager = createCallbackStoreManager({
      store: store as CallbackStore,
      storeTimeout: resolved.managerOptions.storeTimeout ?? 2000,
      newId: newIdFor(resolved),
      cookieOf: (session) => cookieOfSession(session)?.toJSON(),
      now: resolved.now,
    });
    manager = callbackManager;
    persist = (session) => callbackManager.write(session);
    // @fastify/session's rolling writes the whole session (and its cookie) back every time.
    persistAtEnd = persist;
    discardNew = async (session) => {
      await callbackManager.destroy(session);
    };
  }
  warnDifferences(resolved, logger);
  const dbsc = dbscFor(resolved, tessera ? (store as Store) : null);
  const sessions = createRequestSessions({
    ...(dbsc === null ? {} : { dbsc }),
    manager,
    cookie: sessionCookieFormat(resolved),
    ...(resolved.csrf === undefined ? {} : { csrf: resolved.csrf }),
    logger,
  });
  return {
    resolved,
    sessions,
    dbsc,
    store,
    persist,
    persistAtEnd,
    reread: (session) => manager.reload(session),
    discardNew,
    warnOnce: onceWarner(logger),
  };
}

/**
 * The one warning at registration about what Tessera does differently for security, each
 * with the option that restores @fastify/session's behaviour (silent once both are set).
 */
function warnDifferences(resolved: ResolvedFastifyOptions, logger: SessionLogger): void {
  const notes: string[] = [];
  if (resolved.csrf === undefined) {
    notes.push(
      "unsafe cross-site requests that carry the session cookie are refused with 403 (set csrf: false for @fastify/session's behaviour, or csrf: { allowedOrigins })",
    );
  }
  if (resolved.cookie.sameSite === undefined) {
    notes.push(
      'the cookie is sent with SameSite=Lax when cookie.sameSite is not set (set cookie.sameSite: false to send none, as @fastify/session)',
    );
  }
  if (notes.length === 0) return;
  logger.warn(
    `tessera-session/fastify differs from @fastify/session for security: ${notes.join('; ')}. Setting these options explicitly silences this warning.`,
  );
}

/**
 * A Tessera store ends sessions on the server after `idleTimeout` (default 30 minutes) and
 * `absoluteTimeout` (12 hours); a longer `cookie.maxAge` would outlive them. Said once.
 */
function warnShorterLifetime(resolved: ResolvedFastifyOptions, logger: SessionLogger): void {
  const maxAge = resolved.cookie.maxAge;
  if (resolved.manager !== undefined || typeof maxAge !== 'number') return;
  const idle = (resolved.managerOptions.idleTimeout ?? 1800) * 1000;
  const absolute = (resolved.managerOptions.absoluteTimeout ?? 43_200) * 1000;
  if (maxAge <= Math.min(idle, absolute)) return;
  logger.warn(
    `tessera-session/fastify: cookie.maxAge (${maxAge} ms) is longer than the Tessera store's server-side limits (idleTimeout ${idle / 1000} s, absoluteTimeout ${absolute / 1000} s), which end the session first; raise idleTimeout/absoluteTimeout (seconds) to keep sessions as long as the cookie.`,
  );
}

/** The DBSC server side when asked for; only over a Tessera store (its key-value space). */
function dbscFor(resolved: ResolvedFastifyOptions, store: Store | null): Dbsc | null {
  if (resolved.dbsc === null) return null;
  if (store === null) {
    throw new TesseraError(
      'ERR_CONFIG',
      'tessera-session/fastify: dbsc needs a Tessera store or manager (a callback store has no place for its challenges)',
    );
  }
  if ((resolved.cookie.path || '/') !== '/') {
    throw new TesseraError(
      'ERR_CONFIG',
      "tessera-session/fastify: dbsc needs cookie.path '/' (the browser must send the session cookie to the DBSC endpoints)",
    );
  }
  return createDbsc(store, resolved.dbsc);
}
