/**
 * Checking a user name and password, with login throttling (login-throttle.ts): failures
 * are counted per (user, address) and per address, so a wrong password from one address never
 * locks the user out elsewhere; past a per-user ceiling, checks are spaced out instead of
 * refused. Successes are never counted.
 */
import type { Request } from 'express';
import { addressKey } from '../client-address.js';
import { type AppDeps, clientIp } from '../context.js';

/**
 * What a password sign-in records on the session: authentication level 1, method `pwd`
 * (OpenID Connect `amr` style); the level step-up checks compare with.
 */
export const PASSWORD_SIGN_IN: Readonly<{ level: number; methods: string[] }> = Object.freeze({
  level: 1,
  methods: ['pwd'],
});

/** The message for every failed sign-in: it never tells which part was wrong. */
export const GENERIC_LOGIN_ERROR = 'Wrong user name or password.';

export type SignInResult = { ok: true; user: string } | { ok: false; wait: number };

export type Authenticate = (
  name: unknown,
  password: unknown,
  req: Request,
) => Promise<SignInResult>;

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * @example const result = await createAuthenticate(deps)(body.username, body.password, req);
 */
export function createAuthenticate(
  deps: Pick<AppDeps, 'users' | 'metrics' | 'logger' | 'loginThrottle'>,
): Authenticate {
  const { users, metrics, logger, loginThrottle } = deps;
  return async (nameInput, password, req) => {
    const name = typeof nameInput === 'string' ? nameInput.trim().toLowerCase().slice(0, 64) : '';
    const ip = clientIp(req);
    const address = addressKey(ip);
    const verdict = loginThrottle.check(name, address);
    if (verdict.retryAfter > 0) {
      metrics.loginFailures.inc({ reason: 'throttled' });
      metrics.throttled.inc({ kind: 'login' });
      logger.warn({ event: 'login_throttled', ip }, 'sign-in throttled');
      return { ok: false, wait: verdict.retryAfter };
    }
    if (verdict.delayMs > 0) {
      metrics.throttled.inc({ kind: 'login-slowed' });
      await sleep(verdict.delayMs);
    }
    const user = await users.verify(name, password);
    if (user === null) {
      metrics.loginFailures.inc({ reason: 'credentials' });
      loginThrottle.fail(name, address);
      logger.info({ event: 'login_failed', ip }, 'sign-in failed');
      return { ok: false, wait: 0 };
    }
    loginThrottle.succeed(name, address);
    return { ok: true, user };
  };
}
