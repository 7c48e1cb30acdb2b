/**
 * The options of `tessera-session/express`: express-session's own, plus Tessera's. Validated once,
 * when the middleware is created, with messages that name the option and the fix.
 */

import type { AnomalyAction } from '../../core/events.js';
import type { SessionManager } from '../../core/manager.js';
import type { SessionLogger } from '../../http/request-session.js';
import { TesseraError } from '../../shared/errors.js';
import type { Store as TesseraStore } from '../../stores/store.js';
import type { CookieOptions } from './cookie.js';
import { isLegacyStore, type LegacyStore } from './internal/legacy-manager.js';

/** Options of `session(options)`. */
export interface ExpressSessionOptions {
  /** Signs the cookie: a string or an array (the first signs, every one verifies). Required. */
  secret: string | string[];
  /**
   * Cookie name.
   * @defaultValue 'connect.sid'
   */
  name?: string;
  /**
   * Tessera addition: name the cookie `__Host-<name>` whenever it is `Secure` (HTTPS, or
   * `cookie.secure: 'auto'` behind a trusted proxy), so no subdomain or plain-HTTP page can
   * set or overwrite it. Off by default to keep express-session's cookie name; needs
   * `cookie.path` '/' and no `cookie.domain`.
   * @defaultValue false
   */
  hostPrefix?: boolean;
  /**
   * Cookie settings, as express-session's: `maxAge` in **milliseconds** (the same unit in
   * every Tessera adapter).
   * @defaultValue `{ httpOnly: true, secure: 'auto', sameSite: 'lax', path: '/' }`, no `maxAge` (a browser-session cookie)
   */
  cookie?: CookieOptions;
  /**
   * Write back sessions nobody changed (express-session's `resave`).
   * @defaultValue false (express-session: true)
   */
  resave?: boolean;
  /**
   * Store new sessions nobody changed.
   * @defaultValue false (express-session: true)
   */
  saveUninitialized?: boolean;
  /**
   * Send the cookie on every response (resetting its `maxAge`).
   * @defaultValue false
   */
  rolling?: boolean;
  /**
   * A Tessera store (e.g. `createRedisStore()`) or any express-session store (`get`, `set`,
   * `destroy`, optional `touch`, e.g. a connect-redis instance).
   * @defaultValue a Tessera memory store (one process; a warning in production)
   */
  store?: TesseraStore | LegacyStore;
  /**
   * A Tessera session manager to use (its store and timeouts win over `store` and the
   * timeout options), so an app can share one manager, and its events, between the
   * middleware and its own code.
   * @defaultValue one made from `store` and the timeout options
   */
  manager?: SessionManager;
  /**
   * Session ID generator, `genid(req)`: used with express-session stores only.
   * @defaultValue 256 random bits, base64url
   */
  genid?: (req: unknown) => string;
  /**
   * Trust `X-Forwarded-Proto` (true), never (false), or follow Express's 'trust proxy' (unset).
   * @defaultValue undefined (Express's 'trust proxy' setting)
   */
  proxy?: boolean;
  /**
   * When `req.session` is unset: 'keep' the stored session or 'destroy' it.
   * @defaultValue 'keep'
   */
  unset?: 'keep' | 'destroy';
  /**
   * Tessera stores: idle timeout in seconds (sliding).
   * @defaultValue 1800 (30 minutes)
   */
  idleTimeout?: number;
  /**
   * Tessera stores: absolute lifetime in seconds from creation or sign-in; never extended.
   * @defaultValue 43200 (12 hours)
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
   * Where warnings go.
   * @defaultValue console
   */
  logger?: SessionLogger;
  /**
   * Clock in milliseconds since the epoch, for server-side timeouts (tests).
   * @defaultValue Date.now
   */
  now?: () => number;
}

export interface ResolvedExpressOptions {
  secrets: [string, ...string[]];
  name: string;
  hostPrefix: boolean;
  cookie: CookieOptions;
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

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const MIN_SECRET = 32;

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

function boolean(
  options: ExpressSessionOptions,
  name: 'resave' | 'saveUninitialized' | 'rolling',
): boolean {
  const value = options[name];
  if (value === undefined) return false;
  if (typeof value !== 'boolean') fail(name, 'must be true or false');
  return value;
}

function resolveSecrets(
  secret: unknown,
  logger: SessionLogger,
  production: boolean,
): [string, ...string[]] {
  const list = typeof secret === 'string' ? [secret] : secret;
  if (!Array.isArray(list) || list.length === 0) {
    fail(
      'secret',
      'is required: a string of at least 32 random characters, or an array of them (the first signs)',
    );
  }
  for (const entry of list) {
    if (typeof entry !== 'string' || entry === '')
      fail('secret', 'must contain only non-empty strings');
  }
  const short = list.some((entry: string) => entry.length < MIN_SECRET);
  if (short) {
    const advice =
      `a secret shorter than ${MIN_SECRET} characters can be guessed offline; generate one with ` +
      `node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"`;
    if (production) throw new TesseraError('ERR_KEY_WEAK', `session(): secret: ${advice}`);
    logger.warn(`tessera: session() secret: ${advice} (refused when NODE_ENV=production)`);
  }
  return list as [string, ...string[]];
}

function resolveCookie(cookie: unknown): CookieOptions {
  if (cookie === undefined) return { httpOnly: true, secure: 'auto', sameSite: 'lax', path: '/' };
  if (typeof cookie !== 'object' || cookie === null)
    fail('cookie', 'must be an object of cookie settings');
  const c = cookie as CookieOptions;
  const resolved: CookieOptions = {
    httpOnly: true,
    secure: 'auto',
    sameSite: 'lax',
    path: '/',
    ...Object.fromEntries(Object.entries(c).filter(([, value]) => value !== undefined)),
  };
  const { secure, sameSite, maxAge, expires, path } = resolved;
  if (secure !== true && secure !== false && secure !== 'auto')
    fail('cookie.secure', "must be true, false or 'auto'");
  if (typeof path !== 'string' || !path.startsWith('/'))
    fail('cookie.path', "must be an absolute path such as '/'");
  if (maxAge !== undefined && maxAge !== null && (typeof maxAge !== 'number' || !(maxAge > 0))) {
    fail(
      'cookie.maxAge',
      'must be a positive number of milliseconds (or null for a browser-session cookie)',
    );
  }
  if (expires !== undefined && expires !== null && Number.isNaN(new Date(expires).valueOf())) {
    fail('cookie.expires', 'must be a Date (prefer maxAge)');
  }
  const lowerSameSite = typeof sameSite === 'string' ? sameSite.toLowerCase() : sameSite;
  if (![true, false, 'lax', 'strict', 'none'].includes(lowerSameSite as never)) {
    fail('cookie.sameSite', "must be 'lax', 'strict', 'none', true or false");
  }
  if (lowerSameSite === 'none' && secure !== true) {
    fail(
      'cookie.sameSite',
      "'none' needs cookie.secure: true (browsers drop it otherwise); use 'lax' or set secure: true",
    );
  }
  if (resolved.partitioned === true && secure !== true) {
    fail('cookie.partitioned', 'needs cookie.secure: true');
  }
  return resolved;
}

/** Validates the options of `session()`. */
export function resolveExpressOptions(options: ExpressSessionOptions): ResolvedExpressOptions {
  if (typeof options !== 'object' || options === null) {
    fail('options', 'are required, e.g. session({ secret: process.env.SESSION_SECRET })');
  }
  const logger = options.logger ?? console;
  if (typeof logger.warn !== 'function')
    fail('logger', 'must have a warn(message) method, e.g. console');
  const production = process.env.NODE_ENV === 'production';
  const secrets = resolveSecrets(options.secret, logger, production);
  const name = options.name ?? 'connect.sid';
  if (typeof name !== 'string' || !TOKEN.test(name)) {
    fail('name', "must be a cookie-name token such as 'connect.sid' (no spaces, '=', ';' or ',')");
  }
  const hostPrefix = options.hostPrefix ?? false;
  if (typeof hostPrefix !== 'boolean') fail('hostPrefix', 'must be true or false');
  const cookie = resolveCookie(options.cookie);
  if (hostPrefix && (cookie.domain !== undefined || (cookie.path ?? '/') !== '/')) {
    fail('hostPrefix', "cannot be used with cookie.domain or a cookie.path other than '/'");
  }
  let store: ResolvedExpressOptions['store'] = null;
  if (options.store !== undefined) {
    if (isTesseraStore(options.store)) store = { kind: 'tessera', store: options.store };
    else if (isLegacyStore(options.store)) store = { kind: 'legacy', store: options.store };
    else {
      fail(
        'store',
        'must be a Tessera store (e.g. createRedisStore()) or an express-session store with get, set and destroy',
      );
    }
  }
  if (options.genid !== undefined && typeof options.genid !== 'function')
    fail('genid', 'must be a function (req) => string');
  if (options.proxy !== undefined && typeof options.proxy !== 'boolean')
    fail('proxy', 'must be true or false (or unset)');
  const unset = options.unset ?? 'keep';
  if (unset !== 'keep' && unset !== 'destroy') fail('unset', "must be 'keep' or 'destroy'");
  const storeTimeout = options.storeTimeout ?? 2000;
  if (typeof storeTimeout !== 'number' || !(storeTimeout > 0))
    fail('storeTimeout', 'must be a positive number of milliseconds');
  return {
    secrets,
    name,
    hostPrefix,
    cookie,
    resave: boolean(options, 'resave'),
    saveUninitialized: boolean(options, 'saveUninitialized'),
    rolling: boolean(options, 'rolling'),
    store,
    genid: options.genid,
    proxy: options.proxy,
    unset,
    storeTimeout,
    logger,
    production,
  };
}
