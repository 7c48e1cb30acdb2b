/**
 * One token guard behind a tiny app in each adapter, for tests that check every adapter's
 * wiring the same way: `GET /me` answers `{ sub }` of the verified token, `GET /admin` needs
 * the `admin` role and answers `{ ok: true }`. Every request carries `Host: api.test`, so a
 * DPoP proof's `htu` can name `http://api.test/…`. Fastify apps are closed by `closeTokenApps()`.
 */
import express from 'express';
import Fastify from 'fastify';
import request from 'supertest';
import { requireToken as expressRequireToken } from '../../packages/session/src/adapters/express/index.js';
import { requireToken as fastifyRequireToken } from '../../packages/session/src/adapters/fastify/index.js';
import { withToken } from '../../packages/session/src/adapters/fetch/index.js';
import type { TokenGuard } from '../../packages/session/src/http/token-guard.js';

export interface TokenReply {
  status: number;
  headers: Record<string, string | undefined>;
  body: Record<string, unknown>;
}

/** One GET of `path` with `headers` through an adapter's app. */
export type TokenCall = (path: string, headers: Record<string, string>) => Promise<TokenReply>;

export const TOKEN_APP_HOST = 'api.test';

function viaExpress(guard: TokenGuard): TokenCall {
  const app = express();
  app.get('/me', expressRequireToken(guard), (req, res) => {
    res.json({ sub: (req as { auth?: { sub: string } }).auth?.sub });
  });
  app.get('/admin', expressRequireToken(guard, { role: 'admin' }), (_req, res) => {
    res.json({ ok: true });
  });
  return async (path, headers) => {
    const res = await request(app)
      .get(path)
      .set({ host: TOKEN_APP_HOST, ...headers });
    return { status: res.status, headers: res.headers, body: res.body };
  };
}

const fastifyApps: Array<ReturnType<typeof Fastify>> = [];

function viaFastify(guard: TokenGuard): TokenCall {
  const app = Fastify();
  fastifyApps.push(app);
  app.decorateRequest('auth', null);
  app.get('/me', { preHandler: fastifyRequireToken(guard) }, async (req) => ({
    sub: (req as unknown as { auth: { sub: string } }).auth.sub,
  }));
  app.get('/admin', { preHandler: fastifyRequireToken(guard, { role: 'admin' }) }, async () => ({
    ok: true,
  }));
  return async (path, headers) => {
    const res = await app.inject({
      method: 'GET',
      url: path,
      headers: { host: TOKEN_APP_HOST, ...headers },
    });
    return {
      status: res.statusCode,
      headers: res.headers as Record<string, string>,
      body: res.json(),
    };
  };
}

function viaFetch(guard: TokenGuard): TokenCall {
  const me = withToken(async (_request, { auth }) => Response.json({ sub: auth.sub }), guard);
  const admin = withToken(async () => Response.json({ ok: true }), guard, { role: 'admin' });
  return async (path, headers) => {
    const handler = path === '/admin' ? admin : me;
    const res = await handler(new Request(`http://${TOKEN_APP_HOST}${path}`, { headers }));
    return {
      status: res.status,
      headers: Object.fromEntries(res.headers),
      body: (await res.json()) as Record<string, unknown>,
    };
  };
}

/** `[adapter name, app maker]` for `describe.each`. */
export const TOKEN_ADAPTERS = [
  ['express', viaExpress],
  ['fastify', viaFastify],
  ['fetch', viaFetch],
] as const;

/** Closes the Fastify apps made so far (call in `afterAll`). */
export async function closeTokenApps(): Promise<void> {
  for (const app of fastifyApps.splice(0)) await app.close();
}
