/**
 * The HTML pages (cookie sessions): sign-in, dashboard, device list, revoke, sign-out and
 * sign-out-everywhere. Every form that changes state passes the Origin / Fetch-Metadata check
 * and carries the session's CSRF token.
 */
import express, { type Request, type Response, type Router } from 'express';
import type { SessionInfo } from 'tessera-session';
import { isValidHandle } from 'tessera-session';
import { createCsrfToken } from 'tessera-session/csrf';
import type { BrowserSessions } from '../auth/browser-session.js';
import { type Authenticate, GENERIC_LOGIN_ERROR } from '../auth/sign-in.js';
import { type AppDeps, sessionOf } from '../context.js';
import { formBody, formFields, requireType } from '../middleware/body.js';
import { clearSiteCookies } from '../middleware/credential-responses.js';
import {
  type PageContext,
  type PageSession,
  renderDashboard,
  renderDevices,
  renderError,
  renderSignIn,
} from '../pages.js';

type PageDeps = Pick<AppDeps, 'config' | 'csrfSecret' | 'metrics' | 'logger'>;

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

/** Ends the request's browser session (store and cookie). */
export function destroySession(req: Request): Promise<void> {
  return new Promise<void>((resolve, reject) =>
    sessionOf(req).destroy((error) => (error ? reject(error) : resolve())),
  );
}

/**
 * @example app.use(pageRoutes(deps, browser, authenticate));
 */
export function pageRoutes(
  deps: PageDeps,
  browser: BrowserSessions,
  authenticate: Authenticate,
): Router {
  const { config, metrics, logger } = deps;
  const router = express.Router();
  const form = [requireType('application/x-www-form-urlencoded'), formBody];

  function pageContext(): PageContext {
    return { demo: config.demo };
  }

  function signedInContext(user: string, handle: string): PageContext & { user: string } {
    return { demo: config.demo, user, csrf: createCsrfToken(handle, deps.csrfSecret) };
  }

  function sendSignIn(res: Response, status: number, error: string, username: string): void {
    res.status(status).type('html').send(renderSignIn(pageContext(), { error, username }));
  }

  router.get('/', async (req, res) => {
    if (await browser.current(req, false)) return res.redirect(303, '/dashboard');
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(renderSignIn(pageContext()));
  });

  router.post(
    '/login',
    (req, _res, next) => next(tryOrigin(browser, req)),
    ...form,
    async (req, res) => {
      const body = formFields(req);
      const username = typeof body.username === 'string' ? body.username : '';
      const result = await authenticate(username, body.password, req);
      res.setHeader('Cache-Control', 'no-store');
      if (!result.ok) {
        if (result.wait > 0) {
          res.setHeader('Retry-After', String(result.wait));
          return sendSignIn(res, 429, 'Too many failed attempts. Try again later.', username);
        }
        return sendSignIn(res, 401, GENERIC_LOGIN_ERROR, username);
      }
      const remember = ['1', 'on', 'true'].includes(String(body.remember));
      await sessionOf(req).login(result.user, { remember });
      metrics.sessionsCreated.inc({ strategy: 'server' });
      logger.info(
        { event: 'login', user: result.user, handle: sessionOf(req).handle, strategy: 'server' },
        'signed in',
      );
      res.redirect(303, '/dashboard');
    },
  );

  router.get('/dashboard', async (req, res) => {
    const current = await browser.current(req);
    if (!current || current.userId === null) return res.redirect(303, '/');
    res.setHeader('Cache-Control', 'no-store');
    res
      .type('html')
      .send(renderDashboard(signedInContext(current.userId, current.handle), toPage(current)));
  });

  router.get('/sessions', async (req, res) => {
    const current = await browser.current(req);
    if (!current || current.userId === null) return res.redirect(303, '/');
    const list = await sessionOf(req).sessions();
    res.setHeader('Cache-Control', 'no-store');
    res
      .type('html')
      .send(renderDevices(signedInContext(current.userId, current.handle), list.map(toPage)));
  });

  router.post('/sessions/:id/revoke', ...form, async (req, res) => {
    const current = await browser.signedInForm(req);
    if (!current) return res.redirect(303, '/');
    const id = String(req.params.id);
    const revoked = isValidHandle(id) && (await sessionOf(req).revoke(id));
    if (!revoked) {
      const ctx = { demo: config.demo, csrf: createCsrfToken(current.handle, deps.csrfSecret) };
      if (current.userId !== null) Object.assign(ctx, { user: current.userId });
      return res
        .status(404)
        .type('html')
        .send(renderError(ctx, 404, 'No such session of yours.'));
    }
    metrics.sessionsRevoked.inc({ reason: 'revoke' });
    logger.info(
      { event: 'revoke', user: current.userId, handle: id, by: current.handle },
      'session revoked',
    );
    if (id === current.handle) clearSiteCookies(res);
    res.redirect(303, id === current.handle ? '/' : '/sessions');
  });

  router.post('/logout', ...form, async (req, res) => {
    const current = await browser.signedInForm(req);
    if (current) {
      await destroySession(req);
      logger.info({ event: 'logout', user: current.userId, handle: current.handle }, 'signed out');
    }
    clearSiteCookies(res);
    res.redirect(303, '/');
  });

  router.post('/logout/all', ...form, async (req, res) => {
    const current = await browser.signedInForm(req);
    if (current) {
      const count = await sessionOf(req).signOutEverywhere();
      metrics.sessionsRevoked.inc({ reason: 'revoke-user' }, count);
      logger.info({ event: 'logout_all', user: current.userId, count }, 'signed out everywhere');
    }
    clearSiteCookies(res);
    res.redirect(303, '/');
  });

  return router;
}

function tryOrigin(browser: BrowserSessions, req: Request): unknown {
  try {
    browser.checkOrigin(req);
    return undefined;
  } catch (error) {
    return error;
  }
}
