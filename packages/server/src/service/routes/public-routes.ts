/**
 * Endpoints that need no session: health, the stylesheet, the JWKS, and metrics (with the
 * metrics token only; see metrics-route.ts).
 */
import express, { type Router } from 'express';
import type { AppDeps } from '../context.js';
import { STYLESHEET } from '../pages.js';
import { serveMetrics } from './metrics-route.js';

/**
 * @example app.use(publicRoutes(deps));
 */
export function publicRoutes(
  deps: Pick<AppDeps, 'healthy' | 'metrics' | 'tokens' | 'config'>,
): Router {
  const router = express.Router();
  router.get('/healthz', async (_req, res) => {
    const ok = await deps.healthy();
    res.setHeader('Cache-Control', 'no-store');
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable' });
  });
  router.get('/metrics', async (req, res, next) => {
    // No token configured: the main port has no /metrics (the metrics listener may).
    if (deps.config.metricsToken === undefined) return next();
    await serveMetrics(req, res, deps.metrics, deps.config.metricsToken);
  });
  router.get('/assets/style.css', (_req, res) => {
    res.setHeader('Content-Type', 'text/css; charset=utf-8');
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.send(STYLESHEET);
  });
  router.get('/.well-known/jwks.json', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=60');
    res.json(deps.tokens.jwks());
  });
  return router;
}
