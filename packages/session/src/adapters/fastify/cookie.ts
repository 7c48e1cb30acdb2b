/**
 * `request.session.cookie` as @fastify/session has it: the cookie settings of one session
 * (configured options, then what the store kept for it, then `session.options(...)`), with
 * `maxAge`/`expires`/`originalMaxAge` in milliseconds, `secure: 'auto'` resolved per request
 * (plain HTTP: not Secure, SameSite Lax), and the Set-Cookie it produces. Written for
 * Tessera from @fastify/session's documented behaviour.
 */
import { type SerializeOptions, serialize } from 'cookie';

/** Cookie options, as the plugin's `cookie` option and `session.options()` take them. */
export interface FastifyCookieOptions {
  /**
   * Lifetime in milliseconds (wins over `expires`).
   * @defaultValue none: a browser-session cookie
   */
  maxAge?: number;
  /**
   * A fixed expiry (`maxAge` wins when both are set).
   * @defaultValue none
   */
  expires?: Date | string | number;
  /**
   * `Path`.
   * @defaultValue '/'
   */
  path?: string;
  /**
   * `Domain`.
   * @defaultValue none: a host-only cookie
   */
  domain?: string;
  /**
   * `HttpOnly`.
   * @defaultValue true
   */
  httpOnly?: boolean;
  /**
   * Default true; `'auto'`: Secure on HTTPS only (then SameSite Lax on plain HTTP).
   * @defaultValue true
   */
  secure?: boolean | 'auto';
  /**
   * `SameSite`.
   * @defaultValue 'lax' (sent when unset); false sends none
   */
  sameSite?: boolean | 'lax' | 'strict' | 'none' | 'Lax' | 'Strict' | 'None';
  /**
   * `Partitioned` (CHIPS).
   * @defaultValue false
   */
  partitioned?: boolean;
  /**
   * `Priority`.
   * @defaultValue none
   */
  priority?: 'low' | 'medium' | 'high';
}

/** The cookie settings as stored with a session (JSON). */
export interface StoredCookie {
  expires?: string | Date | number | null;
  originalMaxAge?: number | null;
  originalExpires?: string | Date | null;
  sameSite?: FastifyCookieOptions['sameSite'] | null;
  secure?: boolean | 'auto' | null;
  path?: string;
  httpOnly?: boolean;
  domain?: string | null;
  partitioned?: boolean;
  priority?: FastifyCookieOptions['priority'];
  maxAge?: number;
}

/** Configured options and stored settings together (what a session's cookie is made from). */
export type CookieInput = Omit<FastifyCookieOptions, 'expires'> &
  Omit<StoredCookie, 'expires'> & { expires?: Date | string | number | null };

/** The session's cookie. */
export class SessionCookie {
  path: string;
  secure: boolean | null;
  sameSite: FastifyCookieOptions['sameSite'] | null;
  domain: string | null;
  httpOnly: boolean;
  partitioned: boolean | undefined;
  priority: FastifyCookieOptions['priority'] | undefined;
  /** The configured lifetime in milliseconds, or null. */
  originalMaxAge: number | null = null;
  /** The configured `expires`, when one was set. */
  originalExpires: Date | undefined;
  expires: Date | null = null;
  readonly #now: () => number;

  constructor(input: CookieInput, isHttps: boolean, now: () => number = Date.now) {
    this.#now = now;
    this.path = input.path || '/';
    this.secure = (input.secure as boolean | null | undefined) ?? null;
    this.sameSite = input.sameSite || null;
    this.domain = input.domain || null;
    this.httpOnly = input.httpOnly ?? true;
    this.partitioned = input.partitioned;
    this.priority = input.priority;
    if (input.expires) this.originalExpires = new Date(input.expires);
    const lifetime = input.originalMaxAge || input.maxAge || null;
    if (lifetime) this.maxAge = lifetime;
    else if (input.expires) this.expires = new Date(input.expires);
    if (input.secure === 'auto') {
      this.secure = isHttps;
      if (!isHttps) this.sameSite = 'lax';
    }
  }

  /** Milliseconds until `expires`, or null for a browser-session cookie. */
  get maxAge(): number | null {
    return this.expires instanceof Date ? this.expires.valueOf() - this.#now() : null;
  }

  set maxAge(ms: number | null) {
    if (ms === null) {
      this.expires = null;
      this.originalMaxAge = null;
      return;
    }
    this.expires = new Date(this.#now() + ms);
    this.originalMaxAge = ms;
  }

  /** The settings as stored with the session. */
  toJSON(): StoredCookie {
    const json: StoredCookie = {
      expires: this.expires,
      originalMaxAge: this.originalMaxAge,
      originalExpires: this.originalExpires,
      sameSite: this.sameSite,
      secure: this.secure,
      path: this.path,
      httpOnly: this.httpOnly,
      domain: this.domain,
      partitioned: this.partitioned,
    };
    if (this.priority !== undefined) json.priority = this.priority;
    return json;
  }
}

/**
 * The cookie settings of a session: configured ones, then the stored ones (a session keeps
 * the lifetime it was given), with a stored `originalMaxAge` restarting the lifetime and a
 * stored `expires` in the past dropped.
 * @example new SessionCookie(mergeCookieSettings(options.cookie, stored.cookie, Date.now()), true)
 */
export function mergeCookieSettings(
  configured: CookieInput,
  stored: StoredCookie | undefined,
  now: number,
): CookieInput {
  if (stored === undefined) return unstoredSettings(configured);
  return mergeStored(configured, stored, now);
}

/**
 * The settings of a session that has none stored depend on the configured ones alone: made
 * once per configured object and shared (frozen: a session that changes its settings gets a
 * new object, see `session.options()`).
 */
const unstored = new WeakMap<CookieInput, CookieInput>();

function unstoredSettings(configured: CookieInput): CookieInput {
  let settings = unstored.get(configured);
  if (settings === undefined) {
    settings = Object.freeze(mergeStored(configured, undefined, 0));
    unstored.set(configured, settings);
  }
  return settings;
}

function mergeStored(
  configured: CookieInput,
  stored: StoredCookie | undefined,
  now: number,
): CookieInput {
  const merged: CookieInput = { ...configured, ...(stored ?? {}) } as CookieInput;
  if (merged.originalMaxAge != null) merged.maxAge = merged.originalMaxAge;
  // A stored `expires` that has passed is not carried on (a configured one is sent as set).
  if (stored?.expires && merged.originalMaxAge == null) {
    const at = new Date(stored.expires).valueOf();
    if (Number.isNaN(at) || at <= now) delete merged.expires;
  }
  delete merged.originalMaxAge;
  delete merged.originalExpires;
  return merged;
}

function sameSiteOf(cookie: SessionCookie, defaultLax: boolean): SerializeOptions['sameSite'] {
  const value = cookie.sameSite;
  if (value === null || value === undefined) return defaultLax ? 'lax' : undefined;
  if (typeof value === 'string') return value.toLowerCase() as SerializeOptions['sameSite'];
  return value;
}

/** The attributes of a session cookie other than its value and `Expires`. */
interface CookieAttributes {
  name: string;
  domain: string | null;
  path: string;
  httpOnly: boolean;
  secure: boolean;
  partitioned: boolean;
  priority: FastifyCookieOptions['priority'] | undefined;
  sameSite: SerializeOptions['sameSite'];
}

/** One set of attributes and the Set-Cookie text before and after `Expires` it gives. */
interface AttributeText extends CookieAttributes {
  /** `; Domain=…; Path=…` (what `serialize` writes between the value and `Expires`). */
  before: string;
  /** `; HttpOnly; Secure; …; SameSite=…` (what it writes after `Expires`). */
  after: string;
}

/** How many distinct attribute sets are kept (an app has one, or a few with `options()`). */
const ATTRIBUTE_TEXTS = 8;

/**
 * The attribute text of recent cookies, so a Set-Cookie costs a string join rather than a
 * run of `serialize`'s checks. Built by `serialize` itself (same checks, same order).
 */
const attributeTexts: AttributeText[] = [];

function sameAttributes(a: CookieAttributes, b: CookieAttributes): boolean {
  return (
    a.name === b.name &&
    a.domain === b.domain &&
    a.path === b.path &&
    a.httpOnly === b.httpOnly &&
    a.secure === b.secure &&
    a.partitioned === b.partitioned &&
    a.priority === b.priority &&
    a.sameSite === b.sameSite
  );
}

/** The text `serialize` writes for the attributes after `name=` (the value left empty). */
function attributeSuffix(name: string, options: SerializeOptions): string {
  return serialize(name, '', options).slice(name.length + 1);
}

function attributeTextOf(attributes: CookieAttributes): AttributeText {
  for (const known of attributeTexts) if (sameAttributes(known, attributes)) return known;
  const { name, domain, path, httpOnly, secure, partitioned, priority, sameSite } = attributes;
  const text: AttributeText = {
    ...attributes,
    before: attributeSuffix(name, { ...(domain ? { domain } : {}), path }),
    after: attributeSuffix(name, {
      httpOnly,
      secure,
      ...(partitioned ? { partitioned: true } : {}),
      ...(priority ? { priority } : {}),
      sameSite,
    }),
  };
  if (attributeTexts.length >= ATTRIBUTE_TEXTS) attributeTexts.shift();
  attributeTexts.push(text);
  return text;
}

/**
 * The Set-Cookie value carrying `value` with the session's attributes (Expires, never
 * Max-Age, as @fastify/session sends). `defaultLax` adds SameSite=Lax where none is set.
 * The same text `cookie`'s `serialize` gives (its attribute order, value encoded with
 * `encodeURIComponent`), with the attribute part remembered per distinct attribute set.
 * @example serializeSessionCookie('sessionId', signed, request.session.cookie, true)
 */
export function serializeSessionCookie(
  name: string,
  value: string,
  cookie: SessionCookie,
  defaultLax: boolean,
): string {
  const expires = cookie.expires;
  if (value === '' || (expires && !(expires instanceof Date && Number.isFinite(expires.valueOf()))))
    // An empty value or an unusable date: `serialize` itself says what it makes of them.
    return serializeWithCookieLibrary(name, value, cookie, defaultLax);
  const text = attributeTextOf({
    name,
    domain: cookie.domain || null,
    path: cookie.path,
    httpOnly: cookie.httpOnly,
    secure: cookie.secure === true,
    partitioned: cookie.partitioned === true,
    priority: cookie.priority || undefined,
    sameSite: sameSiteOf(cookie, defaultLax),
  });
  // encodeURIComponent's output is always a valid cookie value (serialize checks it).
  const head = `${name}=${encodeURIComponent(value)}${text.before}`;
  return expires ? `${head}; Expires=${expires.toUTCString()}${text.after}` : head + text.after;
}

/** `serializeSessionCookie` through `serialize` alone (the reference the fast path matches). */
export function serializeWithCookieLibrary(
  name: string,
  value: string,
  cookie: SessionCookie,
  defaultLax: boolean,
): string {
  return serialize(name, value, {
    path: cookie.path,
    ...(cookie.domain ? { domain: cookie.domain } : {}),
    ...(cookie.expires ? { expires: cookie.expires } : {}),
    httpOnly: cookie.httpOnly,
    secure: cookie.secure === true,
    ...(cookie.partitioned ? { partitioned: true } : {}),
    ...(cookie.priority ? { priority: cookie.priority } : {}),
    sameSite: sameSiteOf(cookie, defaultLax),
  });
}

/**
 * The Set-Cookie value that makes the browser forget the cookie (`Max-Age=0`, the epoch as
 * Expires), with the configured path and domain.
 * @example clearSessionCookie('sessionId', { path: '/admin' })
 */
export function clearSessionCookie(name: string, options: FastifyCookieOptions): string {
  return serialize(name, '', {
    maxAge: 0,
    ...(options.domain ? { domain: options.domain } : {}),
    path: options.path || '/',
    expires: new Date(0),
    sameSite: 'lax',
  });
}
