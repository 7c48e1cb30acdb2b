/**
 * The JSON API of the hybrid strategy: sign-in for a token pair, refresh rotation with reuse
 * detection, the caller's identity and sessions, revoking one of them, and sign-out.
 */
import express, { type Request, type Router } from 'express';
import { isTesseraError, isValidHandle, type LoginOptions } from 'tessera-session';
import { changeAccount } from '../account.js';
import type { ResolveCaller } from '../auth/caller.js';
import { type Authenticate, GENERIC_LOGIN_ERROR, PASSWORD_SIGN_IN } from '../auth/sign-in.js';
import { requireRecentAuth } from '../auth/step-up.js';
import type { TokenIssuer } from '../auth/token-issue.js';
import { readTokenProof, sendNonce } from '../auth/token-proof.js';
import { type AppDeps, clientIp, controlOf } from '../context.js';
import { ApiError } from '../errors.js';
import { jsonBody, requireType } from '../middleware/body.js';
import { clearSiteCookies } from '../middleware/credential-responses.js';
import type { ProbeGuard } from '../middleware/probe-throttle.js';
import { sessionJson } from '../session-json.js';
import { destroySession } from './page-routes.js';

type ApiDeps = Pick<
  AppDeps,
  'manager' | 'refresh' | 'dpop' | 'store' | 'metrics' | 'logger' | 'users' | 'config' | 'now'
>;

/** What the API routes are built from. */
export interface ApiParts {
  authenticate: Authenticate;
  caller: ResolveCaller;
  issuer: TokenIssuer;
  probe: ProbeGuard;
  /** Throws ERR_CSRF when a state-changing request fails the Origin / Fetch-Metadata guard. */
  checkOrigin(req: Request): void;
}

function jsonObject(req: Request): Record<string, unknown> | null {
  const body = req.body as unknown;
  return body && typeof body === 'object' && !Array.isArray(body)
    ? (body as Record<string, unknown>)
    : null;
}

/**
 * @example app.use(apiRoutes(deps, { authenticate, caller, issuer, probe }));
 */
export function apiRoutes(deps: ApiDeps, parts: ApiParts): Router {
  const router = express.Router();
  addTokenRoutes(router, deps, parts);
  addSessionRoutes(router, deps, parts.caller, parts.issuer);
  return router;
}

function addTokenRoutes(router: Router, deps: ApiDeps, parts: ApiParts): void {
  const { manager, refresh, metrics, logger } = deps;
  const { authenticate, issuer } = parts;
  const json = [requireType('application/json'), jsonBody];

  router.post('/api/token', ...json, async (req, res) => {
    const body = jsonObject(req);
    if (typeof body?.username !== 'string' || typeof body.password !== 'string') {
      throw new ApiError(400, 'invalid_request', 'send {"username": "...", "password": "..."}');
    }
    // The proof first: a refused one costs no password check and issues nothing.
    const proof = await readTokenProof(req, deps);
    const result = await authenticate(body.username, body.password, req);
    if (!result.ok) {
      if (result.wait > 0) {
        throw new ApiError(429, 'too_many_requests', 'too many failed sign-ins; try again later', {
          'Retry-After': String(result.wait),
        });
      }
      throw new ApiError(401, 'invalid_credentials', GENERIC_LOGIN_ERROR);
    }
    // A password sign-in: level 1, method 'pwd' (what step-up checks compare with).
    const facts: LoginOptions = {
      strategy: 'hybrid',
      ip: clientIp(req),
      ...PASSWORD_SIGN_IN,
    };
    const ua = req.get('user-agent');
    if (ua) facts.userAgent = ua;
    const created = await manager.login(null, result.user, facts);
    const refreshToken = await refresh.issue(created.key, proof ? { jkt: proof.jkt } : {});
    metrics.sessionsCreated.inc({ strategy: 'hybrid' });
    logger.info(
      { event: 'login', user: result.user, handle: created.handle, strategy: 'hybrid' },
      'token issued',
    );
    const pair = {
      access: await issuer.signAccess(created, proof?.jkt),
      refresh: refreshToken,
      handle: created.handle,
      bound: proof !== null,
    };
    sendNonce(res, deps);
    // A browser client may ask for the refresh token in an HttpOnly cookie instead of the body.
    issuer.send(res, pair, body.refresh_cookie === true ? { req } : undefined);
  });

  router.post('/api/token/refresh', ...json, async (req, res) => {
    const body = jsonObject(req);
    const fromBody = typeof body?.refresh_token === 'string' ? body.refresh_token : null;
    const fromCookie = fromBody === null ? issuer.readCookie(req) : null;
    if (fromBody === null && fromCookie === null) {
      throw new ApiError(400, 'invalid_request', 'send {"refresh_token": "..."}');
    }
    // The cookie is sent by the browser on its own: the request must come from our origin.
    if (fromCookie !== null) parts.checkOrigin(req);
    const proof = await readTokenProof(req, deps);
    try {
      // A family bound at sign-in rotates only with a proof by the same key; another key (or
      // none) is treated as reuse and ends the session.
      const rotation = await refresh.rotate(
        (fromBody ?? fromCookie) as string,
        proof ? { jkt: proof.jkt } : {},
      );
      const access = await issuer.signAccess(rotation.record, proof?.jkt);
      const pair = {
        access,
        refresh: rotation.token,
        handle: rotation.record.handle,
        bound: proof !== null,
      };
      sendNonce(res, deps);
      issuer.send(res, pair, fromCookie !== null ? { req } : undefined);
    } catch (error) {
      if (
        isTesseraError(error, 'ERR_REFRESH_INVALID') ||
        isTesseraError(error, 'ERR_REFRESH_REUSED')
      ) {
        if (error.code === 'ERR_REFRESH_INVALID') parts.probe.unknown(req, 'refresh token');
        throw new ApiError(401, 'invalid_grant', error.message);
      }
      throw error;
    }
  });
}

function addSessionRoutes(
  router: Router,
  deps: ApiDeps,
  caller: ResolveCaller,
  issuer: TokenIssuer,
): void {
  const { manager, refresh, metrics, logger } = deps;

  router.get('/api/me', async (req, res) => {
    const who = await caller(req);
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      sub: who.userId,
      username: who.userId,
      session_id: who.handle,
      strategy: who.strategy,
      expires_at: new Date(who.expiresAt).toISOString(),
    });
  });

  router.get('/api/sessions', async (req, res) => {
    const who = await caller(req);
    const list = await manager.listUserSessions(who.userId);
    res.setHeader('Cache-Control', 'no-store');
    res.json({ sessions: list.map((info) => sessionJson(info, who.handle)) });
  });

  router.delete('/api/sessions/:id', async (req, res) => {
    const who = await caller(req);
    const id = String(req.params.id);
    // Ending another session is sensitive: it needs a recent sign-in.
    if (id !== who.handle) requireRecentAuth(who, deps.config.reauthMaxAge, deps.now());
    let revoked = false;
    if (isValidHandle(id)) {
      revoked =
        who.kind === 'cookie'
          ? await controlOf(req).revoke(id)
          : await manager.revoke(id, { userId: who.userId });
    }
    if (!revoked) throw new ApiError(404, 'not_found', 'no session of yours has this session_id');
    metrics.sessionsRevoked.inc({ reason: 'revoke' });
    logger.info(
      { event: 'revoke', user: who.userId, handle: id, by: who.handle },
      'session revoked',
    );
    res.status(204).end();
  });

  // Deleting one's own account ends every session, refresh family and access token at once.
  router.delete('/api/me', async (req, res) => {
    const who = await caller(req);
    requireRecentAuth(who, deps.config.reauthMaxAge, deps.now());
    const change = await changeAccount(deps.users, manager, who.userId, 'delete');
    metrics.sessionsRevoked.inc({ reason: 'revoke-user' }, change.sessions);
    logger.warn(
      { event: 'account_deleted', user: who.userId, sessions: change.sessions },
      'account deleted',
    );
    if (who.kind === 'cookie') clearSiteCookies(res);
    res.status(204).end();
  });

  router.post('/api/logout', async (req, res) => {
    const who = await caller(req);
    if (who.kind === 'cookie') {
      await destroySession(req);
      clearSiteCookies(res);
    } else {
      await refresh.revokeFamily((await deps.store.getByHandle(who.handle))?.key ?? '-');
      issuer.clearCookie(req, res);
    }
    logger.info({ event: 'logout', user: who.userId, handle: who.handle }, 'signed out');
    res.status(204).end();
  });
}
