/**
 * The JWS signature layer on `node:crypto`: sign and verify one signing input with one
 * KeyObject for the four algorithms Tessera supports. Synchronous, no parsing, no claims:
 * the token rules live in `verify.ts`. ES256 signatures are JOSE's raw `r || s` (64 bytes),
 * never DER.
 */
import {
  createHmac,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
  timingSafeEqual,
} from 'node:crypto';

/** The JWS algorithms a Tessera key can have. */
export type TokenAlg = 'HS256' | 'RS256' | 'ES256' | 'EdDSA';

/** Every supported algorithm, in the order of preference for new keys. */
export const TOKEN_ALGS: readonly TokenAlg[] = ['EdDSA', 'ES256', 'RS256', 'HS256'];

/**
 * True when `alg` names an algorithm Tessera signs and verifies with.
 * @example isTokenAlg('ES512') // false
 */
export function isTokenAlg(alg: unknown): alg is TokenAlg {
  return alg === 'HS256' || alg === 'RS256' || alg === 'ES256' || alg === 'EdDSA';
}

const ECDSA = { dsaEncoding: 'ieee-p1363' } as const;

function toBytes(input: string | Uint8Array): Uint8Array {
  return typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
}

/**
 * The signature over `signingInput` (`BASE64URL(header) "." BASE64URL(payload)`).
 * @example signJws('HS256', secretKeyObject, 'eyJ….eyJ…')
 */
export function signJws(alg: TokenAlg, key: KeyObject, signingInput: string | Uint8Array): Buffer {
  switch (alg) {
    case 'HS256':
      return createHmac('sha256', key).update(signingInput).digest();
    case 'RS256':
      return cryptoSign('sha256', toBytes(signingInput), key);
    case 'ES256':
      return cryptoSign('sha256', toBytes(signingInput), { key, ...ECDSA });
    case 'EdDSA':
      return cryptoSign(null, toBytes(signingInput), key);
  }
}

/**
 * True when `signature` is a valid `alg` signature over `signingInput` under `key`. The
 * length is checked first (ES256 and EdDSA: 64 bytes, HS256: 32, RS256: the modulus size
 * given as `rsaBytes`), so a DER-encoded ECDSA signature never reaches OpenSSL.
 * @example verifyJws('EdDSA', publicKey, signingInput, signatureBytes)
 */
export function verifyJws(
  alg: TokenAlg,
  key: KeyObject,
  signingInput: string | Uint8Array,
  signature: Uint8Array,
  rsaBytes = 0,
): boolean {
  switch (alg) {
    case 'HS256': {
      if (signature.length !== 32) return false;
      const expected = createHmac('sha256', key).update(signingInput).digest();
      return timingSafeEqual(expected, signature);
    }
    case 'RS256':
      if (rsaBytes !== 0 && signature.length !== rsaBytes) return false;
      return cryptoVerify('sha256', toBytes(signingInput), key, signature);
    case 'ES256':
      if (signature.length !== 64) return false;
      return cryptoVerify('sha256', toBytes(signingInput), { key, ...ECDSA }, signature);
    case 'EdDSA':
      if (signature.length !== 64) return false;
      return cryptoVerify(null, toBytes(signingInput), key, signature);
  }
}
