/**
 * One Express request as the core lifecycle sees it (`HttpExchange`), with what the
 * express-session cookie format needs per request: the secrets (the option, or
 * `req.secret`), the cookie settings (the option, or what `cookie(req)` returned) and the
 * `req.session.cookie` whose attributes the Set-Cookie carries.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { appendSetCookie } from '../../http/kit/set-cookie.js';
import type { HttpExchange } from '../../http/request-session.js';
import type { Cookie, CookieOptions } from './cookie.js';
import type { SessionSecret } from './options.js';
import type { Session } from './session.js';
import type { SessionControl } from './session-control.js';

/** The request as this middleware sees it (Express 4 and 5 both fit). */
export interface ExpressRequest extends IncomingMessage {
  originalUrl?: string;
  secure?: boolean;
  ip?: string;
  secret?: string;
  session?: Session | null;
  sessionID?: string;
  sessionStore?: unknown;
  sessionControl?: SessionControl;
}

/**
 * The path of the request as express-session matches `cookie.path` against it: the
 * original URL's pathname, '/' when empty.
 * @example pathOf(req) // '/foo/bar'
 */
export function pathOf(req: ExpressRequest): string {
  const url = req.originalUrl || req.url || '/';
  const end = url.search(/[?#]/);
  const path = end < 0 ? url : url.slice(0, end);
  if (path.startsWith('/')) return path;
  // An absolute-form request target (`GET http://host/path`).
  const scheme = path.indexOf('://');
  if (scheme < 0) return path === '' ? '/' : path;
  const slash = path.indexOf('/', scheme + 3);
  return slash < 0 ? '/' : path.slice(slash);
}

/**
 * express-session's rule for "the request is HTTPS": a TLS socket; else, with `proxy`
 * true, the first `X-Forwarded-Proto`; with `proxy` false, never; unset, Express's `req.secure`.
 * @example isSecureRequest(req, undefined)
 */
export function isSecureRequest(req: ExpressRequest, proxy: boolean | undefined): boolean {
  if ((req.socket as TLSSocket | undefined)?.encrypted) return true;
  if (proxy === false) return false;
  if (proxy !== true) return req.secure === true;
  const header = req.headers['x-forwarded-proto'];
  const first = (Array.isArray(header) ? header[0] : header)?.split(',')[0];
  return first?.trim().toLowerCase() === 'https';
}

export class ExpressExchange implements HttpExchange {
  readonly req: ExpressRequest;
  readonly res: ServerResponse;
  readonly #proxy: boolean | undefined;
  #secure: boolean | undefined;
  #headers: IncomingMessage['headers'] | undefined;
  readonly secrets: SessionSecret[];
  /** This request's cookie settings (the option, or `cookie(req)`'s answer). */
  readonly settings: CookieOptions;
  /** `new Cookie(settings)`, built once for settings that do not depend on the request. */
  readonly template: Cookie;
  /** The `req.session.cookie` whose settings the Set-Cookie carries. */
  cookie: Cookie | null = null;

  constructor(
    req: ExpressRequest,
    res: ServerResponse,
    proxy: boolean | undefined,
    secrets: SessionSecret[],
    settings: CookieOptions,
    template: Cookie,
  ) {
    this.template = template;
    this.req = req;
    this.res = res;
    this.#proxy = proxy;
    this.secrets = secrets;
    this.settings = settings;
  }

  /** Worked out on first use (reading `req.secure` costs a few µs): only a Secure cookie needs it. */
  get isSecure(): boolean {
    if (this.#secure === undefined) this.#secure = isSecureRequest(this.req, this.#proxy);
    return this.#secure;
  }

  get method(): string {
    return this.req.method ?? 'GET';
  }

  get path(): string {
    return pathOf(this.req);
  }

  get ip(): string | undefined {
    return this.req.ip ?? this.req.socket?.remoteAddress;
  }

  get userAgent(): string | undefined {
    return this.header('user-agent');
  }

  header(name: string): string | undefined {
    // Read once: every property read on Express's re-prototyped `req` is a slow lookup.
    this.#headers ??= this.req.headers;
    const value = this.#headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  }

  appendSetCookie(value: string): void {
    appendSetCookie(this.res, value);
  }

  appendHeader(name: string, value: string): void {
    if (!this.res.headersSent) this.res.appendHeader(name, value);
  }
}
