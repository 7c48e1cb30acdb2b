/**
 * `requireRecentAuth(maxAgeSeconds)` for Web-standard handlers: step-up authentication. It
 * wraps a session handler (the kind `withSession` takes) so that it runs only when
 * `ctx.session` shows a signed-in user who authenticated within the last `maxAgeSeconds` (by
 * the session manager's clock); otherwise the answer is 401 `unauthorized` (no signed-in
 * session) or 403 `reauth_required` (signed in too long ago), as JSON with
 * `Cache-Control: no-store`. The decision is `http/recent-auth.ts`.
 */
import { createRecentAuthCheck } from '../../http/recent-auth.js';
import type { SessionHandler } from './with-session.js';

/**
 * Makes a wrapper that guards session handlers with a recent sign-in; throws `ERR_CONFIG`
 * unless `maxAgeSeconds` is a positive finite number.
 * @example
 * const recent = requireRecentAuth(300);
 * export const POST = withSession(recent(async () => Response.json({ deleted: true })), { store });
 */
export function requireRecentAuth(
  maxAgeSeconds: number,
): <Extra extends unknown[] = []>(handler: SessionHandler<Extra>) => SessionHandler<Extra> {
  const recent = createRecentAuthCheck(maxAgeSeconds);
  return (handler) =>
    (request, ctx, ...extra) => {
      const { session } = ctx;
      const result = recent.check({
        userId: session.userId,
        authAt: session.authAt,
        now: session.now(),
      });
      if (result.ok) return handler(request, ctx, ...extra);
      return Response.json(result.body, {
        status: result.status,
        headers: { 'cache-control': 'no-store' },
      });
    };
}
