/**
 * `requireToken` for Fastify: a `preHandler` hook for the `jwt` and `hybrid` strategies. It
 * verifies the access token (Bearer header or HttpOnly cookie) with a token guard, puts the
 * claims on `request.auth`, and answers 401 with `WWW-Authenticate: Bearer
 * error="invalid_token"` when the token is absent or invalid, 403 when it lacks a required
 * claim, and 503 when the session check cannot reach the store.
 * A token from the cookie on an unsafe cross-site request is refused with 403 (`csrf`), and on
 * HTTPS only the `__Host-` cookie is read (see `http/token-guard.ts`). With a DPoP verifier on
 * the guard, `Authorization: DPoP` tokens are checked against their proof for this request's
 * method and URL (RFC 9449).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  type ClaimRequirement,
  createTokenGuard,
  type TokenGuard,
  type TokenGuardOptions,
} from '../../http/token-guard.js';
import type { AccessTokenClaims } from '../../tokens/index.js';

/**
 * @example
 * app.decorateRequest('auth', null); // a stable request shape, as Fastify recommends
 * app.get('/api/admin', { preHandler: requireToken(guard, { role: 'admin' }) }, (req) => req.auth);
 */
export function requireToken(
  guard: TokenGuard | TokenGuardOptions,
  require?: ClaimRequirement,
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const resolved = 'authenticate' in guard ? guard : createTokenGuard(guard);
  return async (request, reply) => {
    const result = await resolved.authenticate(
      {
        header: (name) => {
          const value = request.headers[name];
          return Array.isArray(value) ? value[0] : value;
        },
        method: request.method,
        isSecure: request.protocol === 'https',
        // For the htu of DPoP proofs: Fastify's protocol and host honour `trustProxy`.
        targetUrl: () => `${request.protocol}://${request.host}${request.url}`,
      },
      require,
    );
    if (result.ok) {
      (request as FastifyRequest & { auth?: AccessTokenClaims }).auth = result.claims;
      return;
    }
    await reply
      .code(result.status)
      .headers({ ...result.headers, 'cache-control': 'no-store' })
      .send({ error: result.error, message: result.message });
  };
}
