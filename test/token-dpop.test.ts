import { afterAll, describe, expect, it } from 'vitest';
import {
  createTokenGuard,
  type TokenGuardOptions,
} from '../packages/session/src/http/token-guard.js';
import type { TesseraErrorCode } from '../packages/session/src/shared/errors.js';
import { createMemoryStore } from '../packages/session/src/stores/memory/index.js';
import {
  createAccessTokens,
  createDpopVerifier,
  type DpopVerifierOptions,
  generateKey,
  jwkThumbprint,
} from '../packages/session/src/tokens/index.js';
import { makeProof, newProofKey, type ProofKey } from './support/dpop.js';
import { closeTokenApps, TOKEN_ADAPTERS, TOKEN_APP_HOST } from './support/token-apps.js';

const ME = `http://${TOKEN_APP_HOST}/me`;

afterAll(closeTokenApps);

async function setup(
  guardOptions: Partial<TokenGuardOptions> = {},
  dpopOptions: Partial<DpopVerifierOptions> = {},
) {
  const store = createMemoryStore();
  const tokens = createAccessTokens({
    keys: [await generateKey('EdDSA')],
    issuer: 'https://auth.test',
    audience: 'api',
  });
  const dpop = createDpopVerifier({ store, ...dpopOptions });
  const codes: Array<TesseraErrorCode | undefined> = [];
  const guard = createTokenGuard({
    tokens,
    dpop,
    onRefused: (refusal) => codes.push(refusal.code),
    ...guardOptions,
  });
  const client = newProofKey('ES256');
  const bound = await tokens.sign({ sub: 'alice', cnf: { jkt: jwkThumbprint(client.jwk) } });
  const unbound = await tokens.sign({ sub: 'bob' });
  const dpopHeaders = (key: ProofKey, token: string, url = ME, method = 'GET') => ({
    authorization: `DPoP ${token}`,
    dpop: makeProof(key, { method, url, accessToken: token }),
  });
  return { tokens, dpop, guard, codes, client, bound, unbound, dpopHeaders };
}

describe.each(TOKEN_ADAPTERS)('DPoP through %s', (_name, make) => {
  it('serves a bound token with a fresh proof of its key; refuses it as Bearer or without a proof', async () => {
    const { guard, codes, client, bound, dpopHeaders } = await setup();
    const call = make(guard);
    const ok = await call('/me', dpopHeaders(client, bound));
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ sub: 'alice' });

    const asBearer = await call('/me', { authorization: `Bearer ${bound}` });
    expect(asBearer.status).toBe(401);
    expect(asBearer.body.error).toBe('invalid_token');
    expect(asBearer.headers['www-authenticate']).toMatch(
      /^Bearer error="invalid_token", error_description="[^"]+", DPoP algs="ES256 EdDSA RS256 PS256"$/,
    );

    const noProof = await call('/me', { authorization: `DPoP ${bound}` });
    expect(noProof.status).toBe(401);
    expect(noProof.body.error).toBe('invalid_dpop_proof');
    expect(noProof.headers['www-authenticate']).toMatch(/DPoP error="invalid_dpop_proof"/);
    expect(codes).toEqual(['ERR_DPOP_BINDING', 'ERR_DPOP_PROOF']);
  });

  it('refuses a replayed proof, a proof for another method or URL, and one by another key', async () => {
    const { guard, codes, client, bound, dpopHeaders } = await setup();
    const call = make(guard);
    const headers = dpopHeaders(client, bound);
    expect((await call('/me', headers)).status).toBe(200);
    const replayed = await call('/me', headers);
    expect([replayed.status, replayed.body.error]).toEqual([401, 'invalid_dpop_proof']);
    const wrongMethod = await call('/me', dpopHeaders(client, bound, ME, 'POST'));
    expect([wrongMethod.status, wrongMethod.body.error]).toEqual([401, 'invalid_dpop_proof']);
    const wrongUrl = await call(
      '/me',
      dpopHeaders(client, bound, `http://${TOKEN_APP_HOST}/admin`),
    );
    expect([wrongUrl.status, wrongUrl.body.error]).toEqual([401, 'invalid_dpop_proof']);
    const otherKey = await call('/me', dpopHeaders(newProofKey('EdDSA'), bound));
    expect(otherKey.status).toBe(401);
    expect(otherKey.body.error).toBe('invalid_token');
    expect(otherKey.headers['www-authenticate']).toMatch(/^Bearer, DPoP error="invalid_token"/);
    expect(codes).toEqual([
      'ERR_DPOP_REPLAY',
      'ERR_DPOP_MISMATCH',
      'ERR_DPOP_MISMATCH',
      'ERR_DPOP_BINDING',
    ]);
  });

  it('a stolen token replayed from a second client gets 401, with its own key or a copied proof', async () => {
    const { guard, client, bound, dpopHeaders } = await setup();
    const call = make(guard);
    const victim = dpopHeaders(client, bound);
    expect((await call('/me', victim)).status).toBe(200);
    // The thief has the token and the proof it saw, not the key.
    expect((await call('/me', victim)).status).toBe(401);
    expect((await call('/me', dpopHeaders(newProofKey('ES256'), bound))).status).toBe(401);
    expect((await call('/me', { authorization: `Bearer ${bound}` })).status).toBe(401);
  });

  it('refuses an unbound token sent as DPoP, and every Bearer token when DPoP is required', async () => {
    const loose = await setup();
    const asDpop = await make(loose.guard)('/me', loose.dpopHeaders(loose.client, loose.unbound));
    expect([asDpop.status, asDpop.body.error]).toEqual([401, 'invalid_token']);
    expect(
      (await make(loose.guard)('/me', { authorization: `Bearer ${loose.unbound}` })).status,
    ).toBe(200);

    const strict = await setup({ requireDpop: true });
    const call = make(strict.guard);
    const bearer = await call('/me', { authorization: `Bearer ${strict.unbound}` });
    expect(bearer.status).toBe(401);
    expect(bearer.headers['www-authenticate']).toMatch(/^DPoP error="invalid_token"/);
    const none = await call('/me', {});
    expect(none.headers['www-authenticate']).toMatch(/^DPoP error="invalid_token".*algs="/);
    expect((await call('/me', strict.dpopHeaders(strict.client, strict.bound))).status).toBe(200);
  });

  it('asks for a nonce with use_dpop_nonce and DPoP-Nonce, then accepts the proof carrying it', async () => {
    const { guard, client, bound } = await setup({}, { nonce: true });
    const call = make(guard);
    const first = await call('/me', {
      authorization: `DPoP ${bound}`,
      dpop: makeProof(client, { method: 'GET', url: ME, accessToken: bound }),
    });
    expect(first.status).toBe(401);
    expect(first.body.error).toBe('use_dpop_nonce');
    expect(first.headers['www-authenticate']).toMatch(/DPoP error="use_dpop_nonce"/);
    const nonce = first.headers['dpop-nonce'];
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{30}$/);
    const second = await call('/me', {
      authorization: `DPoP ${bound}`,
      dpop: makeProof(client, { method: 'GET', url: ME, accessToken: bound, nonce }),
    });
    expect(second.status).toBe(200);
  });

  it('checks htu against publicOrigin when one is configured (a proxy in front)', async () => {
    const { guard, client, bound } = await setup({ publicOrigin: 'https://api.example.com' });
    const call = make(guard);
    const proofFor = (url: string) => ({
      authorization: `DPoP ${bound}`,
      dpop: makeProof(client, { method: 'GET', url, accessToken: bound }),
    });
    expect((await call('/me', proofFor('https://api.example.com/me'))).status).toBe(200);
    expect((await call('/me', proofFor(ME))).status).toBe(401);
  });
});

describe('token guard options for DPoP', () => {
  it('refuses requireDpop without a verifier, and a publicOrigin with a path', async () => {
    const tokens = createAccessTokens({
      keys: [await generateKey('EdDSA')],
      issuer: 'https://auth.test',
      audience: 'api',
    });
    expect(() => createTokenGuard({ tokens, requireDpop: true })).toThrow(/requireDpop needs dpop/);
    const dpop = createDpopVerifier({ store: createMemoryStore() });
    expect(() => createTokenGuard({ tokens, dpop, publicOrigin: 'https://a.test/api' })).toThrow(
      /publicOrigin/,
    );
  });

  it('refuses a bound token when the guard has no DPoP verifier', async () => {
    const tokens = createAccessTokens({
      keys: [await generateKey('EdDSA')],
      issuer: 'https://auth.test',
      audience: 'api',
    });
    const guard = createTokenGuard({ tokens });
    const bound = await tokens.sign({ sub: 'a', cnf: { jkt: 'x'.repeat(43) } });
    const result = await guard.authenticate({
      header: (n) => (n === 'authorization' ? `Bearer ${bound}` : undefined),
    });
    expect(result).toMatchObject({ ok: false, status: 401, code: 'ERR_DPOP_BINDING' });
    if (!result.ok)
      expect(result.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
  });

  it('answers 503 when the replay cache is down, never a pass', async () => {
    const store = createMemoryStore();
    const tokens = createAccessTokens({
      keys: [await generateKey('EdDSA')],
      issuer: 'https://auth.test',
      audience: 'api',
    });
    const guard = createTokenGuard({ tokens, dpop: createDpopVerifier({ store }) });
    const client = newProofKey();
    const bound = await tokens.sign({ sub: 'a', cnf: { jkt: jwkThumbprint(client.jwk) } });
    await store.close();
    const headers: Record<string, string> = {
      authorization: `DPoP ${bound}`,
      dpop: makeProof(client, { method: 'GET', url: ME, accessToken: bound }),
    };
    const result = await guard.authenticate({
      header: (n) => headers[n],
      method: 'GET',
      url: ME,
    });
    expect(result).toMatchObject({ ok: false, status: 503 });
  });
});
