/**
 * The client key a DPoP proof carries in its `jwk` header: checked to be a public key of a
 * type its `alg` fits, imported into a `node:crypto` KeyObject, and named by its RFC 7638
 * thumbprint (the `jkt` an access token is bound to). The key comes from the request, so
 * every check here is a refusal, never a configuration error.
 */
import { constants, createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import { decodeBase64url } from './base64url.js';

/** Proof algorithms Tessera verifies (asymmetric only: never `none`, never HMAC). */
export type DpopAlg = 'ES256' | 'EdDSA' | 'RS256' | 'PS256';

/** Every supported proof algorithm, in the order `WWW-Authenticate: DPoP algs` lists them. */
export const DPOP_ALGS: readonly DpopAlg[] = ['ES256', 'EdDSA', 'RS256', 'PS256'];

/** Members a public JWK may never carry (RFC 7517/7518 private and symmetric parts). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'] as const;
const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 8192;

/** A proof key ready to verify with. */
export interface DpopKey {
  /** RFC 7638 SHA-256 thumbprint, base64url. */
  jkt: string;
  /** The public JWK with its required members only. */
  jwk: Record<string, string>;
  key: KeyObject;
  /** Bytes of every signature this key makes (64, or the RSA modulus size). */
  signatureBytes: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function required(jwk: Record<string, unknown>, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = jwk[name];
    if (typeof value !== 'string' || decodeBase64url(value) === null) {
      throw new Error(`the proof jwk needs "${name}" as canonical base64url`);
    }
    out[name] = value;
  }
  return out;
}

/** The required members of a public JWK for `alg`, or a thrown Error naming the fault. */
function publicMembers(alg: DpopAlg, jwk: Record<string, unknown>): Record<string, string> {
  if (alg === 'ES256') {
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256') {
      throw new Error('an ES256 proof needs a jwk with kty "EC" and crv "P-256"');
    }
    return { crv: 'P-256', kty: 'EC', ...required(jwk, ['x', 'y']) };
  }
  if (alg === 'EdDSA') {
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') {
      throw new Error('an EdDSA proof needs a jwk with kty "OKP" and crv "Ed25519"');
    }
    return { crv: 'Ed25519', kty: 'OKP', ...required(jwk, ['x']) };
  }
  if (jwk.kty !== 'RSA') throw new Error(`an ${alg} proof needs a jwk with kty "RSA"`);
  const { e, n } = required(jwk, ['e', 'n']);
  return { e: e!, kty: 'RSA', n: n! };
}

/**
 * The RFC 7638 thumbprint of a public JWK given as its required members (any order): SHA-256
 * over the members in lexicographic order, no whitespace, base64url.
 * @example thumbprintOf({ kty: 'EC', crv: 'P-256', x, y }) // the `jkt` of that key
 */
export function thumbprintOf(members: Record<string, string>): string {
  const sorted: Record<string, string> = {};
  for (const name of Object.keys(members).sort()) sorted[name] = members[name]!;
  return createHash('sha256').update(JSON.stringify(sorted)).digest('base64url');
}

/**
 * Checks and imports the `jwk` header of a proof signed with `alg`. Throws an Error (the
 * caller turns it into `ERR_DPOP_PROOF`) for a non-object, a private or symmetric member, a
 * type or curve other than the alg's, a member that is not canonical base64url, a point not
 * on the curve, or an RSA modulus under 2048 bits.
 * @example const { jkt, key } = importDpopKey('ES256', header.jwk);
 */
export function importDpopKey(alg: DpopAlg, input: unknown): DpopKey {
  if (!isRecord(input)) throw new Error('the proof header needs "jwk", a JSON object');
  for (const name of PRIVATE_MEMBERS) {
    if (input[name] !== undefined) {
      throw new Error(
        `the proof jwk carries the private member "${name}": send the public key only`,
      );
    }
  }
  const jwk = publicMembers(alg, input);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk, format: 'jwk' });
  } catch {
    throw new Error('the proof jwk is not a valid public key');
  }
  let signatureBytes = 64;
  if (alg === 'RS256' || alg === 'PS256') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
      throw new Error(`the proof's RSA key must have ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits`);
    }
    signatureBytes = Math.ceil(bits / 8);
  }
  return { jkt: thumbprintOf(jwk), jwk, key, signatureBytes };
}

/**
 * True when `signature` is a valid `alg` signature of `signingInput` under `key`; the length
 * is checked first, so a DER-encoded ECDSA signature never reaches OpenSSL.
 * @example verifyDpopSignature('ES256', importDpopKey('ES256', jwk), 'eyJ….eyJ…', signature)
 */
export function verifyDpopSignature(
  alg: DpopAlg,
  dpopKey: DpopKey,
  signingInput: string,
  signature: Buffer,
): boolean {
  if (signature.length !== dpopKey.signatureBytes) return false;
  const data = Buffer.from(signingInput, 'latin1');
  const { key } = dpopKey;
  switch (alg) {
    case 'ES256':
      return verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    case 'EdDSA':
      return verify(null, data, key, signature);
    case 'RS256':
      return verify('sha256', data, key, signature);
    case 'PS256':
      return verify(
        'sha256',
        data,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
        signature,
      );
  }
}
