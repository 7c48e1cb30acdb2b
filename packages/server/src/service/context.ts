/**
 * What every part of the service's Express app shares: its dependencies (made by
 * `startService`), the caller of an API request, and small request helpers.
 */
import type { Request } from 'express';
import type { Logger } from 'pino';
import type { SessionManager, Store } from 'tessera-session';
import type { Session as ExpressSession, SessionControl } from 'tessera-session/express';
import type { AccessTokens, DpopVerifier, RefreshTokens } from 'tessera-session/tokens';
import type { ServiceConfig } from './config.js';
import type { LoginThrottle } from './login-throttle.js';
import type { ServiceMetrics } from './metrics.js';
import type { Throttle } from './throttle.js';
import type { UserDirectory } from './users.js';

/** Everything the app needs, made by `startService`. */
export interface AppDeps {
  config: ServiceConfig;
  store: Store;
  manager: SessionManager;
  tokens: AccessTokens;
  refresh: RefreshTokens;
  /** Verifies DPoP proofs (RFC 9449) at the token endpoints and on API calls. */
  dpop: DpopVerifier;
  users: UserDirectory;
  metrics: ServiceMetrics;
  logger: Logger;
  cookieSecret: string;
  csrfSecret: string;
  /** Failed sign-ins per (user, address), per address, and the per-user ceiling. */
  loginThrottle: LoginThrottle;
  /** Unknown session IDs and tokens per client address (IPv6 by /64). */
  probeThrottle: Throttle;
  /** Answers whether the store is reachable (cached for a moment). */
  healthy(): Promise<boolean>;
  /** The clock (ms since the epoch) the session manager uses too. */
  now(): number;
}

/** The caller of an API request: a token client or a browser session. */
export interface Caller {
  kind: 'token' | 'cookie';
  userId: string;
  handle: string;
  strategy: string;
  expiresAt: number;
  /** When the session last signed in (ms), for step-up checks. */
  authAt: number | null;
  /** How strongly the session signed in (null: not recorded, counts as 1). */
  authLevel: number | null;
}

/** The session cookie's name (`__Host-` prefixed whenever the cookie is Secure). */
export const COOKIE_NAME = 'tessera.sid';

/**
 * The request's session, as Tessera's Express adapter puts it on `req`.
 * @example sessionOf(req).destroy(done);
 */
export function sessionOf(req: Request): ExpressSession {
  return (req as unknown as { session: ExpressSession }).session;
}

/**
 * Tessera's helpers for the request's session (login, device list, revoke), kept off the
 * session's data by the Express adapter.
 * @example await controlOf(req).sessions();
 */
export function controlOf(req: Request): SessionControl {
  return (req as unknown as { sessionControl: SessionControl }).sessionControl;
}

/**
 * The client's address (after trusted proxies).
 * @example clientIp(req) // '127.0.0.1'
 */
export function clientIp(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

/**
 * True for the JSON API (errors as JSON), false for pages (errors as HTML).
 * @example isApi(req)
 */
export function isApi(req: Request): boolean {
  return req.path.startsWith('/api/');
}
