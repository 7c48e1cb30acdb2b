/**
 * Login CSRF: a pre-session token on the sign-in form, so another site cannot sign a
 * visitor into the attacker's account. The sign-in page sets an HttpOnly, SameSite=Strict
 * cookie with a random nonce (`__Host-` on HTTPS) and puts a token bound to that nonce in the
 * form. A browser's sign-in (it sends `Sec-Fetch-Site`) must carry both; a non-browser client
 * (curl, scripts) without them is checked by the Origin guard only, as before.
 */
import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import { TesseraError } from 'tessera-session';
import { createCookieCodec } from 'tessera-session/cookies';
import { createCsrfToken, verifyCsrfToken } from 'tessera-session/csrf';

const codec = createCookieCodec({ name: 'tessera.login', sameSite: 'strict' });

export interface LoginCsrf {
  /** The token for a sign-in form (sets the nonce cookie when the browser has none). */
  issue(req: Request, res: Response): string;
  /** Throws ERR_CSRF when a browser sign-in lacks a token matching its nonce cookie. */
  verify(req: Request, token: unknown): void;
}

/**
 * @example const loginCsrf = createLoginCsrf(deps.csrfSecret); renderSignIn(ctx, { csrf: loginCsrf.issue(req, res) });
 */
export function createLoginCsrf(secret: string): LoginCsrf {
  const nonceOf = (req: Request): string | null =>
    codec.read(req.headers.cookie, { isSecure: req.secure });
  return {
    issue(req, res) {
      let nonce = nonceOf(req);
      if (nonce === null || !/^[A-Za-z0-9_-]{43}$/.test(nonce)) {
        nonce = randomBytes(32).toString('base64url');
        res.append('Set-Cookie', codec.serialize(nonce, { isSecure: req.secure }));
      }
      return createCsrfToken(`login:${nonce}`, secret);
    },
    verify(req, token) {
      const fromBrowser = req.get('sec-fetch-site') !== undefined;
      if (!fromBrowser && token === undefined) return;
      const nonce = nonceOf(req);
      if (nonce === null || !verifyCsrfToken(token, `login:${nonce}`, secret)) {
        throw new TesseraError(
          'ERR_CSRF',
          'request refused: missing or invalid sign-in form token; reload the sign-in page',
        );
      }
    },
  };
}
