/**
 * Issuing the token pair of the hybrid strategy: a short-lived access JWT whose `sid` names
 * the session, and the session's rotating refresh token, in the contract's JSON shape.
 */
import type { Response } from 'express';
import type { SessionRecord } from 'tessera-session';
import type { AppDeps } from '../context.js';

export interface TokenIssuer {
  /** A signed access token for the session's user and handle. */
  signAccess(record: Pick<SessionRecord, 'userId' | 'handle'>): Promise<string>;
  /** Sends `{access_token, token_type, expires_in, refresh_token, session_id}`, never cached. */
  send(res: Response, access: string, refreshToken: string, handle: string): void;
}

/**
 * @example const issuer = createTokenIssuer(deps); issuer.send(res, await issuer.signAccess(record), rt, record.handle);
 */
export function createTokenIssuer(deps: Pick<AppDeps, 'tokens' | 'config'>): TokenIssuer {
  return {
    signAccess(record) {
      return deps.tokens.sign({
        sub: String(record.userId),
        sid: record.handle,
        username: record.userId,
      });
    },
    send(res, access, refreshToken, handle) {
      res.setHeader('Cache-Control', 'no-store');
      res.json({
        access_token: access,
        token_type: 'Bearer',
        expires_in: deps.config.accessTtl,
        refresh_token: refreshToken,
        session_id: handle,
      });
    },
  };
}
