/**
 * `tessera-session/fastify`: the Fastify 5 plugin. `request.session` mirrors @fastify/session
 * (`get`, `set`, property access, `regenerate`, `destroy`, `reload`, `save`, `touch`,
 * `sessionId`, `cookie`) and adds Tessera's login, device list and sign-out-everywhere.
 * @example
 * import tessera from 'tessera-session/fastify';
 * await app.register(tessera, { store: createMemoryStore() });
 * @module tessera-session/fastify
 */
import { tessera } from './plugin.js';

export type { FastifyCookieOptions, FastifySessionPluginOptions } from './plugin.js';
export type {
  FastifyLoginOptions,
  FastifySession,
  FastifySessionCallback,
  FastifySessionCookie,
} from './session.js';
export { requireToken } from './token.js';
export { tessera };
export default tessera;
