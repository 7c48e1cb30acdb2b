/**
 * Issuing the token pair of the hybrid strategy: a short-lived access JWT whose `sid` names
 * the session, and the session's rotating refresh token, in the contract's JSON shape. For
 * browser clients that ask for it, the refresh token travels instead in an HttpOnly, Secure,
 * SameSite=Strict cookie scoped to the refresh path (`__Secure-tessera.rt`, the library's
 * `createTokenCookies`), so page scripts never see it. Tokens issued with a DPoP proof are
 * bound to its key (`cnf.jkt`) and answered with `token_type: "DPoP"`.
 */
import type { Request, Response } from 'express';
import type { SessionRecord } from 'tessera-session';
import { createTokenCookies } from 'tessera-session';
import type { AppDeps } from '../context.js';

export interface TokenIssuer {
  /** A signed access token for the session's user and handle, bound to `jkt` when given. */
  signAccess(record: Pick<SessionRecord, 'userId' | 'handle'>, jkt?: string): Promise<string>;
  /**
   * Sends `{access_token, token_type, expires_in, refresh_token, session_id}`, never cached;
   * with `cookie`, the refresh token goes into the refresh cookie instead of the body.
   */
  send(
    res: Response,
    pair: { access: string; refresh: string; handle: string; bound?: boolean },
    cookie?: { req: Request },
  ): void;
  /** The refresh token the request's refresh cookie carries, or null. */
  readCookie(req: Request): string | null;
  /** Deletes the refresh cookie. */
  clearCookie(req: Request, res: Response): void;
}

/** The path the refresh cookie is scoped to. */
export const REFRESH_PATH = '/api/token/refresh';

/**
 * @example const issuer = createTokenIssuer(deps); issuer.send(res, { access, refresh, handle });
 */
export function createTokenIssuer(deps: Pick<AppDeps, 'tokens' | 'config'>): TokenIssuer {
  const cookies = createTokenCookies({ refreshPath: REFRESH_PATH });
  return {
    signAccess(record, jkt) {
      return deps.tokens.sign({
        sub: String(record.userId),
        sid: record.handle,
        username: record.userId,
        ...(jkt === undefined ? {} : { cnf: { jkt } }),
      });
    },
    send(res, pair, cookie) {
      res.setHeader('Cache-Control', 'no-store');
      const body: Record<string, unknown> = {
        access_token: pair.access,
        token_type: pair.bound === true ? 'DPoP' : 'Bearer',
        expires_in: deps.config.accessTtl,
        refresh_token: pair.refresh,
        session_id: pair.handle,
      };
      if (cookie) {
        res.append(
          'Set-Cookie',
          cookies.refresh.serialize(pair.refresh, {
            isSecure: cookie.req.secure,
            persistentMaxAgeSeconds: deps.config.idleTtl,
          }),
        );
        delete body.refresh_token;
      }
      res.json(body);
    },
    readCookie(req) {
      return cookies.refresh.read(req.headers.cookie, { isSecure: true });
    },
    clearCookie(req, res) {
      if (this.readCookie(req) !== null) {
        res.append('Set-Cookie', cookies.refresh.clear({ isSecure: true }));
      }
    },
  };
}
