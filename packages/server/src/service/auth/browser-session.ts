/**
 * The signed-in browser session of a request (through the Express adapter), with the checks
 * every state-changing form runs: the Origin / Fetch-Metadata guard and the form's CSRF token.
 */
import type { Request } from 'express';
import type { SessionInfo } from 'tessera-session';
import { TesseraError } from 'tessera-session';
import { readCookie, unsignExpressValue } from 'tessera-session/cookies';
import { createCsrfGuard, verifyCsrfToken } from 'tessera-session/csrf';
import { type AppDeps, COOKIE_NAME, controlOf, sessionOf } from '../context.js';
import type { ProbeGuard } from '../middleware/probe-throttle.js';

/** A session of the device list, flagged when it is the request's own. */
export type CurrentSession = SessionInfo & { current: boolean };

export interface BrowserSessions {
  /**
   * The request's live browser session, or null. An unknown cookie is counted as a probe
   * and, once its address is throttled, answered 429 (unless `refuse` is false: the
   * sign-in page, where a stale cookie is simply ignored).
   */
  current(req: Request, refuse?: boolean): Promise<CurrentSession | null>;
  /** Throws ERR_CSRF when a state-changing request fails the Origin / Fetch-Metadata guard. */
  checkOrigin(req: Request): void;
  /** Origin check, then the session and (when signed in) the form's CSRF token. */
  signedInForm(req: Request): Promise<CurrentSession | null>;
}

/**
 * @example const browser = createBrowserSessions(deps, probe); await browser.current(req);
 */
export function createBrowserSessions(
  deps: Pick<AppDeps, 'cookieSecret' | 'csrfSecret' | 'config'>,
  probe: ProbeGuard,
): BrowserSessions {
  const originGuard = createCsrfGuard();

  async function current(req: Request, refuse = true): Promise<CurrentSession | null> {
    const list = await controlOf(req).sessions();
    const found = list.find((s) => s.current) ?? null;
    // A cookie that names no live session (expired, revoked, forged or guessed) is counted;
    // a live anonymous one (e.g. after a forced re-authentication) is not.
    if (found === null) {
      const raw =
        readCookie(req.headers.cookie, `__Host-${COOKIE_NAME}`) ??
        readCookie(req.headers.cookie, COOKIE_NAME);
      if (raw !== null && unsignExpressValue(raw, [deps.cookieSecret]) !== sessionOf(req).id) {
        probe.unknown(req, 'session cookie', refuse);
      }
    }
    return found;
  }

  function checkOrigin(req: Request): void {
    // The app's origin comes from TESSERA_ORIGIN; the Host header is trusted for it only in
    // development (--demo or a loopback host), where config allows TESSERA_ORIGIN unset.
    const verdict = originGuard.check({
      method: req.method,
      headers: (name) => req.get(name),
      isSecure: req.secure,
      ...(deps.config.origin === undefined ? {} : { appOrigin: deps.config.origin }),
    });
    if (!verdict.ok) throw new TesseraError('ERR_CSRF', `request refused: ${verdict.reason}`);
  }

  return {
    current,
    checkOrigin,
    async signedInForm(req) {
      checkOrigin(req);
      const found = await current(req);
      if (found) {
        const token = (req.body as Record<string, unknown> | undefined)?._csrf;
        if (!verifyCsrfToken(token, found.handle, deps.csrfSecret)) {
          throw new TesseraError('ERR_CSRF', 'request refused: missing or invalid CSRF token');
        }
      }
      return found;
    },
  };
}
