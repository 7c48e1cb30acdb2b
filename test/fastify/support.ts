/**
 * Shared set-up of the tessera-session/fastify drop-in suites: apps on real Fastify 5 with
 * Tessera's plugin or with @fastify/session itself (loaded by a computed name, so its type
 * augmentation of `request.session` does not clash with Tessera's), a callback store that
 * counts its calls, and cookie helpers.
 */
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import tessera, {
  type FastifySessionPluginOptions,
} from '../../packages/session/src/adapters/fastify/index.js';

export const SECRET = 'cNaoPYAwF60HZJzkcNaoPYAwF60HZJzk-tessera';

const apps: FastifyInstance[] = [];

/** Closes every app made since the last call (for `afterEach`). */
export async function closeApps(): Promise<void> {
  for (const app of apps.splice(0)) await app.close();
}

type Routes = (app: FastifyInstance) => void;

/**
 * An app with Tessera's plugin (options as given: @fastify/session's defaults apply).
 * @example const app = await tesseraApp({ secret: SECRET }, (a) => a.get('/', …));
 */
export async function tesseraApp(
  options: Partial<FastifySessionPluginOptions> & Record<string, unknown>,
  routes: Routes,
): Promise<FastifyInstance> {
  const app = Fastify({ trustProxy: true });
  apps.push(app);
  await app.register(tessera, options as FastifySessionPluginOptions);
  routes(app);
  await app.ready();
  return app;
}

/**
 * The same app on @fastify/session 11 (with @fastify/cookie), for side-by-side checks.
 * @example const peer = await peerApp({ secret: SECRET, store }, routes);
 */
export async function peerApp(
  options: Record<string, unknown>,
  routes: Routes,
): Promise<FastifyInstance> {
  const cookieName = '@fastify/cookie';
  const sessionName = '@fastify/session';
  const app = Fastify({ trustProxy: true });
  apps.push(app);
  await app.register((await import(cookieName)).default);
  await app.register((await import(sessionName)).default, options);
  routes(app);
  await app.ready();
  return app;
}

/** The Set-Cookie lines of a response. */
export function setCookies(res: LightMyRequestResponse): string[] {
  const raw = res.headers['set-cookie'];
  return raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
}

/** `name=value` of the named cookie in a response, for the next request's Cookie header. */
export function jar(res: LightMyRequestResponse, name = 'sessionId'): string {
  const line = setCookies(res).find((l) => l.startsWith(`${name}=`));
  if (!line) throw new Error(`no ${name} cookie in ${JSON.stringify(setCookies(res))}`);
  return line.split(';')[0] as string;
}

type Callback = (error?: unknown, value?: unknown) => void;

/** A @fastify/session-style store over a Map, counting its calls. */
export interface CountingStore {
  map: Map<string, unknown>;
  calls: { get: number; set: number; destroy: number };
  get(id: string, callback: Callback): void;
  set(id: string, value: unknown, callback: Callback): void;
  destroy(id: string, callback: Callback): void;
}

/**
 * @example const store = countingStore(); …; expect(store.calls.set).toBe(1);
 */
export function countingStore(map = new Map<string, unknown>()): CountingStore {
  const calls = { get: 0, set: 0, destroy: 0 };
  return {
    map,
    calls,
    get(id, callback) {
      calls.get++;
      callback(null, map.get(id));
    },
    set(id, value, callback) {
      calls.set++;
      map.set(id, JSON.parse(JSON.stringify(value)));
      callback(null);
    },
    destroy(id, callback) {
      calls.destroy++;
      map.delete(id);
      callback(null);
    },
  };
}

/** The data keys of a session object (JSON without its cookie). */
export function dataOf(session: unknown): Record<string, unknown> {
  const { cookie: _cookie, ...data } = JSON.parse(JSON.stringify(session)) as Record<
    string,
    unknown
  >;
  return data;
}
