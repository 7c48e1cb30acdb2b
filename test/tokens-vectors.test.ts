/**
 * Official JOSE test vectors (RFC 7515 App. A, RFC 8037 App. A, RFC 7520 §4, RFC 7797 §4.2,
 * transcribed in the project's shared vectors, copied to test/fixtures). They test the JWS layer: Tessera's signature
 * verifier over each signing input with each key, and re-signing where the algorithm is
 * deterministic. None of them is an `at+jwt` access token, so the token rules are checked
 * separately: the same tokens through `tokens.verify` are refused with the documented code.
 */
import { createPrivateKey, createPublicKey, createSecretKey, type JsonWebKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { TesseraError } from '../packages/session/src/shared/errors.js';
import { createAccessTokens } from '../packages/session/src/tokens/access-tokens.js';
import { isTokenAlg, signJws, verifyJws } from '../packages/session/src/tokens/internal/jws.js';
import { createKeyring } from '../packages/session/src/tokens/keyring.js';

interface Vector {
  id: string;
  alg: string;
  token: string;
  jwk: (JWK & Record<string, unknown>) | null;
  publicJwk?: JWK;
  resignReproducesToken?: boolean;
  signingInputLength?: number;
  detachedPayloadB64u?: string;
  detachedPayloadRaw?: string;
  jwkThumbprintSha256?: string;
  isJwt: boolean;
}

const VECTORS_PATH = new URL('./fixtures/jws-rfc-vectors.json', import.meta.url);
const { vectors } = JSON.parse(readFileSync(VECTORS_PATH, 'utf8')) as { vectors: Vector[] };

/** The bytes the signature covers; detached and unencoded payloads put back in place. */
function signingInput(vector: Vector): string {
  const [header, payload] = vector.token.split('.') as [string, string];
  if (vector.detachedPayloadB64u !== undefined) return `${header}.${vector.detachedPayloadB64u}`;
  if (vector.detachedPayloadRaw !== undefined) return `${header}.${vector.detachedPayloadRaw}`;
  return `${header}.${payload}`;
}

function verifyKey(vector: Vector) {
  const jwk = vector.jwk!;
  if (jwk.kty === 'oct') return createSecretKey(Buffer.from(jwk.k as string, 'base64url'));
  return createPublicKey({ key: (vector.publicJwk ?? jwk) as JsonWebKey, format: 'jwk' });
}

const supported = vectors.filter((v) => isTokenAlg(v.alg));
const unsupported = vectors.filter((v) => !isTokenAlg(v.alg));

describe('JWS layer: official vectors', () => {
  it('covers every algorithm Tessera supports', () => {
    expect(new Set(supported.map((v) => v.alg))).toEqual(
      new Set(['HS256', 'RS256', 'ES256', 'EdDSA']),
    );
    expect(vectors.length).toBe(12);
  });

  it.each(supported.map((v) => ({ id: v.id, alg: v.alg, v })))(
    '$id ($alg): the signature verifies, and fails after a one-bit change',
    ({ v }) => {
      if (!isTokenAlg(v.alg)) throw new Error('unreachable');
      const input = signingInput(v);
      if (v.signingInputLength !== undefined) expect(input.length).toBe(v.signingInputLength);
      const signature = Buffer.from(v.token.split('.')[2]!, 'base64url');
      const key = verifyKey(v);
      expect(verifyJws(v.alg, key, input, signature)).toBe(true);

      const flipped = Buffer.from(signature);
      flipped[flipped.length >> 1]! ^= 1;
      expect(verifyJws(v.alg, key, input, flipped)).toBe(false);
      expect(verifyJws(v.alg, key, `${input}x`, signature)).toBe(false);
    },
  );

  it.each(
    supported.filter((v) => v.resignReproducesToken).map((v) => ({ id: v.id, alg: v.alg, v })),
  )('$id ($alg): re-signing reproduces the published signature', ({ v }) => {
    if (!isTokenAlg(v.alg)) throw new Error('unreachable');
    const jwk = v.jwk!;
    const key =
      jwk.kty === 'oct'
        ? createSecretKey(Buffer.from(jwk.k as string, 'base64url'))
        : createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
    expect(signJws(v.alg, key, signingInput(v)).toString('base64url')).toBe(v.token.split('.')[2]);
  });

  it('ES256 (RFC 7515 A.3): a fresh signature verifies and is 64 raw bytes, not DER', () => {
    const v = vectors.find((x) => x.id === 'rfc7515-A.3')!;
    const key = createPrivateKey({ key: v.jwk as JsonWebKey, format: 'jwk' });
    const signature = signJws('ES256', key, signingInput(v));
    expect(signature).toHaveLength(64);
    expect(verifyJws('ES256', verifyKey(v), signingInput(v), signature)).toBe(true);
  });

  it('RFC 8037: the Ed25519 key thumbprint matches (the default kid of generated keys)', async () => {
    const v = vectors.find((x) => x.id === 'rfc8037-A.4')!;
    expect(await calculateJwkThumbprint(v.publicJwk!)).toBe(v.jwkThumbprintSha256);
  });

  it.each(unsupported.map((v) => ({ id: v.id, alg: v.alg, v })))(
    '$id ($alg): an algorithm outside the four is not a key Tessera accepts',
    ({ v }) => {
      expect(isTokenAlg(v.alg)).toBe(false);
      if (v.jwk === null) return;
      const jwk = { ...v.jwk, kid: 'k', alg: v.alg };
      expect(() => createKeyring({ keys: [jwk] })).toThrowError(
        expect.objectContaining({ code: 'ERR_CONFIG' }) as unknown as Error,
      );
    },
  );
});

describe('token layer: the same vectors through tokens.verify', () => {
  // Each vector's key in a ring (with a kid when the vector has none) and a clock pinned
  // before the 2011 expiry: what refuses them is the access-token rules, never the clock.
  const expected: Record<string, string> = {
    'rfc7515-A.1': 'ERR_TOKEN_KEY_UNKNOWN', // no kid in the header
    'rfc7515-A.2': 'ERR_TOKEN_KEY_UNKNOWN',
    'rfc7515-A.3': 'ERR_TOKEN_KEY_UNKNOWN',
    'rfc7515-A.4': 'ERR_TOKEN_KEY_UNKNOWN',
    'rfc7515-A.5': 'ERR_TOKEN_ALG', // alg none
    'rfc8037-A.4': 'ERR_TOKEN_KEY_UNKNOWN',
    'rfc7520-4.1': 'ERR_TOKEN_TYPE', // kid and alg fit the ring key; no typ at+jwt
    // Same kid as the RS256 key of §4.1, which is in the ring: the token may not pick PS384
    // or ES512 for it.
    'rfc7520-4.2': 'ERR_TOKEN_ALG',
    'rfc7520-4.3': 'ERR_TOKEN_ALG',
    'rfc7520-4.4': 'ERR_TOKEN_TYPE',
    'rfc7520-4.5': 'ERR_TOKEN_TYPE', // detached payload, but the header fails first
    'rfc7797-4.2': 'ERR_TOKEN_MALFORMED', // crit
  };

  const ringKeys: JWK[] = [];
  const seen = new Set<string>();
  for (const v of supported) {
    if (v.jwk === null || typeof v.jwk.kid !== 'string' || seen.has(v.jwk.kid)) continue;
    seen.add(v.jwk.kid);
    ringKeys.push({ ...v.jwk, alg: v.alg });
  }
  const tokens = createAccessTokens({
    keys: ringKeys,
    issuer: 'joe',
    audience: 'any',
    now: () => Date.UTC(2011, 2, 22, 18, 40),
  });

  it.each(vectors.map((v) => ({ id: v.id, v })))(
    '$id is refused as an access token',
    async ({ v }) => {
      let code = 'VALID';
      try {
        await tokens.verify(v.token);
      } catch (error) {
        code = error instanceof TesseraError ? error.code : String(error);
      }
      expect(code).toBe(expected[v.id]);
    },
  );

  it('the RFC 7520 HS256 key verifies once the token is an access token with a valid signature', async () => {
    // Same key and kid as RFC 7520 §4.4, a proper at+jwt header and claims: accepted.
    const v = vectors.find((x) => x.id === 'rfc7520-4.4')!;
    const key = createSecretKey(Buffer.from(v.jwk!.k as string, 'base64url'));
    const header = Buffer.from(
      JSON.stringify({ alg: 'HS256', kid: v.jwk!.kid, typ: 'at+jwt' }),
    ).toString('base64url');
    const now = Date.UTC(2011, 2, 22, 18, 40) / 1000;
    const payload = Buffer.from(
      JSON.stringify({ iss: 'joe', aud: 'any', sub: 'frodo', iat: now, exp: now + 60, jti: 'j' }),
    ).toString('base64url');
    const input = `${header}.${payload}`;
    const token = `${input}.${signJws('HS256', key, input).toString('base64url')}`;
    await expect(tokens.verify(token)).resolves.toMatchObject({ sub: 'frodo' });
  });
});
