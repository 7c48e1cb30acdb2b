/**
 * The wire formats of Device Bound Session Credentials (W3C WebAppSec DBSC editor's draft):
 * the Structured Field strings its headers carry (RFC 9651) and the `dbsc+jwt` proof the
 * browser signs with its session key. Parsing only: what a proof must say is decided by
 * `http/dbsc.ts`. Every failure is a `TesseraError` (`ERR_DBSC_MALFORMED` for input that is
 * not what the draft describes, `ERR_DBSC_PROOF` for a well-formed proof that does not hold).
 */
import { createPublicKey, type KeyObject, verify as verifySignature } from 'node:crypto';
import { decodeBase64urlStrict } from '../../shared/base64url.js';
import { TesseraError } from '../../shared/errors.js';

/** The signature algorithms the draft names for session keys (besides `none`, never accepted here). */
export type DbscAlgorithm = 'ES256' | 'RS256';

/** A proof whose signature checked out against `key`. */
export interface VerifiedProof {
  readonly alg: DbscAlgorithm;
  readonly payload: Record<string, unknown>;
  /** The public JWK of the key that signed it (registration: from the header). */
  readonly jwk: PublicJwk;
}

/** A public JWK as kept in the session's metadata: members of the public key only. */
export type PublicJwk =
  | { kty: 'EC'; crv: 'P-256'; x: string; y: string }
  | { kty: 'RSA'; n: string; e: string };

/** Longest header value read (a 4096-bit RSA JWK in a proof is about 1.2 KB). */
const MAX_HEADER_LENGTH = 8192;
/** JWK members that hold private key material (RFC 7518 §6.2.2, §6.3.2, §6.4.1). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

function malformed(reason: string): TesseraError {
  return new TesseraError('ERR_DBSC_MALFORMED', reason);
}

function refused(reason: string): TesseraError {
  return new TesseraError('ERR_DBSC_PROOF', reason);
}

/**
 * The value of a header that holds one Structured Field string (parameters ignored, as the
 * draft says). A bare token is accepted too: early Chromium builds sent the value unquoted.
 */
export function readSfString(value: string | undefined, header: string): string {
  if (value === undefined || value.trim() === '') throw malformed(`${header} header is missing`);
  if (value.length > MAX_HEADER_LENGTH) throw malformed(`${header} header is too long`);
  const text = value.trim();
  if (!text.startsWith('"')) {
    const bare = /^[A-Za-z0-9_.~+/:=-]+/.exec(text)?.[0];
    const rest = bare === undefined ? text : text.slice(bare.length).trim();
    if (bare === undefined || (rest !== '' && !rest.startsWith(';'))) {
      throw malformed(`${header} header is not a structured-field string`);
    }
    return bare;
  }
  let out = '';
  for (let i = 1; i < text.length; i++) {
    const char = text[i]!;
    if (char === '\\') {
      const next = text[i + 1];
      if (next !== '"' && next !== '\\') throw malformed(`${header} header has a bad escape`);
      out += next;
      i++;
    } else if (char === '"') {
      const rest = text.slice(i + 1).trim();
      if (rest !== '' && !rest.startsWith(';')) {
        throw malformed(`${header} header holds more than one string`);
      }
      return out;
    } else if (char < ' ' || char > '~') {
      throw malformed(`${header} header has a character a structured-field string cannot hold`);
    } else {
      out += char;
    }
  }
  throw malformed(`${header} header has an unterminated string`);
}

/**
 * A Structured Field string (RFC 9651 §4.1.6) for a header value.
 * @example sfString('abc') // '"abc"'
 */
export function sfString(value: string): string {
  return `"${value.replace(/[\\"]/g, (char) => `\\${char}`)}"`;
}

function decodeJsonPart(part: string, what: string): Record<string, unknown> {
  const bytes = decodeBase64urlStrict(part);
  if (bytes === null || bytes.length === 0) throw malformed(`proof ${what} is not base64url`);
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw malformed(`proof ${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw malformed(`proof ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** The parts of a compact JWS, decoded but not yet trusted. */
interface ProofParts {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

function splitProof(compact: string): ProofParts {
  const parts = compact.split('.');
  if (parts.length !== 3) throw malformed('proof is not a compact JWS (three dot-separated parts)');
  const [head, body, sig] = parts as [string, string, string];
  const signature = decodeBase64urlStrict(sig);
  if (signature === null || signature.length === 0)
    throw malformed('proof signature is not base64url');
  return {
    header: decodeJsonPart(head, 'header'),
    payload: decodeJsonPart(body, 'payload'),
    signingInput: `${head}.${body}`,
    signature,
  };
}

function checkHeader(
  header: Record<string, unknown>,
  allowed: readonly DbscAlgorithm[],
): DbscAlgorithm {
  if (header.typ !== 'dbsc+jwt') throw refused('proof typ must be "dbsc+jwt"');
  const alg = header.alg;
  if (typeof alg !== 'string' || !(allowed as readonly string[]).includes(alg)) {
    throw refused(`proof alg must be one of ${allowed.join(', ')}`);
  }
  if (header.crit !== undefined) throw refused('proof header has crit, which is not supported');
  return alg as DbscAlgorithm;
}

/**
 * The public JWK from a registration proof's header, refused when it holds private key
 * material or does not fit `alg` (P-256 for ES256, RSA of 2048 bits or more for RS256).
 */
export function publicJwkOf(value: unknown, alg: DbscAlgorithm): PublicJwk {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw malformed('registration proof has no jwk header with the public key');
  }
  const jwk = value as Record<string, unknown>;
  for (const member of PRIVATE_MEMBERS) {
    if (jwk[member] !== undefined) throw refused('proof jwk holds private key material');
  }
  const str = (name: string): string => {
    const member = jwk[name];
    if (typeof member !== 'string' || decodeBase64urlStrict(member) === null) {
      throw malformed(`proof jwk member ${name} is missing or not base64url`);
    }
    return member;
  };
  if (alg === 'ES256') {
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256')
      throw refused('an ES256 proof needs an EC P-256 jwk');
    return { kty: 'EC', crv: 'P-256', x: str('x'), y: str('y') };
  }
  if (jwk.kty !== 'RSA') throw refused('an RS256 proof needs an RSA jwk');
  const rsa: PublicJwk = { kty: 'RSA', n: str('n'), e: str('e') };
  if (decodeBase64urlStrict(rsa.n)!.length < 256)
    throw refused('an RSA key under 2048 bits is refused');
  return rsa;
}

function importKey(jwk: PublicJwk): KeyObject {
  try {
    return createPublicKey({ key: jwk, format: 'jwk' });
  } catch {
    throw refused('proof jwk is not a valid public key');
  }
}

/**
 * Parses a `dbsc+jwt` proof and checks its signature: with the JWK in its own header
 * (registration, `key` absent) or with the session's bound key (refresh, where a header
 * `jwk` is ignored: the key on file is the only one that counts).
 */
export function verifyProof(
  compact: string,
  allowed: readonly DbscAlgorithm[],
  key?: PublicJwk,
): VerifiedProof {
  const { header, payload, signingInput, signature } = splitProof(compact);
  const alg = checkHeader(header, allowed);
  const jwk = key ?? publicJwkOf(header.jwk, alg);
  if ((alg === 'ES256') !== (jwk.kty === 'EC'))
    throw refused(`proof alg ${alg} does not fit the key`);
  const publicKey = importKey(jwk);
  const ok =
    alg === 'ES256'
      ? signature.length === 64 &&
        verifySignature(
          'sha256',
          Buffer.from(signingInput),
          { key: publicKey, dsaEncoding: 'ieee-p1363' },
          signature,
        )
      : verifySignature('sha256', Buffer.from(signingInput), publicKey, signature);
  if (!ok) throw refused('proof signature does not verify with the session key');
  return { alg, payload, jwk };
}
