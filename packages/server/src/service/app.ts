/**
 * The Express application of `tessera serve`, composed from its parts: middleware (security
 * headers, probe throttle, the session adapter), public endpoints, pages (cookie sessions
 * through Tessera's own Express adapter), the JSON token API (hybrid strategy, through
 * Tessera's own token guard) and one error handler.
 */
import express from 'express';
import { createBrowserSessions } from './auth/browser-session.js';
import { createCallerResolver } from './auth/caller.js';
import { createAuthenticate } from './auth/sign-in.js';
import { createTokenIssuer } from './auth/token-issue.js';
import { type AppDeps, COOKIE_NAME } from './context.js';
import { createErrorHandler, sendError } from './errors.js';
import { credentialResponses } from './middleware/credential-responses.js';
import { createProbeGuard } from './middleware/probe-throttle.js';
import { securityHeaders } from './middleware/security-headers.js';
import { sessionMiddleware } from './middleware/session.js';
import { apiRoutes } from './routes/api-routes.js';
import { pageRoutes } from './routes/page-routes.js';
import { publicRoutes } from './routes/public-routes.js';

export type { AppDeps } from './context.js';

/**
 * Builds the Express app.
 * @example const app = createApp(deps); http.createServer(app).listen(3000);
 */
export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  if (deps.config.trustProxy > 0) app.set('trust proxy', deps.config.trustProxy);

  const probe = createProbeGuard(deps);
  const browser = createBrowserSessions(deps, probe);
  const authenticate = createAuthenticate(deps);

  app.use(securityHeaders(deps.logger));
  app.use(publicRoutes(deps));
  app.use(credentialResponses(COOKIE_NAME));
  app.use(sessionMiddleware(deps));
  app.use(pageRoutes(deps, browser, authenticate));
  app.use(
    apiRoutes(deps, {
      authenticate,
      caller: createCallerResolver(deps, probe, browser),
      issuer: createTokenIssuer(deps),
      probe,
      checkOrigin: (req) => browser.checkOrigin(req),
    }),
  );
  app.use((req, res) => {
    sendError(
      req,
      res,
      { status: 404, code: 'not_found', message: 'No such page.' },
      deps.config.demo,
    );
  });
  app.use(createErrorHandler(deps));
  return app;
}
