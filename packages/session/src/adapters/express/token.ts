/**
 * `requireToken`: Express middleware for the `jwt` and `hybrid` strategies. It verifies the
 * access token (Bearer header or HttpOnly cookie) with a token guard and answers 401 with
 * `WWW-Authenticate: Bearer error="invalid_token"` when it is absent or invalid, 403 when it
 * lacks a required claim, and 503 when the session check cannot reach the store.
 * A token from the cookie on an unsafe cross-site request is refused with 403 (`csrf`), and on
 * HTTPS only the `__Host-` cookie is read (see `http/token-guard.ts`). With a DPoP verifier on
 * the guard, `Authorization: DPoP` tokens are checked against their proof for this request's
 * method and URL (RFC 9449).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type ClaimRequirement,
  createTokenGuard,
  type TokenGuard,
  type TokenGuardOptions,
  type TokenRequest,
} from '../../http/token-guard.js';
import type { AccessTokenClaims } from '../../tokens/index.js';

/** The request after `requireToken`: the verified claims are on `req.auth`. */
export interface TokenAuthenticatedRequest extends IncomingMessage {
  auth?: AccessTokenClaims;
}

/** The absolute URL of a request, as Express (or a bare Node request) sees it. */
function requestUrl(req: IncomingMessage): string {
  const express = req as { protocol?: string; originalUrl?: string };
  const protocol =
    express.protocol ??
    ((req.socket as { encrypted?: boolean } | undefined)?.encrypted === true ? 'https' : 'http');
  // The Host header (Express 4's req.host drops the port); behind a proxy that rewrites it,
  // the guard's publicOrigin says what clients call.
  const host = req.headers.host ?? 'localhost';
  return `${protocol}://${host}${express.originalUrl ?? req.url ?? '/'}`;
}

/**
 * @example
 * const guard = createTokenGuard({ tokens });
 * app.get('/api/admin', requireToken(guard, { role: 'admin' }), (req, res) => res.json(req.auth));
 */
export function requireToken(
  guard: TokenGuard | TokenGuardOptions,
  require?: ClaimRequirement,
): (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void {
  const resolved = 'authenticate' in guard ? guard : createTokenGuard(guard);
  return (req, res, next) => {
    const request: TokenRequest = {
      header: (name: string) => {
        const value = req.headers[name];
        return Array.isArray(value) ? value[0] : value;
      },
      method: req.method ?? 'GET',
      // Express's `req.secure` honours its `trust proxy` setting; a bare Node request has none.
      isSecure:
        (req as { secure?: boolean }).secure ??
        (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true,
      // For the htu of DPoP proofs: Express's protocol honours `trust proxy`.
      targetUrl: () => requestUrl(req),
    };
    resolved.authenticate(request, require).then((result) => {
      if (result.ok) {
        (req as TokenAuthenticatedRequest).auth = result.claims;
        next();
        return;
      }
      const body = JSON.stringify({ error: result.error, message: result.message });
      res.writeHead(result.status, {
        ...result.headers,
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        'cache-control': 'no-store',
      });
      res.end(body);
    }, next);
  };
}
