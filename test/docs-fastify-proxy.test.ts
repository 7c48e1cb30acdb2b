/**
 * What docs/fastify.md tells users behind a TLS-terminating proxy, checked on a real
 * listening Fastify 5: `trustProxy` set to the proxy's address makes Fastify believe its
 * `X-Forwarded-Proto: https`, so with `cookie.secure: 'auto'` the session cookie gets
 * `Secure`; the same header from a peer that is not trusted is ignored.
 */
import Fastify, { type FastifyServerOptions } from 'fastify';
import tessera from 'tessera-session/fastify';
import { describe, expect, it } from 'vitest';

async function cookieBehindProxy(trustProxy: FastifyServerOptions['trustProxy']): Promise<string> {
  const app = Fastify(trustProxy === undefined ? {} : { trustProxy });
  await app.register(tessera, {
    secret: 'a-test-secret-of-at-least-32-characters!',
    cookie: { secure: 'auto' },
  });
  app.get('/', async (request) => {
    request.session.views = 1;
    return { protocol: request.protocol };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const res = await fetch(`http://127.0.0.1:${port}/`, {
      headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' },
    });
    expect(res.status).toBe(200);
    return res.headers.getSetCookie().join('\n');
  } finally {
    await app.close();
  }
}

describe('docs/fastify.md: behind a proxy', () => {
  it("trustProxy: '127.0.0.1' (the proxy's address) gives a Secure cookie", async () => {
    const cookie = await cookieBehindProxy('127.0.0.1');
    expect(cookie).toMatch(/^sessionId=/);
    expect(cookie).toContain('; Secure');
  });

  it('trustProxy: true (only the proxy can reach the app) does the same', async () => {
    const cookie = await cookieBehindProxy(true);
    expect(cookie).toMatch(/^sessionId=.*; Secure/);
  });

  it('without trustProxy the forwarded header is not believed', async () => {
    const cookie = await cookieBehindProxy(undefined);
    expect(cookie).toMatch(/^sessionId=/);
    expect(cookie).not.toContain('Secure');
  });
});
