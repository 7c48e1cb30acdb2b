/**
 * Shared set-up of the tessera-session/express suites: a real Tessera memory store whose calls are
 * counted (so tests can assert "no write"), an injected clock, a logger that records
 * warnings, and the headers a same-origin browser form post carries.
 */
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type {
  ExpressSessionOptions,
  SessionControl,
} from '../../packages/session/src/adapters/express/index.js';
import session from '../../packages/session/src/adapters/express/index.js';
import { recordStoreCalls } from '../../packages/session/src/stores/conformance/index.js';
import { createMemoryStore } from '../../packages/session/src/stores/memory/index.js';
import type { Store } from '../../packages/session/src/stores/store.js';

export const SECRET = 'test-secret-with-at-least-32-characters!';

export function clock(start = 1_800_000_000_000): {
  now: () => number;
  advance: (ms: number) => void;
} {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

/** A real memory store; `calls` lists every method called on it, in order. */
export function countedStore(now?: () => number): { store: Store; inner: Store; calls: string[] } {
  const inner = createMemoryStore({ now, purgeIntervalMs: 0 });
  const { store, calls } = recordStoreCalls(inner);
  return { store, inner, calls };
}

export const WRITES = ['create', 'patch', 'touch', 'delete', 'deleteByUser', 'kvSet', 'kvDelete'];
export const writes = (calls: string[]): string[] => calls.filter((call) => WRITES.includes(call));

export function recordingLogger(): { warn: (message: string) => void; messages: string[] } {
  const messages: string[] = [];
  return { warn: (message) => messages.push(message), messages };
}

/** Headers of a same-origin request from a browser (Fetch Metadata). */
export const SAME_ORIGIN = { 'Sec-Fetch-Site': 'same-origin' };

// biome-ignore lint/suspicious/noExplicitAny: session data in express-session apps is untyped, as in theirs.
export type Loose = any;

type Handler = (
  req: Request & { session: Loose; sessionControl: SessionControl },
  res: Response,
  next: NextFunction,
) => unknown;

/** The Express the suites build apps with: Express 5 unless a suite switches (`useExpress`). */
let currentExpress: () => Express = express;

/** Makes `makeApp` build its apps with another Express major (the suites run on 4 and 5). */
export function useExpress(factory: () => Express): void {
  currentExpress = factory;
}

/** An app with tessera-session/express and the given routes; errors answer JSON with their status. */
export function makeApp(
  options: Partial<ExpressSessionOptions>,
  routes: (app: Express) => void,
  before?: (app: Express) => void,
): Express {
  const app = currentExpress();
  before?.(app);
  // Tessera's recommended settings (docs/express.md); tests of express-session's defaults
  // pass resave/saveUninitialized/cookie themselves.
  app.use(
    session({
      secret: SECRET,
      logger: recordingLogger(),
      resave: false,
      saveUninitialized: false,
      ...options,
    }),
  );
  routes(app);
  app.use((error: Loose, _req: Request, res: Response, _next: NextFunction) => {
    res.status(error.status ?? 500).json({ code: error.code, message: error.message });
  });
  return app;
}

export const route = (handler: Handler) => handler as unknown as express.RequestHandler;

/** The `name=value` part of the first Set-Cookie for `name`, or undefined. */
export function cookieOf(
  headers: Record<string, unknown>,
  name = 'connect.sid',
): string | undefined {
  const list = (headers['set-cookie'] as string[] | undefined) ?? [];
  return list.find((line) => line.startsWith(`${name}=`));
}

/** The session ID inside an express-session cookie header line. */
export function sidOf(setCookie: string | undefined): string | undefined {
  if (!setCookie) return undefined;
  const value = decodeURIComponent(setCookie.split(';')[0]!.split('=')[1]!);
  return value.slice(2, value.lastIndexOf('.'));
}
