import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { makeProof, newProofKey, RFC9449 } from '../../../../test/support/dpop.js';
import { isTesseraError, type TesseraErrorCode } from '../shared/errors.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { createDpopVerifier } from './dpop.js';
import {
  accessTokenHash,
  type DpopProofCheck,
  jwkThumbprint,
  normaliseHtu,
  verifyDpopProof,
} from './dpop-proof.js';

const URL_ME = 'https://api.example.com/api/me';
const T0 = Date.UTC(2026, 11, 2, 12);

function code(fn: () => unknown): TesseraErrorCode | 'none' {
  try {
    fn();
  } catch (error) {
    if (isTesseraError(error)) return error.code;
    throw error;
  }
  return 'none';
}

async function asyncCode(promise: Promise<unknown>): Promise<TesseraErrorCode | 'none'> {
  try {
    await promise;
  } catch (error) {
    if (isTesseraError(error)) return error.code;
    throw error;
  }
  return 'none';
}

const at = (ms: number) => () => ms;

describe('RFC 9449 examples', () => {
  it('computes the example thumbprint (RFC 7638) and access-token hash', () => {
    expect(jwkThumbprint(RFC9449.jwk)).toBe(RFC9449.jkt);
    expect(accessTokenHash(RFC9449.accessToken)).toBe(RFC9449.ath);
  });

  it('verifies the token-request proof of Figure 2 at its iat', () => {
    const proof = verifyDpopProof(RFC9449.tokenProof, {
      method: 'POST',
      url: RFC9449.tokenUrl,
      now: at(RFC9449.tokenIat * 1000),
    });
    expect(proof).toMatchObject({ jkt: RFC9449.jkt, htm: 'POST', jti: '-BwC3ESc6acc2lTc' });
  });

  it('verifies the resource proof of Figure 13 with its access token (ath)', () => {
    const check: DpopProofCheck = {
      method: 'GET',
      url: `${RFC9449.resourceUrl}?q=1#frag`,
      accessToken: RFC9449.accessToken,
      now: at(RFC9449.resourceIat * 1000 + 30_000),
    };
    expect(verifyDpopProof(RFC9449.resourceProof, check).jkt).toBe(RFC9449.jkt);
    // Another token, method, URL or a later time: refused.
    expect(code(() => verifyDpopProof(RFC9449.resourceProof, { ...check, accessToken: 'x' }))).toBe(
      'ERR_DPOP_MISMATCH',
    );
    expect(code(() => verifyDpopProof(RFC9449.resourceProof, { ...check, method: 'POST' }))).toBe(
      'ERR_DPOP_MISMATCH',
    );
    expect(
      code(() =>
        verifyDpopProof(RFC9449.resourceProof, {
          ...check,
          url: 'https://resource.example.org/other',
        }),
      ),
    ).toBe('ERR_DPOP_MISMATCH');
    expect(
      code(() =>
        verifyDpopProof(RFC9449.resourceProof, {
          ...check,
          now: at(RFC9449.resourceIat * 1000 + 70_000),
        }),
      ),
    ).toBe('ERR_DPOP_STALE');
  });
});

describe('verifyDpopProof', () => {
  const key = newProofKey('ES256');
  const base = { method: 'GET', url: URL_ME, now: at(T0) };
  const proofAt = (extra: Parameters<typeof makeProof>[1] extends infer P ? Partial<P> : never) =>
    makeProof(key, { method: 'GET', url: URL_ME, iat: T0 / 1000, ...extra });

  it('accepts ES256, EdDSA, RS256 and PS256 proofs and answers the key thumbprint', () => {
    for (const alg of ['ES256', 'EdDSA', 'RS256', 'PS256'] as const) {
      const k = newProofKey(alg);
      const proof = verifyDpopProof(makeProof(k, { ...base, iat: T0 / 1000 }), base);
      expect(proof.alg).toBe(alg);
      expect(proof.jkt).toBe(jwkThumbprint(k.jwk));
    }
  });

  it('normalises htu: scheme and host case, default port, dot segments; ignores query', () => {
    expect(normaliseHtu('HTTPS://API.Example.com:443/api/./x/../me?x=1#y')).toBe(URL_ME);
    const proof = proofAt({ claims: { htu: 'https://API.example.com:443/api/me' } });
    expect(verifyDpopProof(proof, { ...base, url: `${URL_ME}?page=2` }).htm).toBe('GET');
    expect(
      code(() => verifyDpopProof(proofAt({}), { ...base, url: 'http://api.example.com/api/me' })),
    ).toBe('ERR_DPOP_MISMATCH');
  });

  it('refuses a proof for another method or URL', () => {
    expect(code(() => verifyDpopProof(proofAt({ method: 'POST' }), base))).toBe(
      'ERR_DPOP_MISMATCH',
    );
    expect(code(() => verifyDpopProof(proofAt({ method: 'get' }), base))).toBe('ERR_DPOP_MISMATCH');
    expect(
      code(() => verifyDpopProof(proofAt({ url: 'https://api.example.com/api/sessions' }), base)),
    ).toBe('ERR_DPOP_MISMATCH');
    expect(code(() => verifyDpopProof(proofAt({ url: 'https://evil.example/api/me' }), base))).toBe(
      'ERR_DPOP_MISMATCH',
    );
  });

  it('refuses a proof without ath, or with the ath of another token, when a token is presented', () => {
    const withToken = { ...base, accessToken: 'token-a' };
    expect(code(() => verifyDpopProof(proofAt({}), withToken))).toBe('ERR_DPOP_MISMATCH');
    expect(code(() => verifyDpopProof(proofAt({ accessToken: 'token-b' }), withToken))).toBe(
      'ERR_DPOP_MISMATCH',
    );
    expect(verifyDpopProof(proofAt({ accessToken: 'token-a' }), withToken).jkt).toBeTruthy();
  });

  it('refuses iat beyond the window either way, and honours maxAge and clockTolerance', () => {
    expect(code(() => verifyDpopProof(proofAt({ iat: T0 / 1000 - 66 }), base))).toBe(
      'ERR_DPOP_STALE',
    );
    expect(code(() => verifyDpopProof(proofAt({ iat: T0 / 1000 - 64 }), base))).toBe('none');
    expect(code(() => verifyDpopProof(proofAt({ iat: T0 / 1000 + 6 }), base))).toBe(
      'ERR_DPOP_STALE',
    );
    expect(code(() => verifyDpopProof(proofAt({ iat: T0 / 1000 + 4 }), base))).toBe('none');
    const strict = { ...base, maxAge: 10, clockTolerance: 0 };
    expect(code(() => verifyDpopProof(proofAt({ iat: T0 / 1000 - 11 }), strict))).toBe(
      'ERR_DPOP_STALE',
    );
    expect(code(() => verifyDpopProof(proofAt({}), { ...base, maxAge: 0 }))).toBe('ERR_CONFIG');
  });

  it('refuses a jwk with a private member, and keys unfit for the alg', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const privateJwk = ec.privateKey.export({ format: 'jwk' });
    const withD = makeProof(
      { alg: 'ES256', privateKey: ec.privateKey, jwk: privateJwk as Record<string, string> },
      { ...base, iat: T0 / 1000 },
    );
    expect(code(() => verifyDpopProof(withD, base))).toBe('ERR_DPOP_PROOF');
    expect(() => verifyDpopProof(withD, base)).toThrow(/private member "d"/);
    expect(
      code(() => verifyDpopProof(proofAt({ header: { jwk: { ...key.jwk, k: 'AAAA' } } }), base)),
    ).toBe('ERR_DPOP_PROOF');
    const ed = newProofKey('EdDSA');
    expect(code(() => verifyDpopProof(proofAt({ header: { jwk: ed.jwk } }), base))).toBe(
      'ERR_DPOP_PROOF',
    );
    expect(code(() => verifyDpopProof(proofAt({ header: { jwk: undefined } }), base))).toBe(
      'ERR_DPOP_PROOF',
    );
  });

  it('refuses none, HMAC, a wrong typ, a wrong signature and JWS extensions', () => {
    const cases: Record<string, unknown>[] = [
      { alg: 'none' },
      { alg: 'HS256' },
      { alg: 'ES384' },
      { typ: 'JWT' },
      { typ: undefined },
      { crit: ['exp'] },
    ];
    for (const header of cases) {
      expect(code(() => verifyDpopProof(proofAt({ header }), base))).toBe('ERR_DPOP_PROOF');
    }
    const other = newProofKey('ES256');
    const signedByOther = makeProof(other, { ...base, iat: T0 / 1000, header: { jwk: key.jwk } });
    expect(code(() => verifyDpopProof(signedByOther, base))).toBe('ERR_DPOP_PROOF');
    const [h, p, s] = proofAt({}).split('.');
    expect(code(() => verifyDpopProof(`${h}.${p}.${s}=`, base))).toBe('ERR_DPOP_PROOF');
    expect(code(() => verifyDpopProof(`${h}.${p}`, base))).toBe('ERR_DPOP_PROOF');
    expect(code(() => verifyDpopProof('x'.repeat(9000), base))).toBe('ERR_DPOP_PROOF');
    expect(code(() => verifyDpopProof(undefined, base))).toBe('ERR_DPOP_PROOF');
  });

  it('refuses missing or malformed claims', () => {
    for (const claims of [
      { jti: undefined },
      { jti: '' },
      { htm: undefined },
      { htu: 5 },
      { iat: '1' },
    ]) {
      expect(code(() => verifyDpopProof(proofAt({ claims }), base))).toBe('ERR_DPOP_PROOF');
    }
  });
});

describe('createDpopVerifier', () => {
  const key = newProofKey('EdDSA');
  const setup = (options: Partial<Parameters<typeof createDpopVerifier>[0]> = {}) => {
    const clock = { t: T0 };
    const now = () => clock.t;
    const store = createMemoryStore({ now, purgeIntervalMs: 0 });
    return { clock, store, dpop: createDpopVerifier({ store, now, ...options }) };
  };
  const request = { method: 'GET', url: URL_ME };

  it('accepts a proof once: the same proof replayed is ERR_DPOP_REPLAY', async () => {
    const { dpop } = setup();
    const proof = makeProof(key, { ...request, iat: T0 / 1000 });
    expect((await dpop.verify(proof, request)).jkt).toBe(jwkThumbprint(key.jwk));
    expect(await asyncCode(dpop.verify(proof, request))).toBe('ERR_DPOP_REPLAY');
    // The same jti from another key is its own proof.
    const other = newProofKey('EdDSA');
    const jti = JSON.parse(Buffer.from(proof.split('.')[1]!, 'base64url').toString()).jti;
    expect(
      await asyncCode(dpop.verify(makeProof(other, { ...request, iat: T0 / 1000, jti }), request)),
    ).toBe('none');
  });

  it('keeps a jti only as long as its proof could pass the iat check', async () => {
    const { dpop, store, clock } = setup();
    await dpop.verify(makeProof(key, { ...request, iat: T0 / 1000 }), request);
    expect(await store.kvList('dpop-jti')).toHaveLength(1);
    clock.t = T0 + 71_000;
    expect(await store.kvList('dpop-jti')).toHaveLength(0);
  });

  it('with nonces: a proof without one, or with a forged or expired one, is ERR_DPOP_NONCE', async () => {
    const { dpop, clock } = setup({ nonce: { lifetime: 60 } });
    expect(
      await asyncCode(dpop.verify(makeProof(key, { ...request, iat: T0 / 1000 }), request)),
    ).toBe('ERR_DPOP_NONCE');
    const nonce = dpop.nonce()!;
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{30}$/);
    const forged = `${nonce.slice(0, 10)}${nonce[10] === 'A' ? 'B' : 'A'}${nonce.slice(11)}`;
    expect(
      await asyncCode(
        dpop.verify(makeProof(key, { ...request, iat: T0 / 1000, nonce: forged }), request),
      ),
    ).toBe('ERR_DPOP_NONCE');
    expect(
      await asyncCode(dpop.verify(makeProof(key, { ...request, iat: T0 / 1000, nonce }), request)),
    ).toBe('none');
    clock.t = T0 + 75_000;
    expect(
      await asyncCode(
        dpop.verify(makeProof(key, { ...request, iat: clock.t / 1000, nonce }), request),
      ),
    ).toBe('ERR_DPOP_NONCE');
    // A nonce from another verifier sharing the secret is accepted.
    const secret = 'a'.repeat(32);
    const a = setup({ nonce: { secret } });
    const b = setup({ nonce: { secret } });
    const shared = a.dpop.nonce()!;
    expect(
      await asyncCode(
        b.dpop.verify(makeProof(key, { ...request, iat: T0 / 1000, nonce: shared }), request),
      ),
    ).toBe('none');
  });

  it('accepts a nonce from an instance whose clock runs ahead by less than the tolerance', async () => {
    const secret = 'b'.repeat(32);
    const here = setup({ nonce: { secret } });
    const verify = (nonce: string) =>
      asyncCode(here.dpop.verify(makeProof(key, { ...request, iat: T0 / 1000, nonce }), request));
    // Nonce stamps have a 10 s step and T0 is on one. Here it is T0 + 6 s; the other
    // instance is 4 s ahead (its stamp T0 + 10 s: within the 5 s tolerance), or 14 s.
    here.clock.t = T0 + 6_000;
    const issuedAt = (ms: number) => {
      const other = setup({ nonce: { secret } });
      other.clock.t = ms;
      return other.dpop.nonce()!;
    };
    expect(await verify(issuedAt(T0 + 10_000))).toBe('none');
    expect(await verify(issuedAt(T0 + 20_000))).toBe('ERR_DPOP_NONCE');
  });

  it('does not record a proof that fails a check, and refuses weak configuration', async () => {
    const { dpop, store } = setup({ nonce: true });
    await asyncCode(dpop.verify(makeProof(key, { ...request, iat: T0 / 1000 }), request));
    expect(await store.kvList('dpop-jti')).toHaveLength(0);
    expect(() => setup({ nonce: { secret: 'short' } })).toThrow(/32 bytes/);
    expect(() => setup({ algs: ['HS256' as never] })).toThrow(/algs/);
    expect(() => createDpopVerifier({} as never)).toThrow(/store/);
  });

  it('turns a store outage into ERR_STORE_UNAVAILABLE', async () => {
    const { dpop, store } = setup();
    await store.close();
    expect(
      await asyncCode(dpop.verify(makeProof(key, { ...request, iat: T0 / 1000 }), request)),
    ).toMatch(/ERR_STORE_(UNAVAILABLE|CLOSED)/);
  });
});
