/**
 * `withToken` for Web-standard handlers: the `jwt` and `hybrid` strategies. The wrapped
 * handler runs only for a request whose access token (Bearer header or HttpOnly cookie)
 * verifies and carries the required claims; it gets them as `ctx.auth`. Otherwise the answer
 * is 401 with `WWW-Authenticate: Bearer error="invalid_token"`, 403 for a missing claim, or
 * 503 when the session check cannot reach the store.
 * A token from the cookie on an unsafe cross-site request is refused with 403 (`csrf`), and on
 * HTTPS only the `__Host-` cookie is read (see `http/token-guard.ts`). With a DPoP verifier on
 * the guard, `Authorization: DPoP` tokens are checked against their proof for this request's
 * method and URL (RFC 9449).
 */
import {
  type ClaimRequirement,
  createTokenGuard,
  type TokenGuard,
  type TokenGuardOptions,
} from '../../http/token-guard.js';
import type { AccessTokenClaims } from '../../tokens/index.js';

/** What a token-guarded handler gets besides the request. */
export interface TokenContext {
  auth: AccessTokenClaims;
}

/**
 * @example
 * export const GET = withToken(async (request, { auth }) => Response.json({ sub: auth.sub }), guard);
 */
export function withToken<Rest extends unknown[]>(
  handler: (request: Request, ctx: TokenContext, ...rest: Rest) => Response | Promise<Response>,
  guard: TokenGuard | TokenGuardOptions,
  require?: ClaimRequirement,
): (request: Request, ...rest: Rest) => Promise<Response> {
  const resolved = 'authenticate' in guard ? guard : createTokenGuard(guard);
  return async (request, ...rest) => {
    const result = await resolved.authenticate(
      {
        header: (name) => request.headers.get(name) ?? undefined,
        method: request.method,
        isSecure: request.url.startsWith('https:'),
        url: request.url,
      },
      require,
    );
    if (result.ok) return handler(request, { auth: result.claims }, ...rest);
    return Response.json(
      { error: result.error, message: result.message },
      { status: result.status, headers: { ...result.headers, 'cache-control': 'no-store' } },
    );
  };
}
