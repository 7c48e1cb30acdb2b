import { serialize as serializeCookie } from 'cookie';

/**
 * `Cookie`: the `req.session.cookie` object of express-session, with the same fields and
 * the same JSON shape, so code that reads or sets `maxAge`, `expires` or `originalMaxAge`
 * (and stores that read `sess.cookie.expires` for their TTL) work unchanged.
 */

/** The cookie settings express-session accepts. */
export interface CookieOptions {
  /** Lifetime in milliseconds; a persistent cookie. Default none: a browser-session cookie. */
  maxAge?: number | null;
  /** A fixed expiry date (prefer `maxAge`). */
  expires?: Date | string | null;
  /** Default true. */
  httpOnly?: boolean;
  /** true, false (default) or 'auto' (Secure exactly on HTTPS requests). */
  secure?: boolean | 'auto';
  /** 'lax', 'strict', 'none', 'auto' (None on HTTPS, else Lax), true (strict) or false / unset (no attribute). */
  sameSite?: boolean | 'lax' | 'strict' | 'none' | 'auto' | 'Lax' | 'Strict' | 'None';
  /** Default '/'. */
  path?: string;
  domain?: string;
  partitioned?: boolean;
  priority?: 'low' | 'medium' | 'high';
  /** Present in stored JSON; restored on load. */
  originalMaxAge?: number | null;
}

/** The JSON form of a cookie, as express-session stores it inside the session. */
export interface CookieData {
  originalMaxAge: number | null;
  partitioned?: boolean;
  priority?: string;
  expires: Date | null;
  secure?: boolean | 'auto';
  httpOnly?: boolean;
  domain?: string;
  path?: string;
  sameSite?: CookieOptions['sameSite'];
}

/**
 * The session cookie's settings and lifetime.
 * @example req.session.cookie.maxAge = 30 * 86400e3; // remember me for 30 days
 */
export class Cookie {
  path = '/';
  httpOnly = true;
  originalMaxAge: number | null = null;
  secure?: boolean | 'auto';
  sameSite?: CookieOptions['sameSite'];
  domain?: string;
  partitioned?: boolean;
  priority?: 'low' | 'medium' | 'high';
  #expires: Date | null = null;

  constructor(options?: CookieOptions) {
    if (options !== undefined && options !== null) {
      if (typeof options !== 'object') throw new TypeError('argument options must be an object');
      const { maxAge, expires, originalMaxAge, ...rest } = options;
      Object.assign(this, withoutUndefined(rest));
      if (expires !== undefined) this.expires = toDate(expires);
      if (maxAge !== undefined) this.maxAge = maxAge;
      if (originalMaxAge !== undefined && originalMaxAge !== null) {
        this.originalMaxAge = originalMaxAge;
      }
    }
  }

  /** When the cookie expires, or null for a browser-session cookie. */
  get expires(): Date | null {
    return this.#expires;
  }

  set expires(date: Date | null) {
    this.#expires = date;
    this.originalMaxAge = this.maxAge;
  }

  /** Milliseconds left, or null for a browser-session cookie. Setting it moves `expires`. */
  get maxAge(): number | null {
    return this.#expires instanceof Date ? this.#expires.valueOf() - Date.now() : null;
  }

  set maxAge(ms: number | Date | null) {
    if (ms !== null && ms !== undefined && typeof ms !== 'number' && !(ms instanceof Date)) {
      throw new TypeError('maxAge must be a number or Date');
    }
    if (typeof ms === 'number') {
      // One clock reading, so originalMaxAge is exactly the lifetime asked for.
      this.#expires = new Date(Date.now() + ms);
      this.originalMaxAge = ms;
      return;
    }
    this.expires = ms ?? null;
  }

  /** The fields express-session stores and serialises. */
  get data(): CookieData {
    return {
      originalMaxAge: this.originalMaxAge,
      partitioned: this.partitioned,
      priority: this.priority,
      expires: this.#expires,
      secure: this.secure,
      httpOnly: this.httpOnly,
      domain: this.domain,
      path: this.path,
      sameSite: this.sameSite,
    };
  }

  /** Restarts the lifetime from now (what `req.session.touch()` does). */
  resetMaxAge(): void {
    if (this.originalMaxAge !== null) this.maxAge = this.originalMaxAge;
  }

  /**
   * A Set-Cookie value for `name` = `value` with these settings (`'auto'` values left out).
   * @example res.setHeader('Set-Cookie', new Cookie().serialize('theme', 'dark'));
   */
  serialize(name: string, value: string): string {
    const { secure, sameSite, priority, ...rest } = this.data;
    return serializeCookie(name, value, {
      ...rest,
      expires: rest.expires ?? undefined,
      secure: secure === true,
      sameSite: sameSite === 'auto' ? undefined : (sameSite as never),
      priority: priority as never,
    });
  }

  toJSON(): CookieData {
    return this.data;
  }
}

/**
 * A copy of `template` (the middleware's configured cookie) with its lifetime restarted
 * from `lifetime`: the per-request path, with no option parsing. Used by the middleware; apps construct Cookies with `new Cookie(options)`.
 * @example const cookie = copyCookie(configured, { maxAge: 86400e3 });
 */
export function copyCookie(
  template: Cookie,
  lifetime: Pick<CookieOptions, 'maxAge' | 'expires'>,
): Cookie {
  const cookie = new Cookie();
  cookie.path = template.path;
  cookie.httpOnly = template.httpOnly;
  if (template.secure !== undefined) cookie.secure = template.secure;
  if (template.sameSite !== undefined) cookie.sameSite = template.sameSite;
  if (template.domain !== undefined) cookie.domain = template.domain;
  if (template.partitioned !== undefined) cookie.partitioned = template.partitioned;
  if (template.priority !== undefined) cookie.priority = template.priority;
  // As `new Cookie(options)` would: a fixed `expires` stays fixed, a `maxAge` counts from now.
  if (lifetime.expires !== undefined && lifetime.expires !== null) {
    cookie.expires = toDate(lifetime.expires);
  }
  if (typeof lifetime.maxAge === 'number') cookie.maxAge = lifetime.maxAge;
  return cookie;
}

function toDate(value: Date | string | null): Date | null {
  if (value === null || value instanceof Date) return value;
  const date = new Date(value);
  return Number.isNaN(date.valueOf()) ? null : date;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (entry !== undefined && key !== 'data') (out as Record<string, unknown>)[key] = entry;
  }
  return out;
}
