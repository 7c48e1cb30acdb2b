/**
 * The plugin's options: @fastify/session's (same names, defaults and registration errors)
 * plus Tessera's own, validated once at registration. An option the plugin does not know is
 * an `ERR_CONFIG` naming it: nothing is accepted and ignored.
 */

import type { SessionManager } from '../../core/manager.js';
import type { SessionManagerOptions } from '../../core/options.js';
import type { DbscOptions } from '../../http/dbsc.js';
import { rejectUnknownOptions } from '../../http/kit/unknown-options.js';
import type { SessionLogger } from '../../http/request-session.js';
import { TesseraError } from '../../shared/errors.js';
import type { Store } from '../../stores/store.js';
import type { FastifyCookieOptions } from './cookie.js';
import { type CallbackStore, isCallbackStore } from './internal/callback-store.js';
import { type CookieSigner, createSigner, isSigner } from './signer.js';

/** Generates a session ID; receives the request (with the old `request.session` on regenerate). */
export type IdGenerator = (request?: unknown) => string;

/** Options of the plugin (`app.register(tessera, options)`). */
export interface FastifySessionPluginOptions extends Omit<SessionManagerOptions, 'store' | 'now'> {
  /**
   * Signs the cookie (required, as in @fastify/session): a string of at least 32 characters,
   * an array of secrets (the first signs, all verify), or a signer with `sign`/`unsign`.
   */
  secret: string | string[] | CookieSigner;
  /**
   * HMAC hash of the built-in signer. Default 'sha256'.
   * @defaultValue 'sha256'
   */
  algorithm?: string;
  /**
   * Cookie name. Default 'sessionId'.
   * @defaultValue 'sessionId'
   */
  cookieName?: string;
  /**
   * Prefix of the cookie value (`'s:'` reads express-session cookies). Default ''.
   * @defaultValue ''
   */
  cookiePrefix?: string;
  /**
   * Cookie attributes (lifetimes in milliseconds, as @fastify/session).
   * @defaultValue `{ httpOnly: true, secure: true, path: '/' }`, SameSite Lax, no `maxAge`
   */
  cookie?: FastifyCookieOptions;
  /**
   * Where sessions live: a Tessera store (patches, hashed IDs, device list) or a
   * @fastify/session / express-session store (`get`/`set`/`destroy` with callbacks). Default:
   * an in-memory callback store, as @fastify/session (one process only; not for production).
   * @defaultValue a `MemoryStore` (callback store, one process, as @fastify/session)
   */
  store?: Store | CallbackStore;
  /**
   * An existing Tessera session manager (its store and timeouts); replaces `store`.
   * @defaultValue one made from `store` and the timeout options (Tessera stores)
   */
  manager?: SessionManager;
  /**
   * Store sessions nobody wrote to. Default true, as @fastify/session.
   * @defaultValue true (as @fastify/session)
   */
  saveUninitialized?: boolean;
  /**
   * Save the session and send the cookie on every response. Default true, as @fastify/session.
   * @defaultValue true (as @fastify/session)
   */
  rolling?: boolean;
  /**
   * New session IDs (callback stores only: Tessera stores issue 256-bit IDs and keep their hash).
   * @defaultValue 24 random bytes, 32 characters (as @fastify/session)
   */
  idGenerator?: IdGenerator;
  /**
   * CSRF guard for unsafe methods on requests with a session cookie: on by default
   * (`Sec-Fetch-Site`, else `Origin`/`Referer`); `false` turns it off (@fastify/session has none).
   * @defaultValue on, `{ allowedOrigins: [], trustFetchMetadata: true }`
   */
  csrf?: false | { allowedOrigins?: string[]; trustFetchMetadata?: boolean };
  /**
   * A session that would be saved but whose Secure cookie meets plain HTTP: false (default)
   * saves nothing and warns once (as @fastify/session, plus the warning); true fails the
   * request with `ERR_CONFIG`.
   * @defaultValue false
   */
  strictCookies?: boolean;
  /**
   * Device-bound sessions (DBSC): `true` or options turn them on (Tessera stores only). Every
   * sign-in then offers Chromium a key-bound session, and a bound session's requests count
   * only with its short-lived bound cookie (docs/bound-sessions.md).
   * @defaultValue false: sessions are not device-bound
   */
  dbsc?: boolean | DbscOptions;
  /**
   * Receives warnings; default the Fastify instance's logger.
   * @defaultValue the Fastify instance's logger
   */
  logger?: SessionLogger;
  /**
   * Clock in milliseconds (tests). Default `Date.now`.
   * @defaultValue Date.now
   */
  now?: () => number;
}

/** The options after validation and defaults. */
export interface ResolvedFastifyOptions {
  signer: CookieSigner;
  cookieName: string;
  cookiePrefix: string;
  cookie: FastifyCookieOptions;
  /** SameSite=Lax when the app sets none (`cookie.sameSite: false` sends none). */
  defaultLax: boolean;
  saveUninitialized: boolean;
  rolling: boolean;
  idGenerator: IdGenerator | undefined;
  csrf: FastifySessionPluginOptions['csrf'];
  strictCookies: boolean;
  dbsc: DbscOptions | null;
  managerOptions: Omit<SessionManagerOptions, 'store'>;
  store: Store | CallbackStore | undefined;
  manager: SessionManager | undefined;
  logger: SessionLogger | undefined;
  now: () => number;
}

const MANAGER_KEYS = [
  'idleTimeout',
  'absoluteTimeout',
  'touchInterval',
  'maxSessionsPerUser',
  'onSessionLimit',
  'storeTimeout',
  'onAnomaly',
] as const;

const PLUGIN_KEYS: readonly string[] = [
  'secret',
  'algorithm',
  'cookieName',
  'cookiePrefix',
  'cookie',
  'store',
  'manager',
  'saveUninitialized',
  'rolling',
  'idGenerator',
  'csrf',
  'strictCookies',
  'dbsc',
  'logger',
  'now',
  ...MANAGER_KEYS,
];

const COOKIE_KEYS: readonly string[] = [
  'maxAge',
  'expires',
  'path',
  'domain',
  'httpOnly',
  'secure',
  'sameSite',
  'partitioned',
  'priority',
];

function configError(message: string): TesseraError {
  return new TesseraError('ERR_CONFIG', message);
}

/** The secret checks and messages of @fastify/session. */
function signerOf(secret: unknown, algorithm: string): CookieSigner {
  if (typeof secret === 'string') {
    if (secret.length < 32) throw configError('the secret must have length 32 or greater');
    return createSigner([secret], algorithm);
  }
  if (Array.isArray(secret)) {
    if (secret.length === 0) throw configError('at least one secret is required');
    return createSigner(secret, algorithm);
  }
  if (isSigner(secret)) return secret;
  throw configError(
    'the secret option is required, and must be a String, Array of Strings, or a signer object with .sign and .unsign methods',
  );
}

/**
 * Checks cookie options (also those of `session.options()`): known names, sane values.
 * @example checkCookieOptions({ maxAge: 3_600_000 }, 'cookie')
 */
export function checkCookieOptions(cookie: unknown, where: string): FastifyCookieOptions {
  if (cookie === undefined || cookie === null) return {};
  if (typeof cookie !== 'object') throw configError(`${where} must be an object of cookie options`);
  // Not the kit's rejectUnknownOptions: @fastify/session users see `cookie.<name>` (and
  // `request.session.options.<name>`) in the message, which the compatibility tests pin.
  for (const name of Object.keys(cookie)) {
    if (!COOKIE_KEYS.includes(name)) {
      throw configError(
        `${where}.${name} is not a cookie option this plugin supports (supported: ${COOKIE_KEYS.join(', ')})`,
      );
    }
  }
  const options = { ...(cookie as FastifyCookieOptions) };
  // @fastify/session sends Secure for any truthy value; the string 'true' is read as true.
  if ((options.secure as unknown) === 'true') options.secure = true;
  const maxAge = options.maxAge;
  if (maxAge !== undefined && maxAge !== null && (typeof maxAge !== 'number' || !(maxAge >= 0))) {
    throw configError(`${where}.maxAge must be a number of milliseconds`);
  }
  const secure = options.secure;
  if (secure !== undefined && typeof secure !== 'boolean' && secure !== 'auto') {
    throw configError(`${where}.secure must be true, false or 'auto'`);
  }
  const sameSite = typeof options.sameSite === 'string' ? options.sameSite.toLowerCase() : null;
  if (sameSite === 'none' && secure === false) {
    throw configError(
      `${where}: sameSite 'none' needs a Secure cookie (browsers drop it otherwise); use secure: true or 'auto'`,
    );
  }
  return options;
}

function checkFlag(options: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw configError(`${name} must be true or false`);
  return value;
}

function checkStore(store: unknown, manager: unknown): void {
  if (manager !== undefined && store !== undefined) {
    throw configError('pass either manager or store, not both (the manager already has a store)');
  }
  if (store === undefined || store === null) return;
  const tessera = typeof (store as Store).patch === 'function';
  if (!tessera && !isCallbackStore(store)) {
    throw configError(
      'store must be a Tessera store or a session store with get(id, cb), set(id, session, cb) and destroy(id, cb)',
    );
  }
}

/**
 * Validates the plugin's options and applies @fastify/session's defaults.
 * @example const resolved = resolveFastifyOptions({ secret: process.env.SESSION_SECRET });
 */
export function resolveFastifyOptions(input: unknown): ResolvedFastifyOptions {
  const options = (input ?? {}) as Record<string, unknown>;
  rejectUnknownOptions('tessera-session/fastify', options, PLUGIN_KEYS, ' (see docs/fastify.md)');
  const algorithm = options.algorithm ?? 'sha256';
  if (typeof algorithm !== 'string')
    throw configError("algorithm must be a hash name, e.g. 'sha256'");
  const signer = signerOf(options.secret, algorithm);
  const cookie = { ...checkCookieOptions(options.cookie, 'cookie') };
  if (cookie.secure === undefined) cookie.secure = true;
  const cookieName = options.cookieName ?? 'sessionId';
  const cookiePrefix = options.cookiePrefix ?? '';
  if (typeof cookieName !== 'string' || cookieName === '')
    throw configError('cookieName must be a non-empty string');
  if (typeof cookiePrefix !== 'string') throw configError('cookiePrefix must be a string');
  const idGenerator = options.idGenerator;
  if (idGenerator !== undefined && typeof idGenerator !== 'function') {
    throw configError('idGenerator must be a function returning a session ID');
  }
  checkStore(options.store, options.manager);
  const now = (options.now as (() => number) | undefined) ?? Date.now;
  if (typeof now !== 'function') throw configError('now must be a function returning milliseconds');
  const managerOptions: Omit<SessionManagerOptions, 'store'> = { now };
  for (const name of MANAGER_KEYS) {
    if (options[name] !== undefined) Object.assign(managerOptions, { [name]: options[name] });
  }
  return {
    signer,
    cookieName,
    cookiePrefix,
    cookie,
    defaultLax: cookie.sameSite !== false,
    saveUninitialized: checkFlag(options, 'saveUninitialized', true),
    rolling: checkFlag(options, 'rolling', true),
    idGenerator: idGenerator as IdGenerator | undefined,
    csrf: options.csrf as FastifySessionPluginOptions['csrf'],
    strictCookies: checkFlag(options, 'strictCookies', false),
    dbsc: dbscOption(options.dbsc),
    managerOptions,
    store: options.store as Store | CallbackStore | undefined,
    manager: options.manager as SessionManager | undefined,
    logger: options.logger as SessionLogger | undefined,
    now,
  };
}

function dbscOption(value: unknown): DbscOptions | null {
  if (value === undefined || value === false) return null;
  if (value === true) return {};
  if (typeof value !== 'object' || value === null) {
    throw configError('dbsc must be true, false or an options object');
  }
  return value as DbscOptions;
}
