/**
 * One signing or verification key, checked and imported once. A JWK becomes a `KeyEntry`:
 * its `kid`, its one `alg`, KeyObjects cached for the `node:crypto` fast path, the public JWK
 * for JWKS, and the header every token it signs carries. Every check happens here, at
 * construction, so a weak or mismatched key never reaches request time.
 */
import {
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  type KeyObject,
  type JsonWebKey as NodeJwk,
} from 'node:crypto';
import { TesseraError } from '../../shared/errors.js';
import type { JWK } from '../jwk.js';
import { decodeBase64url, encodeBase64url } from './base64url.js';
import { isTokenAlg, signJws, type TokenAlg, verifyJws } from './jws.js';

/** Members of a JWK that are secret: never in JWKS, encrypted at rest when asked. */
export const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** Smallest HMAC secret (bytes) and RSA modulus (bits) Tessera accepts. */
export const MIN_HMAC_BYTES = 32;
export const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 16384;
const MAX_KID_LENGTH = 256;

/** A key ready for use. */
export interface KeyEntry {
  readonly kid: string;
  readonly alg: TokenAlg;
  /** Verifies signatures (the secret for HS256, the public key otherwise). */
  readonly verifyKey: KeyObject;
  /** Signs, or null for a verify-only (public) key. */
  readonly signKey: KeyObject | null;
  /** The JWK as given, normalised (private members included). */
  readonly jwk: JWK;
  /** Public JWK for JWKS, or null for an HMAC key. */
  readonly publicJwk: JWK | null;
  /** Bytes in an RS256 signature (modulus size); 0 for other algs. */
  readonly rsaBytes: number;
  /** Bytes in every signature this key makes (32, 64 or the RSA modulus size). */
  readonly signatureBytes: number;
  /** BASE64URL of the protected header `{ alg, kid, typ: "at+jwt" }`. */
  readonly headerB64: string;
}

function configError(message: string, cause?: unknown): TesseraError {
  return new TesseraError('ERR_CONFIG', message, cause === undefined ? undefined : { cause });
}

function member(jwk: Record<string, unknown>, name: string, kid: string): string {
  const value = jwk[name];
  if (typeof value !== 'string' || decodeBase64url(value) === null) {
    throw configError(
      `keys: JWK "${kid}" needs "${name}" as canonical base64url; export the key again with a JOSE library.`,
    );
  }
  return value;
}

const KTY: Record<TokenAlg, string> = { HS256: 'oct', RS256: 'RSA', ES256: 'EC', EdDSA: 'OKP' };
const CRV: Partial<Record<TokenAlg, string>> = { ES256: 'P-256', EdDSA: 'Ed25519' };
const PUBLIC_MEMBERS: Record<TokenAlg, readonly string[]> = {
  HS256: [],
  RS256: ['n', 'e'],
  ES256: ['x', 'y'],
  EdDSA: ['x'],
};

/**
 * Checks a JWK and imports it. Throws `ERR_CONFIG` for a malformed or mismatched key and
 * `ERR_KEY_WEAK` for an HMAC secret under 32 bytes or an RSA modulus under 2048 bits.
 * @example const entry = importKey({ kty: 'OKP', crv: 'Ed25519', x, d, kid: 'k1', alg: 'EdDSA' });
 */
export function importKey(input: unknown): KeyEntry {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw configError('keys: each key must be a JWK object; see generateKey().');
  }
  const jwk = input as Record<string, unknown>;
  const kid = jwk.kid;
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) {
    throw configError(
      'keys: every JWK needs a "kid" (a non-empty string of at most 256 characters); generateKey() sets one.',
    );
  }
  const alg = jwk.alg;
  if (!isTokenAlg(alg)) {
    throw configError(
      `keys: JWK "${kid}" needs "alg" set to one of EdDSA, ES256, RS256 or HS256 (got ${JSON.stringify(alg ?? null)}).`,
    );
  }
  if (jwk.kty !== KTY[alg]) {
    throw configError(`keys: JWK "${kid}" has alg ${alg}, which needs kty "${KTY[alg]}".`);
  }
  const crv = CRV[alg];
  if (crv !== undefined && jwk.crv !== crv) {
    throw configError(`keys: JWK "${kid}" has alg ${alg}, which needs crv "${crv}".`);
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') {
    throw configError(`keys: JWK "${kid}" has use "${String(jwk.use)}"; signing keys need "sig".`);
  }

  const headerB64 = encodeBase64url(JSON.stringify({ alg, kid, typ: 'at+jwt' }));

  if (alg === 'HS256') {
    const secret = decodeBase64url(member(jwk, 'k', kid))!;
    if (secret.length < MIN_HMAC_BYTES) {
      throw new TesseraError(
        'ERR_KEY_WEAK',
        `keys: HMAC key "${kid}" has ${secret.length} bytes; use at least ${MIN_HMAC_BYTES} random bytes (generateKey('HS256')).`,
      );
    }
    const key = createSecretKey(secret);
    const normalised: JWK = { kty: 'oct', kid, alg, k: jwk.k as string };
    return {
      kid,
      alg,
      verifyKey: key,
      signKey: key,
      jwk: normalised,
      publicJwk: null,
      rsaBytes: 0,
      signatureBytes: 32,
      headerB64,
    };
  }

  for (const name of PUBLIC_MEMBERS[alg]) member(jwk, name, kid);
  const isPrivate = jwk.d !== undefined;
  const publicOnly: Record<string, unknown> = { kty: jwk.kty };
  if (crv !== undefined) publicOnly.crv = crv;
  for (const name of PUBLIC_MEMBERS[alg]) publicOnly[name] = jwk[name];
  let signKey: KeyObject | null = null;
  let verifyKey: KeyObject;
  try {
    verifyKey = createPublicKey({ key: publicOnly as NodeJwk, format: 'jwk' });
    if (isPrivate) {
      member(jwk, 'd', kid);
      signKey = createPrivateKey({ key: jwk as NodeJwk, format: 'jwk' });
    }
  } catch (error) {
    if (error instanceof TesseraError) throw error;
    throw configError(`keys: JWK "${kid}" could not be imported; check its members.`, error);
  }
  // OpenSSL keeps the public members it is given, so a private part from one key and a
  // public part from another import silently: a signature made and checked proves the pair.
  if (signKey !== null) {
    const probe = Buffer.from(`tessera key check ${kid}`);
    if (!verifyJws(alg, verifyKey, probe, signJws(alg, signKey, probe))) {
      throw configError(
        `keys: JWK "${kid}" has a public part that does not match its private part.`,
      );
    }
  }
  const derived = verifyKey.export({ format: 'jwk' }) as Record<string, string>;

  let rsaBytes = 0;
  if (alg === 'RS256') {
    const bits = verifyKey.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) {
      throw new TesseraError(
        'ERR_KEY_WEAK',
        `keys: RSA key "${kid}" has ${bits} bits; use at least ${MIN_RSA_BITS} (generateKey('RS256')).`,
      );
    }
    if (bits > MAX_RSA_BITS) {
      throw configError(`keys: RSA key "${kid}" has ${bits} bits; use at most ${MAX_RSA_BITS}.`);
    }
    rsaBytes = Math.ceil(bits / 8);
  }

  const publicJwk: JWK = { kty: KTY[alg], kid, alg, use: 'sig' };
  for (const name of ['crv', ...PUBLIC_MEMBERS[alg]]) {
    if (derived[name] !== undefined) (publicJwk as Record<string, unknown>)[name] = derived[name];
  }
  const normalised: JWK = { ...publicJwk };
  if (isPrivate) {
    for (const name of PRIVATE_MEMBERS) {
      if (typeof jwk[name] === 'string') (normalised as Record<string, unknown>)[name] = jwk[name];
    }
  }
  const signatureBytes = alg === 'RS256' ? rsaBytes : 64;
  return {
    kid,
    alg,
    verifyKey,
    signKey,
    jwk: normalised,
    publicJwk,
    rsaBytes,
    signatureBytes,
    headerB64,
  };
}

/**
 * A copy of a public JWK (never a private member).
 * @example publicCopy(entry.publicJwk!)
 */
export function publicCopy(jwk: JWK): JWK {
  const copy: Record<string, unknown> = { ...jwk };
  for (const name of PRIVATE_MEMBERS) delete copy[name];
  return copy as JWK;
}
