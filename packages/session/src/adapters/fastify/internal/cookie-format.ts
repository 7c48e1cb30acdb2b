/**
 * The lifecycle's view of @fastify/session's cookie: the name, `cookiePrefix` and the
 * signature (verified with every secret). The plugin writes the Set-Cookie itself at the end
 * of the request (with the session's own settings), so `serialize` here only serves
 * lifecycle paths the plugin does not take, and `isSecure` answers false: the plugin applies
 * @fastify/session's Secure rule itself.
 */
import type { SessionCookieFormat } from '../../../http/request-session.js';
import { clearSessionCookie, SessionCookie, serializeSessionCookie } from '../cookie.js';
import type { ResolvedFastifyOptions } from '../options.js';
import type { FastifyExchange } from './exchange.js';

/**
 * @example createRequestSessions({ manager, cookie: sessionCookieFormat(resolved) })
 */
export function sessionCookieFormat(resolved: ResolvedFastifyOptions): SessionCookieFormat {
  const { cookieName, cookiePrefix, signer } = resolved;
  return {
    name: cookieName,
    read(exchange) {
      const value = (exchange as FastifyExchange).sessionCookieValue(cookieName, cookiePrefix);
      if (value === null) return null;
      const result = signer.unsign(value);
      return result.valid && typeof result.value === 'string' ? result.value : null;
    },
    serialize(id, exchange) {
      const cookie = new SessionCookie(resolved.cookie, exchange.isSecure, resolved.now);
      return serializeSessionCookie(
        cookieName,
        cookiePrefix + signer.sign(id),
        cookie,
        resolved.defaultLax,
      );
    },
    clear: () => clearSessionCookie(cookieName, resolved.cookie),
    isSecure: () => false,
  };
}
