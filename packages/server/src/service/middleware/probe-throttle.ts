/**
 * The probe throttle: bursts of unknown session IDs or tokens from one address are counted,
 * and once an address passes the limit its requests are answered 429 for a while.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { type AppDeps, clientIp } from '../context.js';
import { sendError } from '../errors.js';

export interface ProbeGuard {
  /** Middleware answering 429 while the caller's address is throttled. */
  middleware: RequestHandler;
  /** Counts one unknown credential (`what`: "session cookie", "access token"…) from `req`. */
  note(req: Request, what: string): void;
}

/**
 * @example const probe = createProbeGuard(deps); app.use(probe.middleware);
 */
export function createProbeGuard(
  deps: Pick<AppDeps, 'probeThrottle' | 'metrics' | 'logger' | 'config'>,
): ProbeGuard {
  return {
    middleware(req: Request, res: Response, next: NextFunction): void {
      const wait = deps.probeThrottle.retryAfter(`ip:${clientIp(req)}`);
      if (wait === 0) {
        next();
        return;
      }
      deps.metrics.throttled.inc({ kind: 'unknown-credentials' });
      res.setHeader('Retry-After', String(wait));
      sendError(
        req,
        res,
        {
          status: 429,
          code: 'too_many_requests',
          message: 'Too many requests with unknown credentials; try again later.',
        },
        deps.config.demo,
      );
    },
    note(req, what) {
      const ip = clientIp(req);
      const wait = deps.probeThrottle.fail(`ip:${ip}`);
      if (wait > 0) {
        deps.logger.warn(
          { event: 'probe_burst', ip, what },
          'unknown credentials burst; throttling',
        );
      }
    },
  };
}
