/**
 * `verifyDpopProof`: the stateless checks of an RFC 9449 DPoP proof, synchronous, on
 * `node:crypto`. A proof is a compact JWS the client signs for one request with a key it
 * holds: header `typ: "dpop+jwt"`, an asymmetric `alg` and the public key as `jwk`; claims
 * `jti`, `htm` (method), `htu` (URL without query and fragment), `iat`, and `ath` (hash of
 * the access token) when one is presented. What needs a store (the `jti` replay cache) and
 * server nonces live in `dpop.ts`; binding to a token (`cnf.jkt`) in the token guard.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { TesseraError, type TesseraErrorCode } from '../shared/errors.js';
import { isCanonicalBase64url } from './internal/base64url.js';
import {
  DPOP_ALGS,
  type DpopAlg,
  type DpopKey,
  importDpopKey,
  verifyDpopSignature,
} from './internal/dpop-key.js';
import { parseJsonObject } from './internal/json.js';

export type { DpopAlg } from './internal/dpop-key.js';
export { DPOP_ALGS } from './internal/dpop-key.js';

/** Longest proof (characters) that is parsed at all: 8 KiB. */
export const MAX_DPOP_PROOF_LENGTH = 8192;
/** Default age (seconds) after which a proof's `iat` is too old. */
export const DEFAULT_DPOP_MAX_AGE = 60;
/** Default leeway (seconds) on a proof's `iat`, both ways. */
export const DEFAULT_DPOP_CLOCK_TOLERANCE = 5;
const MAX_JTI_LENGTH = 256;
const MAX_HTU_LENGTH = 4096;

/** What a proof is checked against: the request it came with. */
export interface DpopProofCheck {
  /** The request's HTTP method, e.g. `GET` (compared case-sensitively, as RFC 9110 says). */
  method: string;
  /** The request's absolute URL; its query and fragment are ignored. */
  url: string;
  /**
   * The access token sent with the proof: then `ath` must be its SHA-256, base64url.
   * @defaultValue none: a proof for a token request, `ath` is not checked
   */
  accessToken?: string;
  /**
   * Seconds after its `iat` a proof is still accepted (1 to 600).
   * @defaultValue 60
   */
  maxAge?: number;
  /**
   * Leeway in seconds on `iat`, both ways (0 to 60).
   * @defaultValue 5
   */
  clockTolerance?: number;
  /**
   * The proof algorithms accepted.
   * @defaultValue ['ES256', 'EdDSA', 'RS256', 'PS256']
   */
  algs?: readonly DpopAlg[];
  /**
   * Clock in milliseconds since the epoch (tests).
   * @defaultValue Date.now
   */
  now?: () => number;
}

/** A verified proof. */
export interface DpopProof {
  /** RFC 7638 thumbprint of the client's key: what `cnf.jkt` binds a token to. */
  jkt: string;
  /** The client's public key (required members only). */
  jwk: Record<string, string>;
  alg: DpopAlg;
  jti: string;
  htm: string;
  htu: string;
  /** Seconds since the epoch (may be fractional). */
  iat: number;
  /** The server nonce the proof carries, when it carries one. */
  nonce?: string;
}

function fail(code: TesseraErrorCode, message: string): never {
  throw new TesseraError(code, message);
}

/**
 * `ath` for an access token: SHA-256 of its ASCII, base64url (RFC 9449 §4.2).
 * @example accessTokenHash('Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU') // 'fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo'
 */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url');
}

/**
 * The URL a proof's `htu` is compared on: scheme, host (lower case, default port dropped)
 * and path as the WHATWG URL parser normalises them; no query, no fragment. Null when `url`
 * is not an absolute http(s) URL.
 * @example normaliseHtu('HTTPS://Api.Example.com:443/a/../b?q#f') // 'https://api.example.com/b'
 */
export function normaliseHtu(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return null;
  if (parsed.username !== '' || parsed.password !== '') return null;
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}

/**
 * The RFC 7638 SHA-256 thumbprint of a public JWK (EC P-256, OKP Ed25519 or RSA), base64url:
 * the `jkt` of a DPoP key. Throws `ERR_INVALID_ARGUMENT` for another key type or a private key.
 * @example jwkThumbprint({ kty: 'EC', crv: 'P-256', x, y }) // '0ZcOCORZNYy-…' for RFC 9449's example key
 */
export function jwkThumbprint(jwk: unknown): string {
  const kty = (jwk as { kty?: unknown } | null)?.kty;
  const crv = (jwk as { crv?: unknown } | null)?.crv;
  const alg: DpopAlg = kty === 'RSA' ? 'RS256' : kty === 'OKP' ? 'EdDSA' : 'ES256';
  try {
    return importDpopKey(alg, jwk).jkt;
  } catch (error) {
    throw new TesseraError(
      'ERR_INVALID_ARGUMENT',
      `jwkThumbprint: ${(error as Error).message} (kty ${String(kty)}, crv ${String(crv)})`,
    );
  }
}

function seconds(name: string, value: unknown, fallback: number, min: number, max: number) {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    fail('ERR_CONFIG', `DPoP: ${name} must be a number of seconds from ${min} to ${max}.`);
  }
  return value;
}

/** Checks the option values once; the verifier factory and `verifyDpopProof` share it. */
export function resolveDpopTiming(options: {
  maxAge?: number;
  clockTolerance?: number;
  algs?: readonly DpopAlg[];
}): { maxAge: number; clockTolerance: number; algs: readonly DpopAlg[] } {
  const maxAge = seconds('maxAge', options.maxAge, DEFAULT_DPOP_MAX_AGE, 1, 600);
  const clockTolerance = seconds(
    'clockTolerance',
    options.clockTolerance,
    DEFAULT_DPOP_CLOCK_TOLERANCE,
    0,
    60,
  );
  const algs = options.algs ?? DPOP_ALGS;
  if (!Array.isArray(algs) || algs.length === 0 || !algs.every((a) => DPOP_ALGS.includes(a))) {
    fail('ERR_CONFIG', `DPoP: algs must be a non-empty list from ${DPOP_ALGS.join(', ')}.`);
  }
  return { maxAge, clockTolerance, algs };
}

interface ParsedHeader {
  alg: DpopAlg;
  key: DpopKey;
}

function parsePart(part: string, what: string): Record<string, unknown> {
  if (!isCanonicalBase64url(part)) fail('ERR_DPOP_PROOF', `the proof ${what} is not base64url`);
  const value = parseJsonObject(Buffer.from(part, 'base64url'));
  if (value === null) fail('ERR_DPOP_PROOF', `the proof ${what} is not a JSON object`);
  return value;
}

// Header string → checked header and imported key. A client sends the same header with every
// proof, so after its first one only the signature and the claims are work. Only accepted
// headers are kept (the result is a pure function of the string); the allowed algs are
// checked again on every hit, since verifiers may differ in them.
const HEADER_CACHE_LIMIT = 256;
const headerCache = new Map<string, ParsedHeader>();

function cachedHeader(part: string, algs: readonly DpopAlg[]): ParsedHeader {
  const hit = headerCache.get(part);
  if (hit !== undefined && algs.includes(hit.alg)) return hit;
  const parsed = checkHeader(part, algs);
  if (headerCache.size >= HEADER_CACHE_LIMIT) headerCache.clear();
  headerCache.set(part, parsed);
  return parsed;
}

function checkHeader(part: string, algs: readonly DpopAlg[]): ParsedHeader {
  const header = parsePart(part, 'header');
  if (typeof header.typ !== 'string' || header.typ.toLowerCase() !== 'dpop+jwt') {
    fail('ERR_DPOP_PROOF', 'the proof typ is not "dpop+jwt"');
  }
  const alg = header.alg;
  if (typeof alg !== 'string' || !(algs as readonly string[]).includes(alg)) {
    fail(
      'ERR_DPOP_PROOF',
      `the proof alg must be one of ${algs.join(', ')} (asymmetric; never "none" or HMAC)`,
    );
  }
  if (header.crit !== undefined || header.b64 !== undefined) {
    fail('ERR_DPOP_PROOF', 'the proof header has "crit" or "b64": no JWS extension is accepted');
  }
  try {
    return { alg: alg as DpopAlg, key: importDpopKey(alg as DpopAlg, header.jwk) };
  } catch (error) {
    fail('ERR_DPOP_PROOF', (error as Error).message);
  }
}

function sameString(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function checkClaims(
  claims: Record<string, unknown>,
  check: DpopProofCheck,
  timing: { maxAge: number; clockTolerance: number },
): Omit<DpopProof, 'jkt' | 'jwk' | 'alg'> {
  const { jti, htm, htu, iat, ath, nonce } = claims;
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) {
    fail('ERR_DPOP_PROOF', `the proof jti must be a string of 1 to ${MAX_JTI_LENGTH} characters`);
  }
  if (typeof htm !== 'string') fail('ERR_DPOP_PROOF', 'the proof has no htm');
  if (typeof htu !== 'string' || htu.length > MAX_HTU_LENGTH) {
    fail('ERR_DPOP_PROOF', 'the proof has no htu');
  }
  if (typeof iat !== 'number' || !Number.isFinite(iat)) {
    fail('ERR_DPOP_PROOF', 'the proof iat must be a number of seconds');
  }
  if (nonce !== undefined && (typeof nonce !== 'string' || nonce === '')) {
    fail('ERR_DPOP_PROOF', 'the proof nonce must be a non-empty string');
  }
  if (htm !== check.method) fail('ERR_DPOP_MISMATCH', 'the proof htm is not the request method');
  const expected = normaliseHtu(check.url);
  if (expected === null) fail('ERR_INVALID_ARGUMENT', 'DPoP: url must be an absolute http(s) URL');
  if (normaliseHtu(htu) !== expected) {
    fail('ERR_DPOP_MISMATCH', 'the proof htu is not the request URL');
  }
  if (check.accessToken !== undefined) {
    if (typeof ath !== 'string') fail('ERR_DPOP_MISMATCH', 'the proof has no ath for the token');
    if (!sameString(ath, accessTokenHash(check.accessToken))) {
      fail('ERR_DPOP_MISMATCH', 'the proof ath is not the hash of the access token');
    }
  }
  const nowMs = (check.now ?? Date.now)();
  const toleranceMs = timing.clockTolerance * 1000;
  if (iat * 1000 > nowMs + toleranceMs) fail('ERR_DPOP_STALE', 'the proof iat is in the future');
  if (iat * 1000 < nowMs - timing.maxAge * 1000 - toleranceMs) {
    fail('ERR_DPOP_STALE', `the proof is older than ${timing.maxAge} seconds`);
  }
  const proof: Omit<DpopProof, 'jkt' | 'jwk' | 'alg'> = { jti, htm, htu, iat };
  if (typeof nonce === 'string') proof.nonce = nonce;
  return proof;
}

/**
 * Verifies a DPoP proof against its request, without the replay check (use
 * `createDpopVerifier` for that, and for nonces). Throws a TesseraError: `ERR_DPOP_PROOF`
 * (malformed, wrong typ or alg, a private or unfit `jwk`, a bad signature),
 * `ERR_DPOP_MISMATCH` (`htm`, `htu` or `ath` not this request's), `ERR_DPOP_STALE` (`iat`
 * outside the window), `ERR_CONFIG` for a bad option.
 * @example
 * const proof = verifyDpopProof(req.headers.dpop, { method: 'GET', url: 'https://api.example.com/me', accessToken });
 * proof.jkt; // the thumbprint the token's cnf.jkt must equal
 */
export function verifyDpopProof(proof: unknown, check: DpopProofCheck): DpopProof {
  const timing = resolveDpopTiming(check);
  return verifyWithTiming(proof, check, timing);
}

/** `verifyDpopProof` with options already checked (the verifier's hot path). */
export function verifyWithTiming(
  proof: unknown,
  check: DpopProofCheck,
  timing: { maxAge: number; clockTolerance: number; algs: readonly DpopAlg[] },
): DpopProof {
  if (typeof proof !== 'string' || proof === '') fail('ERR_DPOP_PROOF', 'no DPoP proof');
  if (proof.length > MAX_DPOP_PROOF_LENGTH) {
    fail('ERR_DPOP_PROOF', `the proof is longer than ${MAX_DPOP_PROOF_LENGTH} characters`);
  }
  const parts = proof.split('.');
  if (parts.length !== 3) fail('ERR_DPOP_PROOF', 'the proof must have exactly three parts');
  const [headerB64, payloadB64, signatureB64] = parts as [string, string, string];
  const { alg, key } = cachedHeader(headerB64, timing.algs);
  if (!isCanonicalBase64url(signatureB64)) {
    fail('ERR_DPOP_PROOF', 'the proof signature is not base64url');
  }
  const signature = Buffer.from(signatureB64, 'base64url');
  if (!verifyDpopSignature(alg, key, `${headerB64}.${payloadB64}`, signature)) {
    fail('ERR_DPOP_PROOF', 'the proof signature is not valid for its jwk');
  }
  const claims = checkClaims(parsePart(payloadB64, 'payload'), check, timing);
  return { jkt: key.jkt, jwk: key.jwk, alg, ...claims };
}
