/**
 * Property-based tests of the DPoP proof parser and verifier (RFC 9449): for any input it
 * answers a proof or throws a TesseraError with an `ERR_DPOP_*` code, it never accepts a
 * proof that differs from one the client signed, nor forged headers (another jwk, alg
 * `none`, HMAC, a private member) or changed claims under the old signature.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTesseraError } from '../../packages/session/src/shared/errors.js';
import { verifyDpopProof } from '../../packages/session/src/tokens/index.js';
import { makeProof, newProofKey } from '../support/dpop.js';
import { modified, RUNS } from './support.js';

const URL = 'https://api.test/api/me';
const T0 = Date.UTC(2026, 11, 2, 12);
const check = { method: 'GET', url: URL, accessToken: 'at-1', now: () => T0 };
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Verifies, answering 'accepted' or the error code; anything but a TesseraError fails. */
function outcome(candidate: unknown): string {
  try {
    verifyDpopProof(candidate, check);
    return 'accepted';
  } catch (error) {
    if (!isTesseraError(error)) throw error;
    expect(error.code).toMatch(/^ERR_DPOP_/);
    return error.code;
  }
}

describe('fuzz: DPoP proof verify', () => {
  const key = newProofKey('ES256');
  const proof = makeProof(key, { ...check, iat: T0 / 1000 });
  const [head, body, sig] = proof.split('.') as [string, string, string];
  const header = JSON.parse(Buffer.from(head, 'base64url').toString()) as Record<string, unknown>;
  const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;

  it(`accepts no modified proof, refuses only with ERR_DPOP_* (${RUNS} runs)`, () => {
    expect(outcome(proof)).toBe('accepted');
    fc.assert(
      fc.property(modified(proof), (candidate) => {
        expect(outcome(candidate)).not.toBe('accepted');
      }),
      { numRuns: RUNS },
    );
  });

  it(`arbitrary values, forged headers and changed claims never verify (${RUNS} runs)`, () => {
    const other = newProofKey('EdDSA');
    const forged = fc.oneof(
      fc.anything(),
      fc.string({ maxLength: 300 }),
      fc
        .array(fc.base64String({ maxLength: 80 }), { minLength: 1, maxLength: 4 })
        .map((parts) => parts.join('.')),
      fc
        .dictionary(fc.constantFrom('jti', 'htm', 'htu', 'iat', 'ath', 'nonce'), fc.jsonValue(), {
          minKeys: 1,
        })
        .map((patch) => ({ ...claims, ...patch }))
        .filter((changed) => JSON.stringify(changed) !== JSON.stringify(claims))
        .map((changed) => `${head}.${b64(changed)}.${sig}`),
      fc
        .record({
          alg: fc.constantFrom('none', 'HS256', 'ES256', 'EdDSA', 'RS256', 'ES384', ''),
          typ: fc.constantFrom('dpop+jwt', 'JWT', 'at+jwt', undefined),
          jwk: fc.constantFrom(
            key.jwk,
            other.jwk,
            { ...key.jwk, d: 'AAAA' },
            { kty: 'oct', k: 'c2VjcmV0' },
            undefined,
          ),
        })
        .map((h) => ({ ...header, ...h }))
        .filter((h) => JSON.stringify(h) !== JSON.stringify(header))
        .map((h) => `${b64(h)}.${body}.${sig}`),
    );
    fc.assert(
      fc.property(forged, (candidate) => {
        expect(outcome(candidate)).not.toBe('accepted');
      }),
      { numRuns: RUNS },
    );
  });
});
