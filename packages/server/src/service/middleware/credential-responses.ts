/**
 * Responses that set or clear the session cookie are never cached (`Cache-Control:
 * no-store`), and a cleared cookie carries `Max-Age=0` besides its past `Expires`, so every
 * browser drops it at once. Installed before the session adapter, whose own header hook then
 * runs first, so the cookie it writes is seen here.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

function isSessionCookie(line: string, name: string): boolean {
  return line.startsWith(`${name}=`) || line.startsWith(`__Host-${name}=`);
}

function harden(line: string): string {
  const value = line.slice(line.indexOf('=') + 1).split(';')[0];
  const cleared = value === '' && /;\s*expires=thu, 01 jan 1970/i.test(line);
  return cleared && !/;\s*max-age=/i.test(line) ? `${line}; Max-Age=0` : line;
}

/**
 * @example app.use(credentialResponses('tessera.sid')); app.use(session(...));
 */
export function credentialResponses(cookieName: string): RequestHandler {
  return (_req: Request, res: Response, next: NextFunction): void => {
    const writeHead = res.writeHead;
    res.writeHead = function hardenedWriteHead(this: Response, ...args: unknown[]) {
      const header = res.getHeader('set-cookie');
      const lines = header === undefined ? [] : Array.isArray(header) ? header : [String(header)];
      if (lines.some((line) => isSessionCookie(line, cookieName))) {
        res.setHeader(
          'Set-Cookie',
          lines.map((line) => (isSessionCookie(line, cookieName) ? harden(line) : line)),
        );
        res.setHeader('Cache-Control', 'no-store');
      }
      return (writeHead as (...a: unknown[]) => Response).apply(this, args);
    } as Response['writeHead'];
    next();
  };
}

/**
 * Marks a sign-out response: the browser drops every cookie of this origin, and nothing of
 * it is cached.
 * @example clearSiteCookies(res); res.redirect(303, '/');
 */
export function clearSiteCookies(res: Response): void {
  res.setHeader('Clear-Site-Data', '"cookies"');
  res.setHeader('Cache-Control', 'no-store');
}
