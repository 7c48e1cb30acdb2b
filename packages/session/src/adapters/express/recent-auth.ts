/**
 * `requireRecentAuth(maxAgeSeconds, { level })`: Express middleware for step-up
 * authentication. It lets a request through only when `req.sessionControl` shows a signed-in
 * user who authenticated within the last `maxAgeSeconds` (by the session manager's clock), at
 * `level` or above when one is required; otherwise it answers 401 `unauthorized` (no
 * signed-in session) or 403 `reauth_required` (signed in too long ago, or below the level,
 * with `"level"` in the body), as JSON with `Cache-Control: no-store`. The decision is
 * `http/recent-auth.ts`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRecentAuthCheck, type RecentAuthOptions } from '../../http/recent-auth.js';
import { withHttpStatus } from '../../http/status.js';
import { TesseraError } from '../../shared/errors.js';
import type { SessionControl } from './session-control.js';

/**
 * Guards a route with a recent sign-in (at `level` or above when given); throws `ERR_CONFIG`
 * unless `maxAgeSeconds` is a positive finite number and `level` a positive integer. Mount it
 * after the session middleware.
 * @example
 * app.post('/account/delete', requireRecentAuth(300), (req, res) => res.json({ deleted: true }));
 * app.post('/payouts', requireRecentAuth(300, { level: 2 }), (req, res) => res.json({ ok: true }));
 */
export function requireRecentAuth(
  maxAgeSeconds: number,
  options?: RecentAuthOptions,
): (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void {
  const recent = createRecentAuthCheck(maxAgeSeconds, options);
  return (req, res, next) => {
    const control = (req as { sessionControl?: SessionControl }).sessionControl;
    if (control === undefined) {
      next(
        withHttpStatus(
          new TesseraError(
            'ERR_CONFIG',
            'requireRecentAuth needs the tessera-session/express middleware mounted before it',
          ),
        ),
      );
      return;
    }
    let result: ReturnType<typeof recent.check>;
    try {
      result = recent.check({
        userId: control.userId,
        authAt: control.authAt,
        authLevel: control.authLevel,
        now: control.now(),
      });
    } catch (error) {
      next(error);
      return;
    }
    if (result.ok) {
      next();
      return;
    }
    const body = JSON.stringify(result.body);
    res.writeHead(result.status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    });
    res.end(body);
  };
}
