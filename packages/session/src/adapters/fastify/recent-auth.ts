/**
 * `requireRecentAuth(maxAgeSeconds, { level })` for Fastify: a `preHandler` hook for step-up
 * authentication. It lets a request through only when `request.sessionControl` shows a
 * signed-in user who authenticated within the last `maxAgeSeconds` (by the session manager's
 * clock), at `level` or above when one is required; otherwise it answers 401 `unauthorized`
 * (no signed-in session, also a request outside the session cookie's path) or 403
 * `reauth_required` (signed in too long ago, or below the level, with `"level"` in the
 * body), as JSON with `Cache-Control: no-store`. The decision is `http/recent-auth.ts`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  createRecentAuthCheck,
  type RecentAuthFacts,
  type RecentAuthOptions,
} from '../../http/recent-auth.js';
import { isTesseraError, TesseraError } from '../../shared/errors.js';
import type { FastifySessionControl } from './control.js';

/**
 * Guards a route with a recent sign-in (at `level` or above when given); throws `ERR_CONFIG`
 * unless `maxAgeSeconds` is a positive finite number and `level` a positive integer. Use it
 * where the Tessera plugin is registered.
 * @example
 * app.post('/account/delete', { preHandler: requireRecentAuth(300) }, async () => ({ deleted: true }));
 * app.post('/payouts', { preHandler: requireRecentAuth(300, { level: 2 }) }, async () => ({ ok: true }));
 */
export function requireRecentAuth(
  maxAgeSeconds: number,
  options?: RecentAuthOptions,
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const recent = createRecentAuthCheck(maxAgeSeconds, options);
  return async (request, reply) => {
    const result = recent.check(factsOf(request));
    if (result.ok) return;
    await reply.code(result.status).header('cache-control', 'no-store').send(result.body);
  };
}

function factsOf(request: FastifyRequest): RecentAuthFacts {
  let control: FastifySessionControl | undefined;
  try {
    control = (request as { sessionControl?: FastifySessionControl }).sessionControl;
  } catch (error) {
    // A request outside the cookie's path has no session: nobody is signed in on it.
    if (isTesseraError(error) && error.code === 'ERR_INVALID_ARGUMENT') {
      return { userId: null, authAt: null, now: 0 };
    }
    throw error;
  }
  if (control === undefined || control === null) {
    throw new TesseraError(
      'ERR_CONFIG',
      'requireRecentAuth needs the tessera-session/fastify plugin registered',
    );
  }
  return {
    userId: control.userId,
    authAt: control.authAt,
    authLevel: control.authLevel,
    now: control.now(),
  };
}
