/**
 * How an app types its session with `tessera-session/express`: `SessionData` is the interface
 * an app merges its keys into, as with express-session, and importing the adapter types
 * `req.session`, `req.sessionID` and `req.auth` on Express's `Request`.
 *
 * The fields reach `Express.Request` through an interface it extends, not as properties of
 * their own: an app that also has `@types/express-session` installed gets that package's own
 * `req.session` declaration (and its `declare module 'express-session'` augmentations) with no
 * "subsequent property declarations" clash, since a property declared directly on the
 * interface takes precedence over an inherited one. To keep the inherited one compatible, the
 * session's type steps aside (`unknown`) when express-session's `sessionStore` is declared.
 */
import type { AccessTokenClaims } from '../../tokens/index.js';
import type { Cookie } from './cookie.js';
import type { Session } from './session.js';
import type { SessionControl } from './session-control.js';

/**
 * The data an app keeps in `req.session`. Merge your keys into it:
 * @example
 * declare module 'tessera-session/express' {
 *   interface SessionData { views?: number; userName?: string }
 * }
 */
export interface SessionData {
  cookie: Cookie;
}

/**
 * What the middleware and `requireToken` add to Express's `Request`.
 * @example function views(req: SessionRequestFields): number { return req.session.views ?? 0; }
 */
export interface SessionRequestFields {
  /** The session: express-session's API and the app's data. */
  session: 'sessionStore' extends keyof Express.Request ? unknown : Session & Partial<SessionData>;
  /** The session's ID, as express-session gives it. */
  sessionID: string;
  /** Tessera's helpers for this request's session: `login`, `sessions`, `revoke`, … */
  sessionControl: SessionControl;
  /** The verified access-token claims, after `requireToken`. */
  auth?: AccessTokenClaims;
}

declare global {
  namespace Express {
    interface Request extends SessionRequestFields {}
  }
}
