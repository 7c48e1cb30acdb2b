/**
 * Checking a user name and password, with login throttling: only failures are counted (per
 * user name and per client address), so successes never slow anyone down.
 */
import type { Request } from 'express';
import { type AppDeps, clientIp } from '../context.js';

/** The message for every failed sign-in: it never tells which part was wrong. */
export const GENERIC_LOGIN_ERROR = 'Wrong user name or password.';

export type SignInResult = { ok: true; user: string } | { ok: false; wait: number };

export type Authenticate = (
  name: unknown,
  password: unknown,
  req: Request,
) => Promise<SignInResult>;

/**
 * @example const result = await createAuthenticate(deps)(body.username, body.password, req);
 */
export function createAuthenticate(
  deps: Pick<AppDeps, 'users' | 'metrics' | 'logger' | 'loginThrottle' | 'addressThrottle'>,
): Authenticate {
  const { users, metrics, logger } = deps;
  const loginWait = (name: string, ip: string): number =>
    Math.max(
      deps.loginThrottle.retryAfter(`user:${name}`),
      deps.addressThrottle.retryAfter(`ip:${ip}`),
    );

  return async (nameInput, password, req) => {
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
  };
}
