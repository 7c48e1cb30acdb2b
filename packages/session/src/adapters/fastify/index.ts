/**
 * `tessera-session/fastify`: the Fastify 5 plugin, a drop-in for @fastify/session 11.
 * `request.session` has @fastify/session's API (`get`, `set`, property access, `regenerate`,
 * `destroy`, `reload`, `save`, `touch`, `options`, `sessionId`, `cookie`); Tessera's login,
 * device list and sign-out-everywhere are on `request.sessionControl`. Like
 * @fastify/session it also exports `Store` and `MemoryStore` (the default callback store).
 * @example
 * import tessera from 'tessera-session/fastify';
 * await app.register(tessera, { secret: process.env.SESSION_SECRET, store: createMemoryStore() });
 * @module tessera-session/fastify
 */
import { tessera } from './plugin.js';

export type { FastifyLoginOptions, FastifySessionControl } from './control.js';
export type { FastifyCookieOptions, SessionCookie, StoredCookie } from './cookie.js';
export type { CallbackStore } from './internal/callback-store.js';
export type { FastifySessionPluginOptions, IdGenerator } from './options.js';
export { requireRecentAuth } from './recent-auth.js';
export type { TokenRequestFields } from './request-types.js';
export type { FastifySession, FastifySessionCallback } from './session.js';
export type { CookieSigner, UnsignResult } from './signer.js';
export { MemoryStore, Store } from './store.js';
export { requireToken } from './token.js';
export { tessera };
export default tessera;
