/**
 * Who is calling the JSON API: a token client (an `Authorization: Bearer` access token, or
 * `Authorization: DPoP` with a proof for a key-bound one, checked by the library's own
 * `createTokenGuard`, whose session must still be alive) or a browser with a session cookie.
 */
import type { Request } from 'express';
import type { SessionRecord } from 'tessera-session';
import {
  createTokenGuard,
  isValidHandle,
  TesseraError,
  type TokenAuthResult,
} from 'tessera-session';
import type { AccessTokenClaims } from 'tessera-session/tokens';
import type { AppDeps, Caller } from '../context.js';
import { ApiError, invalidToken } from '../errors.js';
import type { ProbeGuard } from '../middleware/probe-throttle.js';
import type { BrowserSessions } from './browser-session.js';

export type ResolveCaller = (req: Request) => Promise<Caller>;

/**
 * A DPoP refusal keeps the guard's own answer (RFC 9449 §7.1: `WWW-Authenticate: DPoP
 * error=…`, and `DPoP-Nonce` with `use_dpop_nonce`); Bearer refusals keep the generic one.
 */
function dpopAnswer(
  req: Request,
  result: Extract<TokenAuthResult, { ok: false }>,
  requireDpop: boolean,
): ApiError | null {
  const usedDpop = /^dpop /i.test(req.get('authorization') ?? '');
  if (!usedDpop && !requireDpop && result.error === 'invalid_token') return null;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers)) {
    headers[name === 'dpop-nonce' ? 'DPoP-Nonce' : name] = value;
  }
  return new ApiError(401, result.error, result.message, headers);
}

/**
 * @example const caller = createCallerResolver(deps, probe, browser); const who = await caller(req);
 */
export function createCallerResolver(
  deps: Pick<AppDeps, 'tokens' | 'store' | 'logger' | 'dpop' | 'config'>,
  probe: ProbeGuard,
  browser: BrowserSessions,
): ResolveCaller {
  // The record the guard's session check found, handed to the route without a second read.
  const records = new WeakMap<AccessTokenClaims, SessionRecord>();
  const guard = createTokenGuard({
    tokens: deps.tokens,
    dpop: deps.dpop,
    requireDpop: deps.config.requireDpop,
    ...(deps.config.origin === undefined ? {} : { publicOrigin: deps.config.origin }),
    // The token is only as alive as its session: revocation takes effect at once.
    async isSessionActive(sid, claims) {
      const record = isValidHandle(sid) ? await deps.store.getByHandle(sid) : null;
      if (!record || record.userId !== claims.sub || record.expiresAt <= Date.now()) return false;
      // Only token (hybrid) sessions back access tokens: a token naming a browser session
      // (forged with a leaked key, or minted for one) is refused.
      if (record.meta.strategy !== 'hybrid') return false;
      records.set(claims, record);
      return true;
    },
  });

  async function tokenCaller(req: Request): Promise<Caller> {
    const result = await guard.authenticate({
      header: (name) => req.get(name),
      method: req.method,
      targetUrl: () => `${req.protocol}://${req.get('host') ?? 'localhost'}${req.originalUrl}`,
    });
    if (!result.ok) {
      if (result.status === 503) {
        throw new TesseraError('ERR_STORE_UNAVAILABLE', 'the session store is unavailable');
      }
      const dpopRefusal = dpopAnswer(req, result, deps.config.requireDpop);
      if (dpopRefusal) {
        deps.logger.info({ event: 'token_refused', code: result.code }, 'access token refused');
        throw dpopRefusal;
      }
      if (result.code === 'ERR_TOKEN_REVOKED') {
        throw invalidToken('the session of this token has ended; sign in again');
      }
      probe.unknown(req, 'access token');
      deps.logger.info({ event: 'token_refused', code: result.code }, 'access token refused');
      throw invalidToken('the access token is missing, invalid or expired');
    }
    const record = records.get(result.claims);
    if (!record) throw invalidToken('the token is not tied to a session; sign in again');
    return {
      kind: 'token',
      userId: record.userId as string,
      handle: record.handle,
      strategy: String(record.meta.strategy ?? 'hybrid'),
      expiresAt: record.expiresAt,
      authAt: record.authAt,
      authLevel: typeof record.meta.authLevel === 'number' ? record.meta.authLevel : null,
    };
  }

  return async (req) => {
    if (guard.extract({ header: (name) => req.get(name) }) !== null) return tokenCaller(req);
    const current = await browser.current(req);
    if (!current || current.userId === null) {
      throw invalidToken('sign in first (Bearer token or session cookie)');
    }
    return {
      kind: 'cookie',
      userId: current.userId,
      handle: current.handle,
      strategy: current.strategy,
      expiresAt: current.expiresAt,
      authAt: current.authAt,
      authLevel: current.authLevel,
    };
  };
}
