/**
 * The options of `tessera-session/express`: express-session's own, with express-session's
 * defaults and deprecation notices, plus Tessera's. Validated once, when the middleware is
 * created; an option nobody honours is an `ERR_CONFIG` naming it.
 */

import type { AnomalyAction } from '../../core/events.js';
import type { SessionManager } from '../../core/manager.js';
import type { DbscOptions } from '../../http/dbsc.js';
import { type DeprecationSink, processDeprecation } from '../../http/kit/deprecate.js';
import { rejectUnknownOptions } from '../../http/kit/unknown-options.js';
import type { SessionLogger } from '../../http/request-session.js';
import { TesseraError } from '../../shared/errors.js';
import type { Store as TesseraStore } from '../../stores/store.js';
import type { CookieOptions } from './cookie.js';
import { isLegacyStore, type LegacyStore } from './internal/legacy-manager.js';

/** A secret that signs the cookie: a string or a Buffer. */
export type SessionSecret = string | Buffer;

/** Options of `session(options)`. */
export interface ExpressSessionOptions {
  /**
   * Signs the cookie: a string, a Buffer or an array of them (the first signs, every one
   * verifies). Without it, `req.secret` (set by cookie-parser) is used, as express-session does.
   * @defaultValue none: `req.secret`, else the "secret option required for sessions" error
   */
  secret?: SessionSecret | SessionSecret[];
  /**
   * Cookie name.
   * @defaultValue 'connect.sid'
   */
  name?: string;
  /**
   * express-session's older name for `name`.
   * @defaultValue unset (`name` is used)
   */
  key?: string;
  /**
   * Tessera addition: name the cookie `__Host-<name>` whenever it is `Secure`, so no
   * subdomain or plain-HTTP page can set or overwrite it. Needs `cookie.path` '/' and no
   * `cookie.domain`.
   * @defaultValue false (express-session's cookie name)
   */
  hostPrefix?: boolean;
  /**
   * Cookie settings, or a function of the request returning them (express-session 1.18);
   * `maxAge` in **milliseconds** (the same unit in every Tessera adapter).
   * @defaultValue `{ path: '/', httpOnly: true, secure: false, maxAge: null }`
   */
  cookie?: CookieOptions | ((req: unknown) => CookieOptions);
  /**
   * Save a session nobody changed back to the store.
   * @defaultValue true, with express-session's deprecation notice when left undefined
   */
  resave?: boolean;
  /**
   * Store new sessions nobody changed.
   * @defaultValue true, with express-session's deprecation notice when left undefined
   */
  saveUninitialized?: boolean;
  /**
   * Send the cookie on every response (resetting its `maxAge`).
   * @defaultValue false
   */
  rolling?: boolean;
  /**
   * A Tessera store (e.g. `createRedisStore()`) or any express-session store (`get`, `set`,
   * `destroy`, optional `touch`, e.g. connect-redis).
   * @defaultValue a Tessera memory store (one process; a warning in production)
   */
  store?: TesseraStore | LegacyStore;
  /**
   * A Tessera session manager to use (its store and timeouts win over `store` and the
   * timeout options), so an app can share one manager, and its events, with its own code.
   * @defaultValue one made from `store` and the timeout options
   */
  manager?: SessionManager;
  /**
   * Session ID generator, `genid(req)`; with a Tessera store only its hash is stored.
   * @defaultValue 256 random bits, base64url
   */
  genid?: (req: unknown) => string;
  /**
   * Trust `X-Forwarded-Proto` (true), never (false), or follow Express's `req.secure` (unset).
   * @defaultValue undefined (Express's `req.secure`)
   */
  proxy?: boolean;
  /**
   * When `req.session` is unset: 'keep' the stored session or 'destroy' it.
   * @defaultValue 'keep'
   */
  unset?: 'keep' | 'destroy';
  /**
   * Tessera stores: idle timeout in seconds (sliding).
   * @defaultValue a session with a persistent cookie lives as long as its cookie; one with a browser-session cookie 1800 s after last use
   */
  idleTimeout?: number;
  /**
   * Tessera stores: absolute lifetime in seconds from creation or sign-in; never extended.
   * @defaultValue none (the cookie's lifetime rules)
   */
  absoluteTimeout?: number;
  /**
   * Tessera stores: least time in seconds between two expiry-sliding writes of an unchanged session.
   * @defaultValue a tenth of `idleTimeout`, at most 60 (seconds)
   */
  touchInterval?: number;
  /**
   * Tessera stores: most sessions per user (a count).
   * @defaultValue no limit
   */
  maxSessionsPerUser?: number;
  /**
   * Tessera stores: what to do at the per-user limit.
   * @defaultValue 'evict-oldest'
   */
  onSessionLimit?: 'evict-oldest' | 'refuse';
  /**
   * Tessera stores: reaction to a signed-in session used from another browser or network.
   * @defaultValue 'note'
   */
  onAnomaly?: AnomalyAction;
  /**
   * Most time in **milliseconds** a store call may take (also legacy callbacks) before the
   * request fails with 503.
   * @defaultValue 2000 (milliseconds)
   */
  storeTimeout?: number;
  /**
   * CSRF guard for unsafe requests carrying the session cookie; `false` turns it off.
   * @defaultValue on, `{ allowedOrigins: [], trustFetchMetadata: true }`
   */
  csrf?: false | { allowedOrigins?: string[]; trustFetchMetadata?: boolean };
  /**
   * A cookie that cannot be set (Secure on plain HTTP): warn once (false) or fail the request (true).
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
   * Where warnings go.
   * @defaultValue console
   */
  logger?: SessionLogger;
  /**
   * Where deprecation notices go.
   * @defaultValue stderr, as the `depd` package prints them
   */
  deprecate?: DeprecationSink;
  /**
   * Clock in milliseconds since the epoch, for server-side timeouts (tests).
   * @defaultValue Date.now
   */
  now?: () => number;
}

export interface ResolvedExpressOptions {
  /** null: `req.secret` per request (express-session's fallback). */
  secrets: SessionSecret[] | null;
  name: string;
  hostPrefix: boolean;
  /** The configured cookie settings (defaults filled), or a function giving them per request. */
  cookie: CookieOptions | ((req: unknown) => CookieOptions);
  resave: boolean;
  saveUninitialized: boolean;
  rolling: boolean;
  store: { kind: 'tessera'; store: TesseraStore } | { kind: 'legacy'; store: LegacyStore } | null;
  genid: ((req: unknown) => string) | undefined;
  proxy: boolean | undefined;
  unset: 'keep' | 'destroy';
  storeTimeout: number;
  logger: SessionLogger;
  production: boolean;
}

const KNOWN_OPTIONS = [
  // express-session's
  'secret',
  'name',
  'key',
  'cookie',
  'resave',
  'saveUninitialized',
  'rolling',
  'store',
  'genid',
  'proxy',
  'unset',
  // Tessera's
  'hostPrefix',
  'manager',
  'idleTimeout',
  'absoluteTimeout',
  'touchInterval',
  'maxSessionsPerUser',
  'onSessionLimit',
  'onAnomaly',
  'storeTimeout',
  'csrf',
  'strictCookies',
  'dbsc',
  'logger',
  'deprecate',
  'now',
] as const;

/** The cookie settings express-session honours (`originalMaxAge` comes back from stored cookies). */
const COOKIE_KEYS = [
  'maxAge',
  'expires',
  'httpOnly',
  'secure',
  'sameSite',
  'path',
  'domain',
  'partitioned',
  'priority',
  'originalMaxAge',
] as const;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const MIN_SECRET = 32;
const NAMESPACE = 'tessera-session/express';

function fail(option: string, message: string): never {
  throw new TesseraError('ERR_CONFIG', `session(): ${option} ${message}`);
}

/** True when `value` has the shape of a Tessera store. */
export function isTesseraStore(value: unknown): value is TesseraStore {
  const store = value as Partial<TesseraStore> | null;
  return (
    typeof store === 'object' &&
    store !== null &&
    typeof store.kind === 'string' &&
    typeof store.patch === 'function' &&
    typeof store.kvGet === 'function'
  );
}

/** express-session's rule: undefined means true, with a deprecation notice. */
function flag(
  options: ExpressSessionOptions,
  name: 'resave' | 'saveUninitialized',
  deprecate: DeprecationSink,
): boolean {
  const value = options[name];
  if (value === undefined) {
    deprecate(NAMESPACE, `undefined ${name} option; provide ${name} option`);
    return true;
  }
  if (typeof value !== 'boolean') fail(name, 'must be true or false');
  return value;
}

function secretLength(secret: SessionSecret): number {
  return typeof secret === 'string' ? secret.length : secret.byteLength;
}

function resolveSecrets(
  secret: unknown,
  logger: SessionLogger,
  production: boolean,
  deprecate: DeprecationSink,
): SessionSecret[] | null {
  if (secret === undefined || secret === null || secret === '') {
    deprecate(NAMESPACE, 'req.secret; provide secret option');
    return null;
  }
  if (Array.isArray(secret) && secret.length === 0) {
    fail('secret', 'option array must contain one or more strings');
  }
  const list: unknown[] = Array.isArray(secret) ? secret : [secret];
  for (const entry of list) {
    const ok =
      (typeof entry === 'string' && entry !== '') ||
      (Buffer.isBuffer(entry) && entry.byteLength > 0);
    if (!ok) fail('secret', 'must be a non-empty string or Buffer, or an array of them');
  }
  const secrets = list as SessionSecret[];
  if (secrets.some((entry) => secretLength(entry) < MIN_SECRET)) {
    const advice =
      `a secret shorter than ${MIN_SECRET} characters can be guessed offline; generate one with ` +
      `node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"`;
    if (production) throw new TesseraError('ERR_KEY_WEAK', `session(): secret: ${advice}`);
    logger.warn(`tessera: session() secret: ${advice} (refused when NODE_ENV=production)`);
  }
  return secrets;
}

/**
 * Checks one set of cookie settings and fills express-session's defaults. Used at start-up
 * for an object and per request for the result of a `cookie` function.
 * @example resolveCookie({ maxAge: 60_000 }) // { path: '/', httpOnly: true, secure: false, maxAge: 60000 }
 */
export function resolveCookie(cookie: unknown, option = 'cookie'): CookieOptions {
  if (cookie === undefined || cookie === null) cookie = {};
  if (typeof cookie !== 'object') fail(option, 'must be an object of cookie settings');
  rejectUnknownOptions(`session(): ${option}`, cookie as object, COOKIE_KEYS);
  const given = Object.fromEntries(
    Object.entries(cookie as CookieOptions).filter(([, value]) => value !== undefined),
  );
  const resolved: CookieOptions = { path: '/', httpOnly: true, secure: false, ...given };
  const { secure, sameSite, maxAge, expires, path } = resolved;
  if (secure !== true && secure !== false && secure !== 'auto')
    fail(`${option}.secure`, "must be true, false or 'auto'");
  if (typeof path !== 'string' || !path.startsWith('/'))
    fail(`${option}.path`, "must be an absolute path such as '/'");
  if (
    maxAge !== undefined &&
    maxAge !== null &&
    (typeof maxAge !== 'number' || Number.isNaN(maxAge))
  )
    fail(
      `${option}.maxAge`,
      'must be a number of milliseconds (or null for a browser-session cookie)',
    );
  if (expires !== undefined && expires !== null && Number.isNaN(new Date(expires).valueOf()))
    fail(`${option}.expires`, 'must be a Date (prefer maxAge)');
  const lower = typeof sameSite === 'string' ? sameSite.toLowerCase() : sameSite;
  if (![undefined, true, false, 'lax', 'strict', 'none', 'auto'].includes(lower as never))
    fail(`${option}.sameSite`, "must be 'lax', 'strict', 'none', 'auto', true or false");
  return resolved;
}

function resolveStore(value: unknown): ResolvedExpressOptions['store'] {
  if (value === undefined) return null;
  if (isTesseraStore(value)) return { kind: 'tessera', store: value };
  if (isLegacyStore(value)) return { kind: 'legacy', store: value };
  return fail(
    'store',
    'must be a Tessera store (e.g. createRedisStore()) or an express-session store with get, set and destroy',
  );
}

function resolveName(options: ExpressSessionOptions): string {
  const name = options.name || options.key || 'connect.sid';
  if (typeof name !== 'string' || !TOKEN.test(name)) {
    fail('name', "must be a cookie-name token such as 'connect.sid' (no spaces, '=', ';' or ',')");
  }
  return name;
}

/** Validates the options of `session()`. */
export function resolveExpressOptions(options: ExpressSessionOptions): ResolvedExpressOptions {
  const opts = (options ?? {}) as ExpressSessionOptions;
  if (typeof opts !== 'object') fail('options', 'must be an object');
  rejectUnknownOptions('session()', opts, KNOWN_OPTIONS);
  const logger = opts.logger ?? console;
  if (typeof logger.warn !== 'function')
    fail('logger', 'must have a warn(message) method, e.g. console');
  const deprecate = opts.deprecate ?? processDeprecation(['express-session']);
  if (typeof deprecate !== 'function') fail('deprecate', 'must be a function (namespace, message)');
  const production = process.env.NODE_ENV === 'production';
  if (opts.genid !== undefined && typeof opts.genid !== 'function')
    fail('genid', 'option must be a function (req) => string');
  const resave = flag(opts, 'resave', deprecate);
  const saveUninitialized = flag(opts, 'saveUninitialized', deprecate);
  if (opts.unset !== undefined && opts.unset !== 'keep' && opts.unset !== 'destroy')
    fail('unset', 'option must be "destroy" or "keep"');
  const secrets = resolveSecrets(opts.secret, logger, production, deprecate);
  const name = resolveName(opts);
  const hostPrefix = opts.hostPrefix ?? false;
  if (typeof hostPrefix !== 'boolean') fail('hostPrefix', 'must be true or false');
  const cookie = typeof opts.cookie === 'function' ? opts.cookie : resolveCookie(opts.cookie);
  if (
    hostPrefix &&
    typeof cookie !== 'function' &&
    (cookie.domain !== undefined || (cookie.path ?? '/') !== '/')
  ) {
    fail('hostPrefix', "cannot be used with cookie.domain or a cookie.path other than '/'");
  }
  if (opts.rolling !== undefined && typeof opts.rolling !== 'boolean')
    fail('rolling', 'must be true or false');
  if (opts.proxy !== undefined && typeof opts.proxy !== 'boolean')
    fail('proxy', 'must be true or false (or unset)');
  const storeTimeout = opts.storeTimeout ?? 2000;
  if (typeof storeTimeout !== 'number' || !(storeTimeout > 0))
    fail('storeTimeout', 'must be a positive number of milliseconds');
  return {
    secrets,
    name,
    hostPrefix,
    cookie,
    resave,
    saveUninitialized,
    rolling: opts.rolling ?? false,
    store: resolveStore(opts.store),
    genid: opts.genid,
    proxy: opts.proxy,
    unset: opts.unset ?? 'keep',
    storeTimeout,
    logger,
    production,
  };
}
