/**
 * The browser session: Tessera's own Express adapter (`tessera-session/express`), used as any
 * app would use it, with the cookie hardened (`__Host-` prefix and `Secure` on HTTPS).
 */
import type { RequestHandler } from 'express';
import session from 'tessera-session/express';
import { type AppDeps, COOKIE_NAME } from '../context.js';

/**
 * @example app.use(sessionMiddleware(deps));
 */
export function sessionMiddleware(
  deps: Pick<AppDeps, 'config' | 'manager' | 'cookieSecret' | 'logger'>,
): RequestHandler {
  const { config, logger } = deps;
  return session({
    secret: deps.cookieSecret,
    name: COOKIE_NAME,
    // `__Host-tessera.sid` whenever the cookie is Secure (HTTPS, or a trusted proxy said so).
    hostPrefix: true,
    manager: deps.manager,
    // Tessera's recommended settings (express-session's defaults are true for both).
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', path: '/', secure: config.secureCookies },
    proxy: config.trustProxy > 0 ? true : undefined,
    // The configured origin is what browsers use, whatever Host a proxy forwards.
    ...(config.origin === undefined ? {} : { csrf: { allowedOrigins: [config.origin] } }),
    logger: { warn: (message: string) => logger.warn(message) },
    // Device-bound sessions (docs/bound-sessions.md): sign-ins offer Chromium a key-bound session.
    ...(config.dbsc ? { dbsc: { cookieSeconds: config.dbscCookieTtl } } : {}),
  }) as unknown as RequestHandler;
}
