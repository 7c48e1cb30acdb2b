import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { requireToken } from '../src/adapters/express/index.js';
import { createSessionManager } from '../src/core/manager.js';
import { createTokenGuard } from '../src/core/token-guard.js';
import { createMemoryStore } from '../src/stores/memory/index.js';
import { createAccessTokens, generateKey } from '../src/tokens/index.js';

// The jwt and hybrid strategies through the Express adapter: the guard is shared by every
// adapter, so this checks the wiring (status, headers, claims on the request).
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
  const app = express();
  app.get('/me', requireToken(guard), (req, res) => {
    res.json({ sub: (req as { auth?: { sub: string } }).auth?.sub });
  });
  app.get('/admin', requireToken(guard, { role: 'admin' }), (_req, res) => {
    res.json({ ok: true });
  });
  return { app, manager, tokens };
}

describe('token strategies through Express', () => {
  it('serves a valid Bearer token, refuses an absent one with WWW-Authenticate', async () => {
    const { app, manager, tokens } = await setup();
    const session = await manager.login(null, 'alice', { strategy: 'hybrid' });
    const token = await tokens.sign({ sub: 'alice', sid: session.handle });
    const ok = await request(app).get('/me').set('Authorization', `Bearer ${token}`);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ sub: 'alice' });
    const none = await request(app).get('/me');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
    const garbage = await request(app).get('/me').set('Authorization', 'Bearer %%%');
    expect(garbage.status).toBe(401);
  });

  it('reads the token from the HttpOnly cookie too', async () => {
    const { app, manager, tokens } = await setup();
    const session = await manager.login(null, 'alice', { strategy: 'hybrid' });
    const token = await tokens.sign({ sub: 'alice', sid: session.handle });
    const res = await request(app).get('/me').set('Cookie', `tessera.at=${token}`);
    expect(res.status).toBe(200);
  });

  it('answers 403 when the token lacks the required claim', async () => {
    const { app, manager, tokens } = await setup();
    const session = await manager.login(null, 'bob', { strategy: 'hybrid' });
    const user = await tokens.sign({ sub: 'bob', sid: session.handle, role: 'user' });
    const admin = await tokens.sign({ sub: 'bob', sid: session.handle, role: 'admin' });
    const denied = await request(app).get('/admin').set('Authorization', `Bearer ${user}`);
    expect(denied.status).toBe(403);
    expect(denied.headers['www-authenticate']).toMatch(/error="insufficient_scope"/);
    const allowed = await request(app).get('/admin').set('Authorization', `Bearer ${admin}`);
    expect(allowed.status).toBe(200);
  });

  it('stops a revoked session’s access token at once', async () => {
    const { app, manager, tokens } = await setup();
    const session = await manager.login(null, 'alice', { strategy: 'hybrid' });
    const token = await tokens.sign({ sub: 'alice', sid: session.handle });
    await manager.revoke(session.handle);
    const res = await request(app).get('/me').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_token');
  });
});
