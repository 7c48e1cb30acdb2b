/**
 * One Fastify request as the core lifecycle sees it (`HttpExchange`), and the cookie-path
 * rule @fastify/session applies before it looks for a session (RFC 6265 path-match).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { readCookie } from '../../../cookies/index.js';
import type { HttpExchange } from '../../../http/request-session.js';

function headerOf(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  if (Array.isArray(value)) return value.join(', ');
  return value;
}

/** A Fastify request and reply (a class: no closures allocated per request). */
export class FastifyExchange implements HttpExchange {
  readonly method: string;
  readonly path: string;
  #secure: boolean | undefined;
  /** The Fastify request (what `idGenerator(request)` receives); undefined when detached. */
  readonly request: FastifyRequest | undefined;
  readonly #reply: FastifyReply | undefined;
  readonly #cookieHeader: string | undefined;
  /** The last `sessionCookieValue` question and answer. */
  #cookieName: string | undefined;
  #cookiePrefix: string | undefined;
  #cookieValue: string | null = null;

  constructor(
    request: FastifyRequest | undefined,
    reply: FastifyReply | undefined,
    cookieHeader?: string,
  ) {
    const url = request?.url ?? '/';
    const query = url.indexOf('?');
    this.method = request?.method ?? 'GET';
    this.path = query === -1 ? url : url.slice(0, query);
    this.request = request;
    this.#reply = reply;
    this.#cookieHeader = cookieHeader;
  }

  /**
   * An exchange with no request behind it, carrying one cookie (`fastify.decryptSession`).
   * @example FastifyExchange.detached('sessionId', signedValue)
   */
  static detached(name: string, value: string): FastifyExchange {
    return new FastifyExchange(undefined, undefined, `${name}=${encodeURIComponent(value)}`);
  }

  /** Worked out on first use: only a Secure or 'auto' cookie needs it. */
  get isSecure(): boolean {
    if (this.#secure === undefined) this.#secure = this.request?.protocol === 'https';
    return this.#secure;
  }

  get ip(): string | undefined {
    return this.request?.ip;
  }

  get userAgent(): string | undefined {
    return this.request === undefined ? undefined : headerOf(this.request, 'user-agent');
  }

  header(name: string): string | undefined {
    if (this.request === undefined) return name === 'cookie' ? this.#cookieHeader : undefined;
    return headerOf(this.request, name);
  }

  appendSetCookie(value: string): void {
    this.#reply?.header('set-cookie', value);
  }

  appendHeader(name: string, value: string): void {
    this.#reply?.header(name, value);
  }

  /**
   * The session cookie's value without `prefix`; null when absent or without the prefix.
   * @example exchange.sessionCookieValue('connect.sid', 's:')
   */
  sessionCookieValue(name: string, prefix: string): string | null {
    // Asked twice per request (the lifecycle's read, the plugin's end-of-request rules):
    // the Cookie header is parsed once.
    if (this.#cookieName === name && this.#cookiePrefix === prefix) return this.#cookieValue;
    const value = this.#readSessionCookie(name, prefix);
    this.#cookieName = name;
    this.#cookiePrefix = prefix;
    this.#cookieValue = value;
    return value;
  }

  #readSessionCookie(name: string, prefix: string): string | null {
    const raw = readCookie(this.header('cookie'), name);
    if (raw === null || raw === '') return null;
    if (prefix === '') return raw;
    return raw.startsWith(prefix) ? raw.slice(prefix.length) : null;
  }
}

/**
 * True when `path` is within `cookiePath` (equal, or below it at a `/` boundary).
 * @example matchesCookiePath('/admin/users', '/admin') // true; ('/administrator', '/admin') // false
 */
export function matchesCookiePath(path: string, cookiePath: string): boolean {
  if (path === cookiePath) return true;
  if (!path.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || path[cookiePath.length] === '/';
}
