/**
 * `requireRecentAuth(maxAgeSeconds, { level })` for Web-standard handlers, and
 * `honoRecentAuth` for Hono: step-up authentication. The wrapper guards a session handler
 * (the kind `withSession` takes), the Hono guard a route after `tesseraHono`; either lets the
 * request through only when the session shows a signed-in user who authenticated within the
 * last `maxAgeSeconds` (by the session manager's clock), at `level` or above when one is
 * required; otherwise the answer is 401 `unauthorized` (no signed-in session) or 403
 * `reauth_required` (signed in too long ago, or below the level, with `"level"` in the body),
 * as JSON with `Cache-Control: no-store`. The decision is `http/recent-auth.ts`.
 */
import {
  createRecentAuthCheck,
  type RecentAuthCheck,
  type RecentAuthOptions,
} from '../../http/recent-auth.js';
import { TesseraError } from '../../shared/errors.js';
import type { FetchSession } from './session.js';
import type { SessionHandler } from './with-session.js';

/**
 * Makes a wrapper that guards session handlers with a recent sign-in (at `level` or above
 * when given); throws `ERR_CONFIG` unless `maxAgeSeconds` is a positive finite number and
 * `level` a positive integer.
 * @example
 * const recent = requireRecentAuth(300);
 * export const POST = withSession(recent(async () => Response.json({ deleted: true })), { store });
 * const strong = requireRecentAuth(300, { level: 2 }); // a second factor within 5 minutes
 */
export function requireRecentAuth(
  maxAgeSeconds: number,
  options?: RecentAuthOptions,
): <Extra extends unknown[] = []>(handler: SessionHandler<Extra>) => SessionHandler<Extra> {
  const recent = createRecentAuthCheck(maxAgeSeconds, options);
  return (handler) =>
    (request, ctx, ...extra) =>
      refusal(recent, ctx.session) ?? handler(request, ctx, ...extra);
}

/** The part of Hono's `Context` the guard uses. */
export interface HonoRecentAuthContext {
  get(key: 'session'): FetchSession | undefined;
}

/** The guard: Hono's `MiddlewareHandler` shape. */
export type HonoRecentAuthMiddleware = (
  c: HonoRecentAuthContext,
  next: () => Promise<void>,
) => Promise<Response | undefined>;

/**
 * A Hono middleware that guards routes with a recent sign-in (at `level` or above when
 * given), used after `tesseraHono`; throws `ERR_CONFIG` unless `maxAgeSeconds` is a positive
 * finite number and `level` a positive integer.
 * @example
 * app.use(tesseraHono({ store }));
 * app.post('/account/delete', honoRecentAuth(300), (c) => c.json({ deleted: true }));
 * app.post('/payouts', honoRecentAuth(300, { level: 2 }), (c) => c.json({ ok: true }));
 */
export function honoRecentAuth(
  maxAgeSeconds: number,
  options?: RecentAuthOptions,
): HonoRecentAuthMiddleware {
  const recent = createRecentAuthCheck(maxAgeSeconds, options);
  return async (c, next) => {
    const session = c.get('session');
    if (session === undefined) {
      throw new TesseraError(
        'ERR_CONFIG',
        'honoRecentAuth needs the tesseraHono middleware mounted before it',
      );
    }
    const refused = refusal(recent, session);
    if (refused !== null) return refused;
    await next();
    return undefined;
  };
}

function refusal(recent: RecentAuthCheck, session: FetchSession): Response | null {
  const result = recent.check({
    userId: session.userId,
    authAt: session.authAt,
    authLevel: session.authLevel,
    now: session.now(),
  });
  if (result.ok) return null;
  return Response.json(result.body, {
    status: result.status,
    headers: { 'cache-control': 'no-store' },
  });
}
