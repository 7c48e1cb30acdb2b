import { describe, expect, it } from 'vitest';
import { createAccessTokens, generateKey } from '../tokens/index.js';
import { createTokenCookies, createTokenGuard, type TokenRequest } from './token-guard.js';

async function setup() {
  let time = 1_800_000_000_000;
  const tokens = createAccessTokens({
    keys: [await generateKey('EdDSA', { kid: 'k1' })],
    issuer: 'https://auth.test',
    audience: 'api',
    ttl: 300,
    clockTolerance: 0,
    now: () => time,
  });
  return { tokens, advance: (ms: number) => (time += ms) };
}

const request = (headers: Record<string, string>): TokenRequest => ({
  header: (name) => headers[name],
});

describe('token guard', () => {
  it('accepts a valid Bearer token and answers its claims', async () => {
    const { tokens } = await setup();
    const guard = createTokenGuard({ tokens });
    const token = await tokens.sign({ sub: 'alice', role: 'admin' });
    const result = await guard.authenticate(request({ authorization: `Bearer ${token}` }));
    expect(result.ok && result.claims.sub).toBe('alice');
  });

  it('answers 401 invalid_token for an absent, garbage or expired token', async () => {
    const { tokens, advance } = await setup();
    const guard = createTokenGuard({ tokens });
    const token = await tokens.sign({ sub: 'alice' });
    // Same kid, another key: a forged signature.
    const forger = createAccessTokens({
      keys: [await generateKey('EdDSA', { kid: 'k1' })],
      issuer: 'https://auth.test',
      audience: 'api',
    });
    const forged = await forger.sign({ sub: 'alice' });
    const cases: Array<[Record<string, string>, string | undefined]> = [
      [{}, undefined],
      [{ authorization: 'Basic YWxpY2U6cHc=' }, 'ERR_TOKEN_MALFORMED'],
      [{ authorization: 'Bearer' }, 'ERR_TOKEN_MALFORMED'],
      [{ authorization: 'Bearer a.b.c' }, 'ERR_TOKEN_MALFORMED'],
      [{ authorization: `Bearer ${token}x` }, 'ERR_TOKEN_MALFORMED'],
      [{ authorization: `Bearer ${forged}` }, 'ERR_TOKEN_SIGNATURE'],
    ];
    for (const [headers, code] of cases) {
      const result = await guard.authenticate(request(headers));
      expect(result.ok).toBe(false);
      if (result.ok) continue;
      expect(result.status).toBe(401);
      expect(result.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
      expect(result.code).toBe(code);
    }
    advance(301_000);
    const expired = await guard.authenticate(request({ authorization: `Bearer ${token}` }));
    expect(expired).toMatchObject({ ok: false, status: 401, code: 'ERR_TOKEN_EXPIRED' });
  });

  it('answers 403 insufficient_scope when a required claim is missing', async () => {
    const { tokens } = await setup();
    const guard = createTokenGuard({ tokens, realm: 'api' });
    const user = await tokens.sign({ sub: 'bob', role: 'user', scope: 'read write' });
    const headers = { authorization: `Bearer ${user}` };
    const denied = await guard.authenticate(request(headers), { role: 'admin' });
    expect(denied).toMatchObject({ ok: false, status: 403, error: 'insufficient_scope' });
    if (!denied.ok) {
      expect(denied.headers['www-authenticate']).toMatch(
        /^Bearer realm="api", error="insufficient_scope"/,
      );
    }
    expect((await guard.authenticate(request(headers), { role: ['user', 'admin'] })).ok).toBe(true);
    expect((await guard.authenticate(request(headers), { scope: 'write' })).ok).toBe(true);
    expect((await guard.authenticate(request(headers), (c) => c.sub === 'bob')).ok).toBe(true);
  });

  it('rejects the token of a revoked session at once (hybrid)', async () => {
    const { tokens } = await setup();
    const live = new Set(['handle-1']);
    const guard = createTokenGuard({ tokens, isSessionActive: (sid) => live.has(sid) });
    const token = await tokens.sign({ sub: 'alice', sid: 'handle-1' });
    const headers = { authorization: `Bearer ${token}` };
    expect((await guard.authenticate(request(headers))).ok).toBe(true);
    live.delete('handle-1');
    expect(await guard.authenticate(request(headers))).toMatchObject({
      ok: false,
      status: 401,
      code: 'ERR_TOKEN_REVOKED',
    });
    const sessionless = await tokens.sign({ sub: 'alice' });
    expect(
      await guard.authenticate(request({ authorization: `Bearer ${sessionless}` })),
    ).toMatchObject({ ok: false, status: 401 });
  });

  it('answers 503, not a sign-in, when the session check cannot reach the store', async () => {
    const { tokens } = await setup();
    const guard = createTokenGuard({
      tokens,
      isSessionActive: () => Promise.reject(new Error('ECONNREFUSED')),
    });
    const token = await tokens.sign({ sub: 'alice', sid: 'h' });
    const result = await guard.authenticate(request({ authorization: `Bearer ${token}` }));
    expect(result).toMatchObject({ ok: false, status: 503 });
  });

  it('reads the token from an HttpOnly cookie when configured', async () => {
    const { tokens } = await setup();
    const token = await tokens.sign({ sub: 'alice' });
    const headerOnly = createTokenGuard({ tokens });
    const cookies = createTokenGuard({ tokens, source: 'header-or-cookie' });
    const viaCookie = {
      ...request({ cookie: `theme=dark; __Host-tessera.at=${token}` }),
      method: 'GET',
    };
    expect((await headerOnly.authenticate(viaCookie)).ok).toBe(false);
    expect((await cookies.authenticate(viaCookie)).ok).toBe(true);
  });

  it('writes the refresh cookie HttpOnly, Secure, SameSite=Strict on the refresh path', () => {
    const { refresh, access } = createTokenCookies();
    const header = refresh.serialize('rt-value', { isSecure: false });
    expect(header).toMatch(/^__Secure-tessera\.rt=rt-value;/);
    expect(header).toContain('Path=/api/token/refresh');
    expect(header).toContain('HttpOnly');
    expect(header).toContain('Secure');
    expect(header).toContain('SameSite=Strict');
    expect(access.serialize('at', { isSecure: true })).toMatch(
      /^__Host-tessera\.at=at; Path=\/; HttpOnly; Secure; SameSite=Lax/,
    );
  });
});

describe('token guard: cookie-borne tokens (issue 11, finding 4)', () => {
  const cookieGuard = async () => {
    const { tokens } = await setup();
    const guard = createTokenGuard({ tokens, source: 'header-or-cookie' });
    const token = await tokens.sign({ sub: 'alice' });
    return { guard, token };
  };

  it('runs the CSRF check on unsafe requests whose token came from a cookie', async () => {
    const { guard, token } = await cookieGuard();
    const cookie = `__Host-tessera.at=${token}`;
    const crossSite = await guard.authenticate({
      header: (n) => ({ cookie, 'sec-fetch-site': 'cross-site', host: 'app.test' })[n],
      method: 'POST',
      isSecure: true,
    });
    expect(crossSite).toMatchObject({ ok: false, status: 403, error: 'csrf', code: 'ERR_CSRF' });
    const foreignOrigin = await guard.authenticate({
      header: (n) => ({ cookie, origin: 'https://evil.test', host: 'app.test' })[n],
      method: 'DELETE',
      isSecure: true,
    });
    expect(foreignOrigin).toMatchObject({ ok: false, status: 403, error: 'csrf' });
    // A request that does not say its method is treated as unsafe (fail closed).
    const noMethod = await guard.authenticate({
      header: (n) => ({ cookie, host: 'app.test' })[n],
      isSecure: true,
    });
    expect(noMethod).toMatchObject({ ok: false, status: 403 });
    const sameOrigin = await guard.authenticate({
      header: (n) => ({ cookie, origin: 'https://app.test', host: 'app.test' })[n],
      method: 'POST',
      isSecure: true,
    });
    expect(sameOrigin.ok).toBe(true);
    const safe = await guard.authenticate({
      header: (n) => ({ cookie, 'sec-fetch-site': 'cross-site', host: 'app.test' })[n],
      method: 'GET',
      isSecure: true,
    });
    expect(safe.ok).toBe(true);
  });

  it('does not CSRF-check a Bearer header (a cross-site page cannot set it)', async () => {
    const { guard, token } = await cookieGuard();
    const result = await guard.authenticate({
      header: (n) =>
        ({ authorization: `Bearer ${token}`, 'sec-fetch-site': 'cross-site', host: 'app.test' })[n],
      method: 'POST',
      isSecure: true,
    });
    expect(result.ok).toBe(true);
  });

  it('reads only the __Host- cookie on HTTPS, the plain name on HTTP', async () => {
    const { guard, token } = await cookieGuard();
    const get = (cookie: string, isSecure: boolean) =>
      guard.authenticate({ header: (n) => ({ cookie })[n], method: 'GET', isSecure });
    expect((await get(`tessera.at=${token}`, true)).ok).toBe(false);
    expect((await get(`__Host-tessera.at=${token}`, true)).ok).toBe(true);
    expect((await get(`tessera.at=${token}`, false)).ok).toBe(true);
    // A planted plain cookie beside a bad __Host- one is not a fallback on HTTPS.
    expect((await get(`__Host-tessera.at=garbage; tessera.at=${token}`, true)).ok).toBe(false);
    // The prefix is case-sensitive.
    expect((await get(`__HOST-tessera.at=${token}`, true)).ok).toBe(false);
  });
});

describe('token guard: one generic answer to clients (issue 11, finding 8)', () => {
  it('gives every invalid token the same status, body message and WWW-Authenticate; the code goes to onRefused', async () => {
    const { tokens, advance } = await setup();
    const refusals: Array<{ code?: string }> = [];
    const guard = createTokenGuard({
      tokens,
      isSessionActive: (sid) => sid === 'live',
      onRefused: (refusal) => refusals.push(refusal),
    });
    const forger = createAccessTokens({
      keys: [await generateKey('EdDSA', { kid: 'k1' })],
      issuer: 'https://auth.test',
      audience: 'api',
    });
    const otherAudience = createAccessTokens({
      keys: [await generateKey('EdDSA', { kid: 'k2' })],
      issuer: 'https://auth.test',
      audience: 'other',
    });
    const valid = await tokens.sign({ sub: 'alice', sid: 'live' });
    const revoked = await tokens.sign({ sub: 'alice', sid: 'gone' });
    const noSid = await tokens.sign({ sub: 'alice' });
    const forged = await forger.sign({ sub: 'alice', sid: 'live' });
    const foreign = await otherAudience.sign({ sub: 'alice', sid: 'live' });
    const answers = [];
    for (const token of [`${valid}x`, revoked, noSid, forged, foreign, 'a.b.c']) {
      answers.push(await guard.authenticate(request({ authorization: `Bearer ${token}` })));
    }
    advance(301_000);
    answers.push(await guard.authenticate(request({ authorization: `Bearer ${valid}` })));
    const shown = answers.map((a) =>
      a.ok ? 'ok' : JSON.stringify([a.status, a.error, a.message, a.headers]),
    );
    expect(new Set(shown).size).toBe(1);
    expect(shown[0]).not.toMatch(/expired|revoked|signature|audience|session/i);
    const codes = refusals.map((r) => r.code);
    expect(new Set(codes).size).toBeGreaterThanOrEqual(5);
    expect(codes).toContain('ERR_TOKEN_EXPIRED');
    expect(codes).toContain('ERR_TOKEN_REVOKED');
    expect(JSON.stringify(refusals)).not.toContain(valid);
  });
});
