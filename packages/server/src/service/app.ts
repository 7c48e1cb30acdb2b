/**
 * The Express application of `tessera serve`: pages (cookie sessions through Tessera's own
 * Express adapter), the JSON token API (the `hybrid` strategy: access JWT + rotating refresh
 * token over the same session records), JWKS, health and metrics. Every response carries the
 * security headers; errors never leak as 500 for bad input.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { SessionInfo, SessionManager, SessionRecord, Store } from 'tessera-session';
import { isTesseraError, isValidHandle, TesseraError } from 'tessera-session';
import { readCookie, unsignExpressValue } from 'tessera-session/cookies';
import { createCsrfGuard, createCsrfToken, verifyCsrfToken } from 'tessera-session/csrf';
import type { Session as ExpressSession, SessionControl } from 'tessera-session/express';
import session from 'tessera-session/express';
import type { AccessTokens, RefreshTokens } from 'tessera-session/tokens';
import type { ServiceConfig } from './config.js';
import type { ServiceMetrics } from './metrics.js';
import {
  type PageContext,
  type PageSession,
  renderDashboard,
  renderDevices,
  renderError,
  renderSignIn,
  STYLESHEET,
} from './pages.js';
import { sessionJson } from './session-json.js';
import type { Throttle } from './throttle.js';
import type { UserDirectory } from './users.js';

/** Everything the app needs, made by `startService`. */
export interface AppDeps {
  config: ServiceConfig;
  store: Store;
  manager: SessionManager;
  tokens: AccessTokens;
  refresh: RefreshTokens;
  users: UserDirectory;
  metrics: ServiceMetrics;
  logger: Logger;
  cookieSecret: string;
  csrfSecret: string;
  /** Failed sign-ins per user name. */
  loginThrottle: Throttle;
  /** Failed sign-ins per client address. */
  addressThrottle: Throttle;
  /** Unknown session IDs and tokens per client address. */
  probeThrottle: Throttle;
  /** Answers whether the store is reachable (cached for a moment). */
  healthy(): Promise<boolean>;
}

/** The caller of an API request: a token client or a browser session. */
interface Caller {
  kind: 'token' | 'cookie';
  userId: string;
  handle: string;
  strategy: string;
  expiresAt: number;
}

/** An API error with its HTTP status. */
class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;
  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

const GENERIC_LOGIN_ERROR = 'Wrong user name or password.';
const COOKIE_NAME = 'tessera.sid';

const CSP = [
  "default-src 'none'",
  "style-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

function sessionOf(req: Request): ExpressSession {
  return (req as unknown as { session: ExpressSession }).session;
}

/** Tessera's helpers for the request's session (login, device list, revoke). */
function controlOf(req: Request): SessionControl {
  return (req as unknown as { sessionControl: SessionControl }).sessionControl;
}

function clientIp(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

function isApi(req: Request): boolean {
  return req.path.startsWith('/api/');
}

/**
 * Builds the Express app.
 * @example const app = createApp(deps); http.createServer(app).listen(3000);
 */
export function createApp(deps: AppDeps): express.Express {
  const { config, manager, tokens, refresh, users, metrics, logger } = deps;
  const originGuard = createCsrfGuard();
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  if (config.trustProxy > 0) app.set('trust proxy', config.trustProxy);

  // Security headers and an access log without secrets (no query strings, no headers).
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.setHeader('Content-Security-Policy', CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'same-origin');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    if (req.secure) {
      res.setHeader('Strict-Transport-Security', 'max-age=63072000; includeSubDomains');
    }
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.info(
        {
          method: req.method,
          path: req.path,
          status: res.statusCode,
          ms: Math.round(ms * 10) / 10,
        },
        'request',
      );
    });
    next();
  });

  // Public endpoints: no session needed.
  app.get('/healthz', async (_req, res) => {
    const ok = await deps.healthy();
    res.setHeader('Cache-Control', 'no-store');
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable' });
  });
  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', metrics.registry.contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.send(await metrics.registry.metrics());
  });
  app.get('/assets/style.css', (_req, res) => {
    res.setHeader('Content-Type', 'text/css; charset=utf-8');
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.send(STYLESHEET);
  });
  app.get('/.well-known/jwks.json', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=60');
    res.json(tokens.jwks());
  });

  // Bursts of unknown session IDs or tokens from one address are throttled.
  app.use((req, res, next) => {
    const wait = deps.probeThrottle.retryAfter(`ip:${clientIp(req)}`);
    if (wait === 0) return next();
    metrics.throttled.inc({ kind: 'unknown-credentials' });
    res.setHeader('Retry-After', String(wait));
    fail(
      req,
      res,
      429,
      'too_many_requests',
      'Too many requests with unknown credentials; try again later.',
    );
  });

  function noteUnknown(req: Request, what: string): void {
    const ip = clientIp(req);
    const wait = deps.probeThrottle.fail(`ip:${ip}`);
    if (wait > 0)
      logger.warn({ event: 'probe_burst', ip, what }, 'unknown credentials burst; throttling');
  }

  app.use(
    session({
      secret: deps.cookieSecret,
      name: COOKIE_NAME,
      // `__Host-tessera.sid` whenever the cookie is Secure (HTTPS, or a trusted proxy said so).
      hostPrefix: true,
      manager,
      resave: false,
      saveUninitialized: false,
      cookie: {
        httpOnly: true,
        sameSite: 'lax',
        path: '/',
        secure: config.secureCookies,
      },
      proxy: config.trustProxy > 0 ? true : undefined,
      logger: { warn: (message: string) => logger.warn(message) },
    }),
  );

  const json = express.json({ limit: '16kb', strict: true, type: () => true });
  const form = express.urlencoded({
    extended: false,
    limit: '16kb',
    parameterLimit: 20,
    type: () => true,
  });

  function requireType(type: string) {
    return (req: Request, _res: Response, next: NextFunction): void => {
      next(
        req.is(type)
          ? undefined
          : new ApiError(415, 'unsupported_media_type', `send the body as ${type}`),
      );
    };
  }

  /** The signed-in browser session of this request, or null. */
  async function browserSession(
    req: Request,
  ): Promise<(SessionInfo & { current: boolean }) | null> {
    const list = await controlOf(req).sessions();
    const current = list.find((s) => s.current) ?? null;
    // A cookie that names no live session (expired, revoked, forged or guessed) is counted;
    // a live anonymous one (e.g. after a forced re-authentication) is not.
    if (current === null) {
      const raw =
        readCookie(req.headers.cookie, `__Host-${COOKIE_NAME}`) ??
        readCookie(req.headers.cookie, COOKIE_NAME);
      if (raw !== null && unsignExpressValue(raw, [deps.cookieSecret]) !== sessionOf(req).id) {
        noteUnknown(req, 'session cookie');
      }
    }
    return current;
  }

  function pageContext(user?: string, handle?: string): PageContext {
    const ctx: PageContext = { demo: config.demo };
    if (user !== undefined) ctx.user = user;
    if (handle !== undefined) ctx.csrf = createCsrfToken(handle, deps.csrfSecret);
    return ctx;
  }

  function toPage(info: SessionInfo & { current?: boolean }): PageSession {
    return {
      sessionId: info.handle,
      current: info.current === true,
      strategy: info.strategy,
      createdAt: info.createdAt,
      lastSeenAt: info.lastSeenAt,
      expiresAt: info.expiresAt,
      userAgent: info.userAgent,
      ip: info.ip,
      anomaly: info.anomaly,
    };
  }

  function checkOrigin(req: Request): void {
    const verdict = originGuard.check({
      method: req.method,
      headers: (name) => req.get(name),
      isSecure: req.secure,
    });
    if (!verdict.ok) throw new TesseraError('ERR_CSRF', `request refused: ${verdict.reason}`);
  }

  function checkFormToken(req: Request, handle: string): void {
    const token = (req.body as Record<string, unknown> | undefined)?._csrf;
    if (!verifyCsrfToken(token, handle, deps.csrfSecret)) {
      throw new TesseraError('ERR_CSRF', 'request refused: missing or invalid CSRF token');
    }
  }

  /** Login throttling: answers the seconds to wait, or 0. */
  function loginWait(name: string, ip: string): number {
    return Math.max(
      deps.loginThrottle.retryAfter(`user:${name}`),
      deps.addressThrottle.retryAfter(`ip:${ip}`),
    );
  }

  async function authenticate(
    nameInput: unknown,
    password: unknown,
    req: Request,
  ): Promise<{ ok: true; user: string } | { ok: false; wait: number }> {
    const name = typeof nameInput === 'string' ? nameInput.trim().toLowerCase().slice(0, 64) : '';
    const ip = clientIp(req);
    const before = loginWait(name, ip);
    if (before > 0) {
      metrics.loginFailures.inc({ reason: 'throttled' });
      metrics.throttled.inc({ kind: 'login' });
      logger.warn({ event: 'login_throttled', ip }, 'sign-in throttled');
      return { ok: false, wait: before };
    }
    const user = await users.verify(name, password);
    if (user === null) {
      metrics.loginFailures.inc({ reason: 'credentials' });
      deps.loginThrottle.fail(`user:${name}`);
      deps.addressThrottle.fail(`ip:${ip}`);
      logger.info({ event: 'login_failed', ip }, 'sign-in failed');
      return { ok: false, wait: 0 };
    }
    deps.loginThrottle.reset(`user:${name}`);
    return { ok: true, user };
  }

  // ---- pages -------------------------------------------------------------------------

  app.get('/', async (req, res) => {
    if (await browserSession(req)) return res.redirect(303, '/dashboard');
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(renderSignIn(pageContext()));
  });

  app.post(
    '/login',
    (req, _res, next) => {
      try {
        checkOrigin(req);
        next();
      } catch (error) {
        next(error);
      }
    },
    requireType('application/x-www-form-urlencoded'),
    form,
    async (req, res) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const username = typeof body.username === 'string' ? body.username : '';
      const result = await authenticate(username, body.password, req);
      res.setHeader('Cache-Control', 'no-store');
      if (!result.ok) {
        if (result.wait > 0) {
          res.setHeader('Retry-After', String(result.wait));
          res
            .status(429)
            .type('html')
            .send(
              renderSignIn(pageContext(), {
                error: 'Too many failed attempts. Try again later.',
                username,
              }),
            );
          return;
        }
        res
          .status(401)
          .type('html')
          .send(renderSignIn(pageContext(), { error: GENERIC_LOGIN_ERROR, username }));
        return;
      }
      const remember = body.remember === '1' || body.remember === 'on' || body.remember === 'true';
      await controlOf(req).login(result.user, { remember });
      metrics.sessionsCreated.inc({ strategy: 'server' });
      logger.info(
        { event: 'login', user: result.user, handle: controlOf(req).handle, strategy: 'server' },
        'signed in',
      );
      res.redirect(303, '/dashboard');
    },
  );

  app.get('/dashboard', async (req, res) => {
    const current = await browserSession(req);
    if (!current || current.userId === null) return res.redirect(303, '/');
    res.setHeader('Cache-Control', 'no-store');
    const ctx = { ...pageContext(current.userId, current.handle), user: current.userId };
    res.type('html').send(renderDashboard(ctx, toPage(current)));
  });

  app.get('/sessions', async (req, res) => {
    const current = await browserSession(req);
    if (!current || current.userId === null) return res.redirect(303, '/');
    const list = await controlOf(req).sessions();
    res.setHeader('Cache-Control', 'no-store');
    const ctx = { ...pageContext(current.userId, current.handle), user: current.userId };
    res.type('html').send(renderDevices(ctx, list.map(toPage)));
  });

  async function signedInForm(req: Request): Promise<(SessionInfo & { current: boolean }) | null> {
    checkOrigin(req);
    const current = await browserSession(req);
    if (current) checkFormToken(req, current.handle);
    return current;
  }

  app.post(
    '/sessions/:id/revoke',
    requireType('application/x-www-form-urlencoded'),
    form,
    async (req, res) => {
      const current = await signedInForm(req);
      if (!current) return res.redirect(303, '/');
      const id = String(req.params.id);
      const revoked = isValidHandle(id) && (await controlOf(req).revoke(id));
      if (!revoked) {
        return res
          .status(404)
          .type('html')
          .send(
            renderError(
              pageContext(current.userId ?? undefined, current.handle),
              404,
              'No such session of yours.',
            ),
          );
      }
      metrics.sessionsRevoked.inc({ reason: 'revoke' });
      logger.info(
        { event: 'revoke', user: current.userId, handle: id, by: current.handle },
        'session revoked',
      );
      res.redirect(303, id === current.handle ? '/' : '/sessions');
    },
  );

  app.post('/logout', requireType('application/x-www-form-urlencoded'), form, async (req, res) => {
    const current = await signedInForm(req);
    if (current) {
      await new Promise<void>((resolve, reject) =>
        sessionOf(req).destroy((error) => (error ? reject(error) : resolve())),
      );
      logger.info({ event: 'logout', user: current.userId, handle: current.handle }, 'signed out');
    }
    res.redirect(303, '/');
  });

  app.post(
    '/logout/all',
    requireType('application/x-www-form-urlencoded'),
    form,
    async (req, res) => {
      const current = await signedInForm(req);
      if (current) {
        const count = await controlOf(req).signOutEverywhere();
        metrics.sessionsRevoked.inc({ reason: 'revoke-user' }, count);
        logger.info({ event: 'logout_all', user: current.userId, count }, 'signed out everywhere');
      }
      res.redirect(303, '/');
    },
  );

  // ---- JSON API ----------------------------------------------------------------------

  function tokenResponse(
    res: Response,
    access: string,
    refreshToken: string,
    handle: string,
  ): void {
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      access_token: access,
      token_type: 'Bearer',
      expires_in: config.accessTtl,
      refresh_token: refreshToken,
      session_id: handle,
    });
  }

  function signAccess(record: Pick<SessionRecord, 'userId' | 'handle'>): Promise<string> {
    return tokens.sign({ sub: String(record.userId), sid: record.handle, username: record.userId });
  }

  app.post('/api/token', requireType('application/json'), json, async (req, res) => {
    const body = req.body as Record<string, unknown> | null;
    if (
      !body ||
      typeof body !== 'object' ||
      Array.isArray(body) ||
      typeof body.username !== 'string' ||
      typeof body.password !== 'string'
    ) {
      throw new ApiError(400, 'invalid_request', 'send {"username": "...", "password": "..."}');
    }
    const result = await authenticate(body.username, body.password, req);
    if (!result.ok) {
      if (result.wait > 0) {
        throw new ApiError(429, 'too_many_requests', 'too many failed sign-ins; try again later', {
          'Retry-After': String(result.wait),
        });
      }
      throw new ApiError(401, 'invalid_credentials', GENERIC_LOGIN_ERROR);
    }
    const facts: { ip?: string; userAgent?: string; strategy: string } = {
      strategy: 'hybrid',
      ip: clientIp(req),
    };
    const ua = req.get('user-agent');
    if (ua) facts.userAgent = ua;
    const created = await manager.login(null, result.user, facts);
    const refreshToken = await refresh.issue(created.key);
    metrics.sessionsCreated.inc({ strategy: 'hybrid' });
    logger.info(
      { event: 'login', user: result.user, handle: created.handle, strategy: 'hybrid' },
      'token issued',
    );
    tokenResponse(res, await signAccess(created), refreshToken, created.handle);
  });

  app.post('/api/token/refresh', requireType('application/json'), json, async (req, res) => {
    const body = req.body as Record<string, unknown> | null;
    if (!body || typeof body !== 'object' || typeof body.refresh_token !== 'string') {
      throw new ApiError(400, 'invalid_request', 'send {"refresh_token": "..."}');
    }
    try {
      const rotation = await refresh.rotate(body.refresh_token);
      tokenResponse(res, await signAccess(rotation.record), rotation.token, rotation.record.handle);
    } catch (error) {
      if (
        isTesseraError(error, 'ERR_REFRESH_INVALID') ||
        isTesseraError(error, 'ERR_REFRESH_REUSED')
      ) {
        if (error.code === 'ERR_REFRESH_INVALID') noteUnknown(req, 'refresh token');
        throw new ApiError(401, 'invalid_grant', error.message);
      }
      throw error;
    }
  });

  async function caller(req: Request): Promise<Caller> {
    const authorization = req.get('authorization');
    if (authorization !== undefined) {
      const match = /^Bearer[ ]+([A-Za-z0-9._~+/-]+=*)$/i.exec(authorization.trim());
      if (!match?.[1]) throw invalidToken('Authorization must be "Bearer <access token>"');
      let claims: Record<string, unknown>;
      try {
        claims = (await tokens.verify(match[1])) as Record<string, unknown>;
      } catch (error) {
        if (error instanceof TesseraError && error.code.startsWith('ERR_TOKEN_')) {
          noteUnknown(req, 'access token');
          throw invalidToken(error.message);
        }
        throw error;
      }
      const sid = claims.sid;
      const sub = claims.sub;
      // The token is only as alive as its session: revocation takes effect at once.
      const record =
        typeof sid === 'string' && isValidHandle(sid) ? await deps.store.getByHandle(sid) : null;
      if (!record || record.userId !== sub || record.expiresAt <= Date.now()) {
        throw invalidToken('the session of this token has ended; sign in again');
      }
      return {
        kind: 'token',
        userId: record.userId as string,
        handle: record.handle,
        strategy: String(record.meta.strategy ?? 'hybrid'),
        expiresAt: record.expiresAt,
      };
    }
    const current = await browserSession(req);
    if (!current || current.userId === null)
      throw invalidToken('sign in first (Bearer token or session cookie)');
    return {
      kind: 'cookie',
      userId: current.userId,
      handle: current.handle,
      strategy: current.strategy,
      expiresAt: current.expiresAt,
    };
  }

  app.get('/api/me', async (req, res) => {
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

  app.get('/api/sessions', async (req, res) => {
    const who = await caller(req);
    const list = await manager.listUserSessions(who.userId);
    res.setHeader('Cache-Control', 'no-store');
    res.json({ sessions: list.map((info) => sessionJson(info, who.handle)) });
  });

  app.delete('/api/sessions/:id', async (req, res) => {
    const who = await caller(req);
    const id = String(req.params.id);
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

  app.post('/api/logout', async (req, res) => {
    const who = await caller(req);
    if (who.kind === 'cookie') {
      await new Promise<void>((resolve, reject) =>
        sessionOf(req).destroy((error) => (error ? reject(error) : resolve())),
      );
    } else {
      await refresh.revokeFamily((await deps.store.getByHandle(who.handle))?.key ?? '-');
    }
    logger.info({ event: 'logout', user: who.userId, handle: who.handle }, 'signed out');
    res.status(204).end();
  });

  // ---- fallbacks ---------------------------------------------------------------------

  app.use((req, res) => {
    fail(req, res, 404, 'not_found', 'No such page.');
  });

  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const { status, code, message, headers } = describe(error);
    if (status === 403) {
      metrics.csrfBlocks.inc();
      logger.warn(
        { event: 'csrf_block', path: req.path, ip: clientIp(req), reason: message },
        'request refused',
      );
    } else if (status >= 500) {
      logger.error(
        { event: 'error', path: req.path, code, err: errorSummary(error) },
        'request failed',
      );
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    fail(req, res, status, code, message);
  });

  function fail(req: Request, res: Response, status: number, code: string, message: string): void {
    res.setHeader('Cache-Control', 'no-store');
    if (isApi(req)) {
      if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
      res.status(status).json({ error: code, message });
      return;
    }
    res
      .status(status)
      .type('html')
      .send(renderError(pageContext(), status, message));
  }

  return app;
}

function invalidToken(message: string): ApiError {
  return new ApiError(401, 'invalid_token', message, {
    'WWW-Authenticate': 'Bearer error="invalid_token"',
  });
}

function errorSummary(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, code: (error as { code?: unknown }).code };
  }
  return { message: String(error) };
}

function describe(error: unknown): {
  status: number;
  code: string;
  message: string;
  headers: Record<string, string>;
} {
  if (error instanceof ApiError) {
    return {
      status: error.status,
      code: error.code,
      message: error.message,
      headers: error.headers,
    };
  }
  if (error instanceof TesseraError) {
    switch (error.code) {
      case 'ERR_CSRF':
        return { status: 403, code: 'forbidden', message: error.message, headers: {} };
      case 'ERR_STORE_UNAVAILABLE':
      case 'ERR_STORE_CLOSED':
        return {
          status: 503,
          code: 'store_unavailable',
          message: 'the session store is unavailable; try again shortly',
          headers: { 'Retry-After': '5' },
        };
      case 'ERR_SESSION_LIMIT':
        return { status: 409, code: 'session_limit', message: error.message, headers: {} };
      case 'ERR_SESSION_NOT_FOUND':
        return {
          status: 401,
          code: 'invalid_token',
          message: 'the session has ended',
          headers: {},
        };
      default:
        break;
    }
  }
  const e = error as { status?: unknown; statusCode?: unknown; type?: unknown; message?: unknown };
  const status =
    typeof e?.status === 'number'
      ? e.status
      : typeof e?.statusCode === 'number'
        ? e.statusCode
        : 500;
  switch (e?.type) {
    case 'entity.too.large':
      return {
        status: 413,
        code: 'payload_too_large',
        message: 'request body is too large (at most 16 KiB)',
        headers: {},
      };
    case 'entity.parse.failed':
      return {
        status: 400,
        code: 'invalid_json',
        message: 'request body is not valid JSON',
        headers: {},
      };
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return {
        status: 415,
        code: 'unsupported_media_type',
        message: String(e.message),
        headers: {},
      };
    case 'parameters.too.many':
      return {
        status: 413,
        code: 'payload_too_large',
        message: 'too many form fields',
        headers: {},
      };
    default:
      break;
  }
  if (status >= 400 && status < 500) {
    return {
      status,
      code: 'bad_request',
      message: 'the request could not be understood',
      headers: {},
    };
  }
  return {
    status: 500,
    code: 'internal_error',
    message: 'something went wrong on our side',
    headers: {},
  };
}
