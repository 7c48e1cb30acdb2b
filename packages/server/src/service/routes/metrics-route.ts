/**
 * `GET /metrics` (Prometheus text format), never anonymous on the main port: it needs
 * `Authorization: Bearer <TESSERA_METRICS_TOKEN>`; without a token configured the main port
 * has no `/metrics` at all (404). A separate listener (TESSERA_METRICS_PORT, bound to
 * TESSERA_METRICS_HOST, default 127.0.0.1) serves it too, for scrapers on a private network.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ServiceMetrics } from '../metrics.js';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * True when the Authorization header carries `token` as a Bearer token (constant time).
 * @example bearerMatches(req.headers.authorization, config.metricsToken)
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
  return timingSafeEqual(digest(match?.[1] ?? ''), digest(token)) && match !== null;
}

/**
 * Answers one metrics request on node:http terms: 401 without the token (when one is
 * required), else the registry's text. Never cached.
 * @example await serveMetrics(req, res, metrics, config.metricsToken);
 */
export async function serveMetrics(
  req: IncomingMessage,
  res: ServerResponse,
  metrics: ServiceMetrics,
  token: string | undefined,
): Promise<void> {
  res.setHeader('Cache-Control', 'no-store');
  if (token !== undefined && !bearerMatches(req.headers.authorization, token)) {
    res.writeHead(401, {
      'Content-Type': 'application/json; charset=utf-8',
      'WWW-Authenticate': 'Bearer realm="metrics"',
    });
    res.end(JSON.stringify({ error: 'invalid_token', message: 'metrics need the metrics token' }));
    return;
  }
  const text = await metrics.registry.metrics();
  res.writeHead(200, { 'Content-Type': metrics.registry.contentType });
  res.end(text);
}

/**
 * The separate metrics listener: `GET /metrics` only, everything else 404.
 * @example const server = await startMetricsListener(metrics, 9464, '127.0.0.1', undefined);
 */
export async function startMetricsListener(
  metrics: ServiceMetrics,
  port: number,
  host: string,
  token: string | undefined,
): Promise<Server> {
  const server = createServer({ maxHeaderSize: 8192, requestTimeout: 10_000 }, (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      serveMetrics(req, res, metrics, token).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
