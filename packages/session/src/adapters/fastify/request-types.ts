/**
 * What `requireToken` adds to Fastify's request: `request.auth`, the verified access-token
 * claims. `null` is allowed so that `app.decorateRequest('auth', null)` (a stable request
 * shape, as Fastify recommends) type-checks. The session itself (`request.session`) is
 * declared beside the plugin.
 */
import type { AccessTokenClaims } from '../../tokens/index.js';

/**
 * @example
 * app.get('/api/me', { preHandler: requireToken(guard) }, (request) => request.auth?.sub);
 */
export interface TokenRequestFields {
  /** The verified access-token claims, after `requireToken`. */
  auth?: AccessTokenClaims | null;
}

declare module 'fastify' {
  interface FastifyRequest extends TokenRequestFields {}
}
