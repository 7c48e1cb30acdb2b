/**
 * The probe throttle: unknown session cookies, access tokens and refresh tokens are counted
 * per client address (IPv6 by /64). Past the limit, only requests whose credential is unknown
 * are answered 429; a request with a valid session or token, or with no credential at all,
 * always goes through, so one prober behind a shared NAT or proxy signs nobody else out.
 */
import type { Request } from 'express';
import { addressKey } from '../client-address.js';
import { type AppDeps, clientIp } from '../context.js';
import { ApiError } from '../errors.js';

export interface ProbeGuard {
  /**
   * Counts one unknown credential (`what`: "session cookie", "access token"…) from `req`;
   * throws a 429 `ApiError` when its address is already throttled and `refuse` is true.
   */
  unknown(req: Request, what: string, refuse?: boolean): void;
}

/**
 * @example const probe = createProbeGuard(deps); probe.unknown(req, 'access token');
 */
export function createProbeGuard(
  deps: Pick<AppDeps, 'probeThrottle' | 'metrics' | 'logger'>,
): ProbeGuard {
  return {
    unknown(req, what, refuse = true) {
      const ip = clientIp(req);
      const key = `ip:${addressKey(ip)}`;
      const wait = deps.probeThrottle.retryAfter(key);
      if (wait > 0) {
        if (!refuse) return;
        deps.metrics.throttled.inc({ kind: 'unknown-credentials' });
        throw new ApiError(
          429,
          'too_many_requests',
          'Too many requests with unknown credentials; try again later.',
          { 'Retry-After': String(wait) },
        );
      }
      if (deps.probeThrottle.fail(key) > 0) {
        deps.logger.warn(
          { event: 'probe_burst', ip, what },
          'unknown credentials burst; throttling',
        );
      }
    },
  };
}
