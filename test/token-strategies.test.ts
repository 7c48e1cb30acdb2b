import express from 'express';
import Fastify from 'fastify';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { requireToken as expressRequireToken } from '../packages/session/src/adapters/express/index.js';
import { requireToken as fastifyRequireToken } from '../packages/session/src/adapters/fastify/index.js';
import { withToken } from '../packages/session/src/adapters/fetch/index.js';
import { createSessionManager } from '../packages/session/src/core/manager.js';
import { createTokenGuard, type TokenGuard } from '../packages/session/src/http/token-guard.js';
import { createMemoryStore } from '../packages/session/src/stores/memory/index.js';
import { createAccessTokens, generateKey } from '../packages/session/src/tokens/index.js';
import { closeTokenApps, TOKEN_ADAPTERS } from './support/token-apps.js';

// The jwt and hybrid strategies through every adapter: one guard behind all three, so this
// checks each adapter's wiring (status, WWW-Authenticate, claims handed to the route).

// Another Fastify app below (the POST checks): closed with the shared ones.
const fastifyApps: Array<ReturnType<typeof Fastify>> = [];
afterAll(async () => {
  await closeTokenApps();
  for (const app of fastifyApps) await app.close();
});

async function setup() {
  const store = createMemoryStore();
  const manager = createSessionManager({ store });
  const tokens = createAccessTokens({
    keys: [await generateKey('EdDSA')],
    issuer: 'https://auth.test',
    audience: 'api',
  });
  const guard = createTokenGuard({
    tokens,
    source: 'header-or-cookie',
    isSessionActive: async (sid) => (await store.getByHandle(sid)) !== null,
  });
  return { guard, manager, tokens };
}

describe.each(TOKEN_ADAPTERS)('token strategies through %s', (_name, make) => {
  it('serves a valid Bearer token, refuses an absent or garbage one with WWW-Authenticate', async () => {
    const { guard, manager, tokens } = await setup();
    const call = make(guard);
    const session = await manager.login(null, 'alice', { strategy: 'hybrid' });
    const token = await tokens.sign({ sub: 'alice', sid: session.handle });
    const ok = await call('/me', { authorization: `Bearer ${token}` });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ sub: 'alice' });
    const refusals: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer %%%' },
      { authorization: 'Basic x' },
    ];
    for (const headers of refusals) {
      const refused = await call('/me', headers);
      expect(refused.status).toBe(401);
      expect(refused.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
      expect(refused.body.error).toBe('invalid_token');
    }
  });

  it('reads the token from the HttpOnly cookie too', async () => {
    const { guard, manager, tokens } = await setup();
    const session = await manager.login(null, 'alice', { strategy: 'hybrid' });
    const token = await tokens.sign({ sub: 'alice', sid: session.handle });
    const res = await make(guard)('/me', { cookie: `tessera.at=${token}` });
    expect(res.status).toBe(200);
  });

  it('answers 403 when the token lacks the required claim', async () => {
    const { guard, manager, tokens } = await setup();
    const call = make(guard);
    const session = await manager.login(null, 'bob', { strategy: 'hybrid' });
    const user = await tokens.sign({ sub: 'bob', sid: session.handle, role: 'user' });
    const admin = await tokens.sign({ sub: 'bob', sid: session.handle, role: 'admin' });
    const denied = await call('/admin', { authorization: `Bearer ${user}` });
    expect(denied.status).toBe(403);
    expect(denied.headers['www-authenticate']).toMatch(/error="insufficient_scope"/);
    expect((await call('/admin', { authorization: `Bearer ${admin}` })).status).toBe(200);
  });

  it('stops a revoked session’s access token at once', async () => {
    const { guard, manager, tokens } = await setup();
    const session = await manager.login(null, 'alice', { strategy: 'hybrid' });
    const token = await tokens.sign({ sub: 'alice', sid: session.handle });
    await manager.revoke(session.handle);
    const res = await make(guard)('/me', { authorization: `Bearer ${token}` });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_token');
  });
});

// Issue 11, finding 4: a token read from a cookie is ambient authority like a session cookie.
type Send = (
  method: 'GET' | 'POST',
  headers: Record<string, string>,
  https: boolean,
) => Promise<{ status: number; body: Record<string, unknown> }>;

function postViaExpress(guard: TokenGuard): Send {
  const app = express();
  app.set('trust proxy', true);
  const handler = expressRequireToken(guard);
  app.get('/act', handler, (_req, res) => res.json({ ok: true }));
  app.post('/act', handler, (_req, res) => res.json({ ok: true }));
  return async (method, headers, https) => {
    const agent = method === 'GET' ? request(app).get('/act') : request(app).post('/act');
    const res = await agent.set({
      host: 'app.test',
      ...(https ? { 'x-forwarded-proto': 'https' } : {}),
      ...headers,
    });
    return { status: res.status, body: res.body };
  };
}

function postViaFastify(guard: TokenGuard): Send {
  const app = Fastify({ trustProxy: true });
  fastifyApps.push(app);
  app.decorateRequest('auth', null);
  app.get('/act', { preHandler: fastifyRequireToken(guard) }, async () => ({ ok: true }));
  app.post('/act', { preHandler: fastifyRequireToken(guard) }, async () => ({ ok: true }));
  return async (method, headers, https) => {
    const res = await app.inject({
      method,
      url: '/act',
      headers: { host: 'app.test', ...(https ? { 'x-forwarded-proto': 'https' } : {}), ...headers },
    });
    return { status: res.statusCode, body: res.json() };
  };
}

function postViaFetch(guard: TokenGuard): Send {
  const handler = withToken(async () => Response.json({ ok: true }), guard);
  return async (method, headers, https) => {
    const res = await handler(
      new Request(`${https ? 'https' : 'http'}://app.test/act`, { method, headers }),
    );
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
}

describe.each([
  ['express', postViaExpress],
  ['fastify', postViaFastify],
  ['fetch', postViaFetch],
] as const)('cookie-borne access tokens through %s (issue 11, finding 4)', (_name, make) => {
  it('refuses a cross-site POST whose token came from a cookie; a Bearer header is not affected', async () => {
    const { guard, manager, tokens } = await setup();
    const send = make(guard);
    const session = await manager.login(null, 'alice', { strategy: 'hybrid' });
    const token = await tokens.sign({ sub: 'alice', sid: session.handle });
    const cookie = `tessera.at=${token}`;
    const crossSite = await send(
      'POST',
      { cookie, 'sec-fetch-site': 'cross-site', origin: 'https://evil.test' },
      false,
    );
    expect(crossSite.status).toBe(403);
    expect(crossSite.body.error).toBe('csrf');
    const noOrigin = await send('POST', { cookie }, false);
    expect(noOrigin.status).toBe(403);
    const sameOrigin = await send('POST', { cookie, origin: 'http://app.test' }, false);
    expect(sameOrigin.status).toBe(200);
    const bearer = await send(
      'POST',
      { authorization: `Bearer ${token}`, 'sec-fetch-site': 'cross-site' },
      false,
    );
    expect(bearer.status).toBe(200);
  });

  it('reads only the __Host- cookie on HTTPS', async () => {
    const { guard, manager, tokens } = await setup();
    const send = make(guard);
    const session = await manager.login(null, 'alice', { strategy: 'hybrid' });
    const token = await tokens.sign({ sub: 'alice', sid: session.handle });
    expect((await send('GET', { cookie: `tessera.at=${token}` }, true)).status).toBe(401);
    expect((await send('GET', { cookie: `__Host-tessera.at=${token}` }, true)).status).toBe(200);
    expect((await send('GET', { cookie: `tessera.at=${token}` }, false)).status).toBe(200);
  });
});
