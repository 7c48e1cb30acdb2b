/**
 * Cookie attributes shared by the codec and the sealer: validated once at construction,
 * then resolved per request (Secure and the name prefix depend on whether the request
 * arrived over HTTPS when `secure` is 'auto').
 */
import { serialize } from 'cookie';
import { TesseraError } from '../../shared/errors.js';

/**
 * Largest cookie a browser keeps (RFC 6265bis: name plus value), in bytes.
 * @example if (Buffer.byteLength(line) > MAX_COOKIE_BYTES) split(line);
 */
export const MAX_COOKIE_BYTES = 4096;

/** Browsers cap a cookie's lifetime at 400 days. */
const MAX_AGE_CAP_SECONDS = 400 * 24 * 60 * 60;

// RFC 7230 token: the cookie-name grammar of RFC 6265.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export type CookiePrefix = '__Host-' | '__Secure-';
export type SameSite = 'lax' | 'strict' | 'none';

/** Set-Cookie attributes a caller may configure. */
export interface CookieAttributeOptions {
  /**
   * `Path`.
   * @defaultValue '/'
   */
  path?: string;
  /**
   * `Domain`. Setting it rules out the `__Host-` prefix.
   * @defaultValue none: a host-only cookie
   */
  domain?: string;
  /**
   * `HttpOnly`: scripts cannot read the cookie.
   * @defaultValue true
   */
  httpOnly?: boolean;
  /**
   * `SameSite`: 'lax' (default), 'strict' or 'none' in any letter case; or, as
   * express-session accepts, `true` (strict) and `false` (attribute not set).
   * 'none' requires `secure: true`.
   * @defaultValue 'lax'
   */
  sameSite?: SameSite | 'Lax' | 'Strict' | 'None' | boolean;
  /**
   * `Secure`: true, false, or 'auto' (default): set exactly when the request arrived over
   * HTTPS (the adapter passes `isSecure`).
   * @defaultValue 'auto'
   */
  secure?: boolean | 'auto';
  /**
   * `Partitioned` (CHIPS); requires `secure: true`.
   * @defaultValue false
   */
  partitioned?: boolean;
  /**
   * Name prefix: 'auto' (default) adds `__Host-` (or `__Secure-` when `domain` or a path
   * other than '/' is set) whenever the cookie is Secure; an explicit prefix is always
   * applied and makes the cookie always Secure; false never adds one.
   * @defaultValue 'auto'
   */
  prefix?: 'auto' | CookiePrefix | false;
  /**
   * Default lifetime in seconds of a persistent ("remember me") cookie. Cookies are
   * session cookies (no `Max-Age`/`Expires`) unless a caller asks for a persistent one.
   * (The adapters' own `cookie.maxAge` options are milliseconds; this low-level codec option
   * is seconds, like the rest of Tessera's own durations.)
   * @defaultValue none
   */
  maxAge?: number;
}

/** Validated attributes. */
export interface ResolvedAttributes {
  path: string;
  domain: string | undefined;
  httpOnly: boolean;
  sameSite: SameSite | undefined;
  secure: boolean | 'auto';
  partitioned: boolean;
  prefix: 'auto' | CookiePrefix | false;
  maxAge: number | undefined;
}

/** What an adapter knows about the request being answered. */
export interface CookieRequestContext {
  /** True when the request arrived over HTTPS (directly or through a trusted proxy). */
  isSecure: boolean;
}

function fail(option: string, message: string): never {
  throw new TesseraError('ERR_CONFIG', `${option}: ${message}`);
}

/** Throws ERR_CONFIG unless `name` is a cookie-name token without a reserved prefix. */
export function validateCookieName(name: unknown, option: string): string {
  if (typeof name !== 'string' || !TOKEN.test(name)) {
    fail(
      option,
      "a cookie name must be a non-empty token of letters, digits and !#$%&'*+-.^_`|~ " +
        "(no spaces, '=', ';' or ','), such as 'tessera.sid'.",
    );
  }
  const lower = name.toLowerCase();
  if (lower.startsWith('__host-') || lower.startsWith('__secure-')) {
    fail(option, 'leave the prefix out of the name and set the `prefix` option instead.');
  }
  return name;
}

function resolveSameSite(
  value: unknown,
  option: string,
  allowAbsent: boolean,
): SameSite | undefined {
  if (value === undefined) return 'lax';
  if (value === true) return 'strict';
  if (value === false) {
    if (allowAbsent) return undefined;
    // Without the attribute a browser may send the cookie on cross-site top-level POSTs.
    return fail(
      `${option}.sameSite`,
      "false (no SameSite attribute) is refused: use 'lax' (default), 'strict' or 'none' with secure: true.",
    );
  }
  if (typeof value === 'string') {
    const lower = value.toLowerCase();
    if (lower === 'lax' || lower === 'strict' || lower === 'none') return lower;
  }
  return fail(
    `${option}.sameSite`,
    "use 'lax' (default), 'strict' or 'none' (or true for strict).",
  );
}

/** Checks a lifetime in seconds; `code` decides whether it is a config or argument error. */
export function checkMaxAge(
  value: unknown,
  option: string,
  code: 'ERR_CONFIG' | 'ERR_INVALID_ARGUMENT',
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new TesseraError(code, `${option} must be a positive whole number of seconds.`);
  }
  return Math.min(value, MAX_AGE_CAP_SECONDS);
}

/** Validates attribute options and refuses insecure or impossible combinations. */
export function resolveAttributes(
  options: CookieAttributeOptions,
  option: string,
  /** Drop-in adapters only: their peer accepts `sameSite: false` (no attribute). */
  peer: { allowNoSameSite?: boolean } = {},
): ResolvedAttributes {
  const path = options.path ?? '/';
  if (typeof path !== 'string' || !path.startsWith('/') || path.length > 1024) {
    fail(`${option}.path`, "use an absolute path such as '/' (at most 1024 characters).");
  }
  const domain = options.domain;
  if (
    domain !== undefined &&
    (typeof domain !== 'string' || domain === '' || domain.length > 1024)
  ) {
    fail(
      `${option}.domain`,
      "use a host name such as 'example.com', or leave it unset (host-only).",
    );
  }
  try {
    serialize('n', 'v', { path, domain });
  } catch {
    fail(`${option}`, `path '${path}' or domain '${domain}' is not valid in a Set-Cookie header.`);
  }
  const httpOnly = options.httpOnly ?? true;
  if (typeof httpOnly !== 'boolean') fail(`${option}.httpOnly`, 'use true (default) or false.');
  const secure = options.secure ?? 'auto';
  if (secure !== true && secure !== false && secure !== 'auto') {
    fail(`${option}.secure`, "use true, false or 'auto' (default).");
  }
  const sameSite = resolveSameSite(options.sameSite, option, peer.allowNoSameSite === true);
  const partitioned = options.partitioned ?? false;
  if (typeof partitioned !== 'boolean') fail(`${option}.partitioned`, 'use true or false.');
  const prefix = options.prefix ?? 'auto';
  if (prefix !== 'auto' && prefix !== '__Host-' && prefix !== '__Secure-' && prefix !== false) {
    fail(`${option}.prefix`, "use 'auto' (default), '__Host-', '__Secure-' or false.");
  }
  const maxAge =
    options.maxAge === undefined
      ? undefined
      : checkMaxAge(options.maxAge, `${option}.maxAge`, 'ERR_CONFIG');

  if (sameSite === 'none' && secure !== true) {
    fail(
      `${option}.sameSite`,
      'SameSite=None needs `secure: true` (browsers drop a cross-site cookie without Secure); ' +
        "set secure: true or use sameSite 'lax'.",
    );
  }
  if (partitioned && secure !== true) {
    fail(`${option}.partitioned`, 'a Partitioned cookie must be Secure; set secure: true.');
  }
  if (prefix !== 'auto' && prefix !== false && secure === false) {
    fail(
      `${option}.prefix`,
      `the '${prefix}' prefix requires Secure; remove secure: false or set prefix: false.`,
    );
  }
  if (prefix === '__Host-' && domain !== undefined) {
    fail(
      `${option}.prefix`,
      "a '__Host-' cookie cannot carry a Domain; remove domain or use prefix '__Secure-'.",
    );
  }
  if (prefix === '__Host-' && path !== '/') {
    fail(
      `${option}.prefix`,
      "a '__Host-' cookie must have path '/'; set path: '/' or use prefix '__Secure-'.",
    );
  }
  return { path, domain, httpOnly, sameSite, secure, partitioned, prefix, maxAge };
}

/** Whether the cookie carries `Secure` on this request. */
export function isSecureFor(attrs: ResolvedAttributes, context: CookieRequestContext): boolean {
  if (attrs.secure === 'auto') {
    return context.isSecure === true || (attrs.prefix !== 'auto' && attrs.prefix !== false);
  }
  return attrs.secure;
}

/** The name prefix on this request ('' when none). */
export function prefixFor(
  attrs: ResolvedAttributes,
  context: CookieRequestContext,
): '' | CookiePrefix {
  if (attrs.prefix === false) return '';
  if (attrs.prefix !== 'auto') return attrs.prefix;
  if (!isSecureFor(attrs, context)) return '';
  return attrs.domain === undefined && attrs.path === '/' ? '__Host-' : '__Secure-';
}

/**
 * A Set-Cookie header value. `maxAgeSeconds` makes it persistent (Max-Age plus Expires for
 * old clients); `remove` writes a deletion.
 */
export function buildSetCookie(
  name: string,
  value: string,
  attrs: ResolvedAttributes,
  context: CookieRequestContext,
  lifetime: { maxAgeSeconds?: number | undefined; nowMs: number; remove?: boolean },
): string {
  let maxAge: number | undefined;
  let expires: Date | undefined;
  if (lifetime.remove) {
    maxAge = 0;
    expires = new Date(0);
  } else if (lifetime.maxAgeSeconds !== undefined) {
    maxAge = lifetime.maxAgeSeconds;
    expires = new Date(lifetime.nowMs + lifetime.maxAgeSeconds * 1000);
  }
  return serialize(name, value, {
    encode: (v) => v,
    path: attrs.path,
    domain: attrs.domain,
    httpOnly: attrs.httpOnly,
    secure: isSecureFor(attrs, context),
    sameSite: attrs.sameSite,
    partitioned: attrs.partitioned,
    maxAge,
    expires,
  });
}
