/**
 * The HTML pages (cookie sessions): sign-in, dashboard, device list, revoke, sign-out and
 * sign-out-everywhere. Every form that changes state passes the Origin / Fetch-Metadata check
 * and carries the session's CSRF token; sensitive ones need a recent sign-in (step-up).
 */
import express, { type Request, type Response, type Router } from 'express';
import type { SessionInfo } from 'tessera-session';
import { isValidHandle } from 'tessera-session';
import { createCsrfToken } from 'tessera-session/csrf';
import type { BrowserSessions, CurrentSession } from '../auth/browser-session.js';
import { createLoginCsrf, type LoginCsrf } from '../auth/login-csrf.js';
import { type Authenticate, GENERIC_LOGIN_ERROR, PASSWORD_SIGN_IN } from '../auth/sign-in.js';
import { REAUTH_REQUIRED, requireRecentAuth } from '../auth/step-up.js';
import { type AppDeps, controlOf, sessionOf } from '../context.js';
import { ApiError } from '../errors.js';
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

type PageDeps = Pick<AppDeps, 'config' | 'csrfSecret' | 'metrics' | 'logger' | 'now'>;

const FORM = [requireType('application/x-www-form-urlencoded'), formBody];

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

function signedInContext(deps: PageDeps, current: CurrentSession): PageContext & { user: string } {
  return {
    demo: deps.config.demo,
    user: current.userId ?? '',
    csrf: createCsrfToken(current.handle, deps.csrfSecret),
  };
}

/**
 * True when the session signed in recently; otherwise answers 403 with the sign-in form
 * (signing in again rotates the session ID and refreshes the sign-in time) and false.
 */
function steppedUp(deps: PageDeps, current: CurrentSession, req: Request, res: Response): boolean {
  try {
    requireRecentAuth(current, deps.config.reauthMaxAge, deps.now());
    return true;
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== REAUTH_REQUIRED) throw error;
    res.setHeader('Cache-Control', 'no-store');
    res
      .status(403)
      .type('html')
      .send(
        renderSignIn(
          { demo: deps.config.demo },
          {
            error: 'For your safety, sign in again to do this, then retry.',
            username: current.userId ?? '',
            csrf: loginCsrfOf(deps).issue(req, res),
          },
        ),
      );
    return false;
  }
}

/**
 * @example app.use(pageRoutes(deps, browser, authenticate));
 */
export function pageRoutes(
  deps: PageDeps,
  browser: BrowserSessions,
  authenticate: Authenticate,
): Router {
  const router = express.Router();
  addSignIn(router, deps, browser, authenticate);
  addAccountPages(router, deps, browser);
  addSignOut(router, deps, browser);
  return router;
}

function addSignIn(
  router: Router,
  deps: PageDeps,
  browser: BrowserSessions,
  authenticate: Authenticate,
): void {
  const { config, metrics, logger } = deps;
  const loginCsrf = loginCsrfOf(deps);
  const send = (req: Request, res: Response, status: number, error: string, username: string) => {
    const csrf = loginCsrf.issue(req, res);
    res
      .status(status)
      .type('html')
      .send(renderSignIn({ demo: config.demo }, { error, username, csrf }));
  };

  router.get('/', async (req, res) => {
    if (await browser.current(req, false)) return res.redirect(303, '/dashboard');
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(renderSignIn({ demo: config.demo }, { csrf: loginCsrf.issue(req, res) }));
  });

  router.post(
    '/login',
    (req, _res, next) => next(tryOrigin(browser, req)),
    ...FORM,
    async (req, res) => {
      const body = formFields(req);
      loginCsrf.verify(req, body._csrf);
      const username = typeof body.username === 'string' ? body.username : '';
      const result = await authenticate(username, body.password, req);
      res.setHeader('Cache-Control', 'no-store');
      if (!result.ok) {
        if (result.wait > 0) {
          res.setHeader('Retry-After', String(result.wait));
          return send(req, res, 429, 'Too many failed attempts. Try again later.', username);
        }
        return send(req, res, 401, GENERIC_LOGIN_ERROR, username);
      }
      const remember = ['1', 'on', 'true'].includes(String(body.remember));
      await controlOf(req).login(result.user, { remember, ...PASSWORD_SIGN_IN });
      metrics.sessionsCreated.inc({ strategy: 'server' });
      logger.info(
        { event: 'login', user: result.user, handle: controlOf(req).handle, strategy: 'server' },
        'signed in',
      );
      res.redirect(303, '/dashboard');
    },
  );
}

function addAccountPages(router: Router, deps: PageDeps, browser: BrowserSessions): void {
  const { metrics, logger } = deps;

  router.get('/dashboard', async (req, res) => {
    const current = await browser.current(req);
    if (!current || current.userId === null) return res.redirect(303, '/');
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(renderDashboard(signedInContext(deps, current), toPage(current)));
  });

  router.get('/sessions', async (req, res) => {
    const current = await browser.current(req);
    if (!current || current.userId === null) return res.redirect(303, '/');
    const list = await controlOf(req).sessions();
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(renderDevices(signedInContext(deps, current), list.map(toPage)));
  });

  router.post('/sessions/:id/revoke', ...FORM, async (req, res) => {
    const current = await browser.signedInForm(req);
    if (!current) return res.redirect(303, '/');
    const id = String(req.params.id);
    const own = id === current.handle;
    // Ending another device's session is sensitive; ending this one is a sign-out.
    if (!own && !steppedUp(deps, current, req, res)) return;
    const revoked = isValidHandle(id) && (await controlOf(req).revoke(id));
    if (!revoked) {
      const page = renderError(signedInContext(deps, current), 404, 'No such session of yours.');
      return res.status(404).type('html').send(page);
    }
    metrics.sessionsRevoked.inc({ reason: 'revoke' });
    logger.info(
      { event: 'revoke', user: current.userId, handle: id, by: current.handle },
      'session revoked',
    );
    if (own) clearSiteCookies(res);
    res.redirect(303, own ? '/' : '/sessions');
  });
}

function addSignOut(router: Router, deps: PageDeps, browser: BrowserSessions): void {
  const { metrics, logger } = deps;

  router.post('/logout', ...FORM, async (req, res) => {
    const current = await browser.signedInForm(req);
    if (current) {
      await destroySession(req);
      logger.info({ event: 'logout', user: current.userId, handle: current.handle }, 'signed out');
    }
    clearSiteCookies(res);
    res.redirect(303, '/');
  });

  router.post('/logout/all', ...FORM, async (req, res) => {
    const current = await browser.signedInForm(req);
    if (current) {
      if (!steppedUp(deps, current, req, res)) return;
      const count = await controlOf(req).signOutEverywhere();
      metrics.sessionsRevoked.inc({ reason: 'revoke-user' }, count);
      logger.info({ event: 'logout_all', user: current.userId, count }, 'signed out everywhere');
    }
    clearSiteCookies(res);
    res.redirect(303, '/');
  });
}

const loginCsrfs = new WeakMap<PageDeps, LoginCsrf>();

function loginCsrfOf(deps: PageDeps): LoginCsrf {
  let found = loginCsrfs.get(deps);
  if (!found) {
    found = createLoginCsrf(deps.csrfSecret);
    loginCsrfs.set(deps, found);
  }
  return found;
}

function tryOrigin(browser: BrowserSessions, req: Request): unknown {
  try {
    browser.checkOrigin(req);
    return undefined;
  } catch (error) {
    return error;
  }
}
