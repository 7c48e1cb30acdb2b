/**
 * `tessera-session/fetch`: sessions for Web-standard `Request` → `Response` handlers (Hono, Next.js
 * route handlers, Bun, Deno, Node through a small bridge), as a handler wrapper and as a
 * Hono middleware.
 * @example
 * import { withSession } from 'tessera-session/fetch';
 * const handler = withSession(async (request, { session }) => Response.json(session.toJSON()), { store });
 * @module tessera-session/fetch
 */
export type { HonoContextLike, TesseraHonoEnv, TesseraHonoMiddleware } from './hono.js';
export { tesseraHono } from './hono.js';
export type { HonoRecentAuthContext, HonoRecentAuthMiddleware } from './recent-auth.js';
export { honoRecentAuth, requireRecentAuth } from './recent-auth.js';
export type { FetchLoginOptions, FetchSession } from './session.js';
export type { TokenContext } from './token.js';
export { withToken } from './token.js';
export type {
  FetchCookieOptions,
  FetchSessionOptions,
  FetchSessionRun,
  FetchSessions,
  SessionContext,
  SessionHandler,
} from './with-session.js';
export { createFetchSessions, isFetchSessions, withSession } from './with-session.js';
