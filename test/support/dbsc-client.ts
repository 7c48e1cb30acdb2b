/**
 * A scripted DBSC client: what a browser that supports Device Bound Session Credentials does,
 * written out with node:crypto keys, so the server side can be tested to the letter of the
 * draft (header grammar, `dbsc+jwt` proofs, challenge exchange) and attacked (another key, a
 * private key in the JWK, a replayed proof, a wrong algorithm).
 */
import {
  createHmac,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
  sign,
} from 'node:crypto';

/** A session key pair, as the browser would make for one registration. */
export interface DbscKey {
  readonly alg: 'ES256' | 'RS256';
  readonly privateKey: KeyObject;
  readonly publicJwk: JsonWebKey;
  readonly privateJwk: JsonWebKey;
}

/** Makes a fresh session key (P-256 for ES256, 2048-bit RSA for RS256). */
export function makeKey(alg: 'ES256' | 'RS256' = 'ES256'): DbscKey {
  const pair =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    alg,
    privateKey: pair.privateKey,
    publicJwk: pair.publicKey.export({ format: 'jwk' }),
    privateJwk: pair.privateKey.export({ format: 'jwk' }),
  };
}

function part(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A compact JWS over `header` and `payload`, signed with `key` (raw r||s for ES256). */
export function signJwt(
  key: DbscKey,
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
): string {
  const input = `${part(header)}.${part(payload)}`;
  const signature =
    key.alg === 'ES256'
      ? sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
      : sign('sha256', Buffer.from(input), key.privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

/** The registration proof: `typ dbsc+jwt`, the public key in `jwk`, the challenge as `jti`. */
export function registrationProof(key: DbscKey, challenge: string, extra = {}): string {
  return signJwt(
    key,
    { alg: key.alg, typ: 'dbsc+jwt', jwk: key.publicJwk },
    { jti: challenge, ...extra },
  );
}

/** The refresh proof: no `jwk` (the server has the key), the challenge as `jti`. */
export function refreshProof(key: DbscKey, challenge: string, extra = {}): string {
  return signJwt(key, { alg: key.alg, typ: 'dbsc+jwt' }, { jti: challenge, ...extra });
}

/** An HS256 token with the right shape (an algorithm the draft does not allow). */
export function hs256Proof(challenge: string): string {
  const input = `${part({ alg: 'HS256', typ: 'dbsc+jwt' })}.${part({ jti: challenge })}`;
  const mac = createHmac('sha256', 'k'.repeat(32)).update(input).digest('base64url');
  return `${input}.${mac}`;
}

/** A Structured Field string, as the browser sends `Secure-Session-Response`. */
export function sf(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** The parts of a `Secure-Session-Registration` header value. */
export function parseRegistration(value: string | undefined): {
  algorithms: string[];
  path: string;
  challenge: string;
} {
  const match = /^\(([^)]*)\);path="([^"]*)";challenge="([^"]*)"$/.exec(value ?? '');
  if (match === null) throw new Error(`not a registration header: ${value}`);
  return { algorithms: match[1]!.split(' '), path: match[2]!, challenge: match[3]! };
}

/** The parts of a `Secure-Session-Challenge` header value. */
export function parseChallenge(value: string | undefined): { challenge: string; id: string } {
  const match = /^"([^"]*)";id="([^"]*)"$/.exec(value ?? '');
  if (match === null) throw new Error(`not a challenge header: ${value}`);
  return { challenge: match[1]!, id: match[2]! };
}
