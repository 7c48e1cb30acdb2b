/**
 * The Hono middleware form of the fetch adapter: `app.use(tesseraHono(options))` puts the
 * session in `c.get('session')` and adds the Set-Cookie headers to `c.res`. It needs no
 * import from Hono (a structural context type), so `tessera-session/fetch` does not depend on it.
 */

import { TesseraError } from '../../shared/errors.js';
import type { FetchSession } from './session.js';
import {
  createFetchSessions,
  type FetchSessionOptions,
  type FetchSessions,
  isFetchSessions,
} from './with-session.js';

/** The part of Hono's `Context` the middleware uses. */
export interface HonoContextLike {
  req: { raw: Request };
  res: Response;
  /** What a handler threw, when Hono caught it (Hono's own `c.error`). */
  error?: unknown;
  set(key: 'session', value: FetchSession): void;
}

/** Hono's environment type for apps using the middleware: `new Hono<TesseraHonoEnv>()`. */
export interface TesseraHonoEnv {
  Variables: { session: FetchSession };
}

/** The middleware: Hono's `MiddlewareHandler` shape. */
export type TesseraHonoMiddleware = (
  c: HonoContextLike,
  next: () => Promise<void>,
) => Promise<Response | undefined>;

/**
 * Hono middleware that gives every request a session (`c.get('session')`).
 * @example
 * import { Hono } from 'hono';
 * import { tesseraHono, type TesseraHonoEnv } from 'tessera-session/fetch';
 *
 * const app = new Hono<TesseraHonoEnv>();
 * app.use(tesseraHono({ store: createMemoryStore() }));
 * app.get('/', (c) => {
 *   const session = c.get('session');
 *   session.set('views', (session.get<number>('views') ?? 0) + 1);
 *   return c.json({ views: session.get('views') });
 * });
 */
export function tesseraHono(options: FetchSessionOptions | FetchSessions): TesseraHonoMiddleware {
  const sessions = isFetchSessions(options) ? options : createFetchSessions(options);
  return async (c, next) => {
    const run = await sessions.begin(c.req.raw);
    if (run.refusal !== null) return run.refusal;
    c.set('session', run.session);
    await next();
    // Hono has turned a handler's throw into c.error and an error page; a session helper's
    // TesseraError answers with its own status instead (400, 401, 503), nothing committed.
    if (c.error instanceof TesseraError) {
      c.res = await run.refuse(c.error);
      return undefined;
    }
    const failure = await run.commit();
    if (failure !== null) {
      c.res = failure;
      return undefined;
    }
    const headers: [string, string][] = [
      ...run.headers,
      ...run.cookies.map((cookie): [string, string] => ['set-cookie', cookie]),
    ];
    if (headers.length === 0) return undefined;
    try {
      for (const [name, value] of headers) c.res.headers.append(name, value);
    } catch {
      // Immutable headers (a fetch() or Response.redirect() result): Hono copies on assignment.
      c.res = new Response(c.res.body, c.res);
      for (const [name, value] of headers) c.res.headers.append(name, value);
    }
    return undefined;
  };
}
