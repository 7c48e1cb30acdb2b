/**
 * express-session's cookie as a `SessionCookieFormat`: `s:` + ID + `.` + HMAC signature,
 * URI-encoded, read from the Cookie header only, written with the attributes of the
 * request's `req.session.cookie` (Secure for `secure: 'auto'` on HTTPS; SameSite `'auto'`
 * is None on HTTPS and Lax otherwise, as express-session 1.19 does).
 */
import { type SerializeOptions, serialize as serializeCookie } from 'cookie';
import { createExpressValueVerifier } from '../../cookies/express-signature.js';
import { signExpressValue } from '../../cookies/index.js';
import type { HttpExchange, SessionCookieFormat } from '../../http/request-session.js';
import { Cookie } from './cookie.js';
import type { ExpressExchange } from './exchange.js';

/** What the format needs from the resolved options. */
export interface CookieFormatOptions {
  name: string;
  hostPrefix: boolean;
}

function cookieOf(exchange: HttpExchange): Cookie {
  const express = exchange as ExpressExchange;
  return express.cookie ?? new Cookie(express.settings);
}

function secureFor(exchange: HttpExchange, cookie: Cookie): boolean {
  return cookie.secure === true || (cookie.secure === 'auto' && exchange.isSecure);
}

function sameSiteFor(exchange: HttpExchange, cookie: Cookie): SerializeOptions['sameSite'] {
  const value =
    typeof cookie.sameSite === 'string' ? cookie.sameSite.toLowerCase() : cookie.sameSite;
  if (value === 'auto') return exchange.isSecure ? 'none' : 'lax';
  return value as SerializeOptions['sameSite'];
}

function attributes(exchange: HttpExchange, cookie: Cookie): SerializeOptions {
  return {
    path: cookie.path,
    domain: cookie.domain,
    httpOnly: cookie.httpOnly,
    secure: secureFor(exchange, cookie),
    sameSite: sameSiteFor(exchange, cookie),
    partitioned: cookie.partitioned,
    priority: cookie.priority,
  };
}

/** When the cookie expires (the controller restarted its lifetime), capped by the session's. */
function expiresFor(cookie: Cookie, capSeconds: number | undefined): Date | undefined {
  if (!(cookie.expires instanceof Date)) return undefined;
  let at = cookie.expires.valueOf();
  // The cap is in whole seconds: apply it only when it cuts more than its rounding, so the
  // cookie's expiry stays the one stored with the session.
  const cap = capSeconds === undefined ? Number.POSITIVE_INFINITY : Date.now() + capSeconds * 1000;
  if (cap < at - 1000) at = cap;
  return new Date(at);
}

/**
 * The format for one middleware.
 * @example createRequestSessions({ manager, cookie: expressCookieFormat({ name: 'connect.sid', hostPrefix: false }) });
 */
export function expressCookieFormat(options: CookieFormatOptions): SessionCookieFormat {
  // With `hostPrefix`, a Secure cookie is `__Host-<name>`; on such a request the plain name is
  // not read (a plain-HTTP page or a subdomain could have set it).
  const nameFor = (exchange: HttpExchange): string =>
    options.hostPrefix && secureFor(exchange, cookieOf(exchange))
      ? `__Host-${options.name}`
      : options.name;
  // The HMAC runs once per distinct cookie value, and the Cookie header is parsed once per
  // distinct header, not once per request (bounded caches).
  const verifier = createExpressValueVerifier();
  return {
    name: options.name,
    read(exchange) {
      return verifier.fromHeader(
        exchange.header('cookie'),
        nameFor(exchange),
        (exchange as ExpressExchange).secrets,
      );
    },
    serialize(id, exchange, lifetime) {
      const cookie = cookieOf(exchange);
      const secret = (exchange as ExpressExchange).secrets[0] as string | Buffer;
      return serializeCookie(nameFor(exchange), signExpressValue(id, secret), {
        ...attributes(exchange, cookie),
        expires: expiresFor(cookie, lifetime.maxAgeSeconds),
      });
    },
    clear(exchange) {
      const cookie = cookieOf(exchange);
      return serializeCookie(nameFor(exchange), '', {
        ...attributes(exchange, cookie),
        expires: new Date(0),
      });
    },
    isSecure: (exchange) => secureFor(exchange, cookieOf(exchange)),
  };
}
