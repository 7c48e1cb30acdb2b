/**
 * `tessera-session/express`: a drop-in for express-session. The default export (also named
 * `session`) takes express-session's options and gives its `req.session` API; like
 * express-session it carries `Store`, `MemoryStore`, `Session` and `Cookie`, also as
 * properties of the function, so `require('connect-redis')(session)`-style stores plug in.
 * @example
 * import session from 'tessera-session/express';
 * app.use(session({ secret: process.env.SESSION_SECRET! }));
 * @module tessera-session/express
 */
import { Cookie } from './cookie.js';
import { session as createSession } from './middleware.js';
import type { ExpressSessionOptions } from './options.js';
import { Session } from './session.js';
import { MemoryStore, Store } from './store.js';

export type { NodeCallback } from '../../http/kit/callback-bridge.js';
export type { DeprecationSink } from '../../http/kit/deprecate.js';
export type { CookieData, CookieOptions } from './cookie.js';
export type { LegacyStore } from './internal/legacy-manager.js';
export type { ExpressNext, ExpressRequest, ExpressSessionMiddleware } from './middleware.js';
export type { ExpressSessionOptions, SessionSecret } from './options.js';
export { requireRecentAuth } from './recent-auth.js';
export type { SessionCallback } from './session.js';
export type { ExpressLoginOptions, SessionControl } from './session-control.js';
export type { SessionData, SessionRequestFields } from './session-data.js';
export type { StoreConstructor, StoredSession } from './store.js';
export type { TokenAuthenticatedRequest } from './token.js';
export { requireToken } from './token.js';

/** `session(options)` with express-session's classes attached. */
export interface SessionFunction {
  (options: ExpressSessionOptions): ReturnType<typeof createSession>;
  Store: typeof Store;
  MemoryStore: typeof MemoryStore;
  Session: typeof Session;
  Cookie: typeof Cookie;
}

/**
 * Creates the session middleware.
 * @example app.use(session({ secret: process.env.SESSION_SECRET!, cookie: { maxAge: 86400e3 } }));
 */
export const session: SessionFunction = Object.assign(
  (options: ExpressSessionOptions) => createSession(options),
  { Store, MemoryStore, Session, Cookie },
);

export { Cookie, MemoryStore, Session, Store };
export default session;
