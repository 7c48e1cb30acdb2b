/**
 * Access-token verification: the synchronous fast path on `node:crypto` that every
 * `tokens.verify` call runs. Stricter than the usual JWT libraries: a token is read only in
 * its one canonical encoding, the key is chosen by `kid` alone and its own `alg` is the only
 * one accepted, and every failure has its own code. The order of the checks (and so which
 * code a token with several faults gets) is documented in docs/tokens.md.
 */
import { TesseraError, type TesseraErrorCode } from '../shared/errors.js';
import { hasCleanTail, isCanonicalBase64url } from './internal/base64url.js';
import { parseJsonObject } from './internal/json.js';
import { verifyJws } from './internal/jws.js';
import type { KeyringState } from './internal/keyring-state.js';
import type { KeyEntry } from './internal/keys.js';

/** Longest token (characters) that is parsed at all: 8 KiB. */
export const MAX_TOKEN_LENGTH = 8192;

/** The claims of a verified access token. */
export interface AccessTokenClaims {
  iss: string;
  aud: string | string[];
  sub: string;
  iat: number;
  exp: number;
  jti: string;
  nbf?: number;
  /** The session the token belongs to, when the issuer set one. */
  sid?: string;
  /** Confirmation (RFC 7800): `jkt`, the thumbprint of the DPoP key the token is bound to. */
  cnf?: { jkt?: string; [member: string]: unknown };
  [claim: string]: unknown;
}

/** What the verifier checks tokens against. */
export interface VerifierConfig {
  state: KeyringState;
  issuer: string;
  audiences: readonly string[];
  /** Longest accepted lifetime `exp - iat`, seconds. */
  ttl: number;
  /** Leeway on iat/nbf/exp, seconds. */
  clockTolerance: number;
  now: () => number;
}

function fail(code: TesseraErrorCode, message: string): never {
  throw new TesseraError(code, message);
}

const HEADER_CACHE_LIMIT = 64;
// From a lastIndex just past the first dot: payload "." signature, base64url characters only.
const BODY = /[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/y;

function isNone(alg: string): boolean {
  return alg.length === 4 && alg.toLowerCase() === 'none';
}

function isAccessTokenType(typ: unknown): boolean {
  if (typeof typ !== 'string') return false;
  const lower = typ.toLowerCase();
  return lower === 'at+jwt' || lower === 'application/at+jwt';
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Checks a protected header (already known to be canonical base64url) and answers the key it
 * names. Refused: not a JSON object or a repeated member (MALFORMED), no `alg` or `none`
 * (ALG), `crit` or `b64` (MALFORMED), no/unknown/non-string `kid` (KEY_UNKNOWN), an `alg`
 * other than the key's (ALG), a `typ` other than at+jwt (TYPE). `jwk`, `jku`, `x5u`, `x5c`
 * and `x5t` are ignored: a key is never taken from the token.
 */
function checkHeader(headerB64: string, state: KeyringState): KeyEntry {
  if (!isCanonicalBase64url(headerB64)) {
    fail('ERR_TOKEN_MALFORMED', 'token header is not canonical base64url');
  }
  const header = parseJsonObject(Buffer.from(headerB64, 'base64url'));
  if (header === null) fail('ERR_TOKEN_MALFORMED', 'token header is not a JSON object');
  const alg = header.alg;
  if (typeof alg !== 'string' || alg === '') fail('ERR_TOKEN_ALG', 'token header has no alg');
  if (isNone(alg)) fail('ERR_TOKEN_ALG', 'unsecured tokens (alg "none") are refused');
  if (header.crit !== undefined) {
    fail('ERR_TOKEN_MALFORMED', 'token header has "crit": no JWS extension is accepted');
  }
  if (header.b64 !== undefined) {
    fail('ERR_TOKEN_MALFORMED', 'token header has "b64": unencoded payloads are refused');
  }
  const kid = header.kid;
  if (typeof kid !== 'string') fail('ERR_TOKEN_KEY_UNKNOWN', 'token header has no string kid');
  const key = state.keys.get(kid)?.entry;
  if (key === undefined) fail('ERR_TOKEN_KEY_UNKNOWN', 'token kid names no key in the keyring');
  if (alg !== key.alg) {
    fail('ERR_TOKEN_ALG', `token alg does not match the ${key.alg} key its kid names`);
  }
  if (!isAccessTokenType(header.typ)) {
    fail('ERR_TOKEN_TYPE', 'token typ is not "at+jwt"');
  }
  return key;
}

/**
 * A synchronous verifier for one configuration: the claims of a valid token, or a thrown
 * `TesseraError` with one of the `ERR_TOKEN_*` codes. Revocation is not checked here.
 * @example
 * const verifySync = createTokenVerifier(config);
 * const claims = verifySync(token);
 */
export function createTokenVerifier(config: VerifierConfig): (token: unknown) => AccessTokenClaims {
  const { state, issuer, audiences, ttl, now } = config;
  const toleranceMs = config.clockTolerance * 1000;
  const singleAudience = audiences.length === 1 ? audiences[0]! : null;
  // Header string → key. Every token a key signs has the same header, so after the first
  // one only the signature and the claims are work. Only accepted headers are cached, and
  // the cache is dropped whenever the keyring changes.
  const headers = new Map<string, KeyEntry>();
  let headersVersion = state.version;
  let lastHeader = '';
  let lastKey: KeyEntry | null = null;
  const signatureScratch = new Map<number, Buffer>();
  const payloadScratch = Buffer.alloc(Math.ceil((MAX_TOKEN_LENGTH * 3) / 4));

  const audienceAllowed = (aud: string): boolean =>
    singleAudience !== null ? aud === singleAudience : audiences.includes(aud);

  return (token) => {
    if (typeof token !== 'string') fail('ERR_TOKEN_MALFORMED', 'token must be a string');
    if (token.length > MAX_TOKEN_LENGTH) {
      fail('ERR_TOKEN_TOO_LARGE', `token is longer than ${MAX_TOKEN_LENGTH} characters`);
    }
    const dot1 = token.indexOf('.');
    const dot2 = dot1 === -1 ? -1 : token.indexOf('.', dot1 + 1);
    if (dot2 === -1 || token.indexOf('.', dot2 + 1) !== -1) {
      fail('ERR_TOKEN_MALFORMED', 'token must have exactly three parts');
    }
    if (headersVersion !== state.version) {
      headers.clear();
      lastHeader = '';
      lastKey = null;
      headersVersion = state.version;
    }
    let key: KeyEntry | undefined;
    // Most tokens carry the same header as the one before: compare in place, no slicing.
    if (lastKey !== null && dot1 === lastHeader.length && token.startsWith(lastHeader)) {
      key = lastKey;
    } else {
      const headerB64 = token.slice(0, dot1);
      key = headers.get(headerB64);
      if (key === undefined) {
        key = checkHeader(headerB64, state);
        if (headers.size >= HEADER_CACHE_LIMIT) headers.clear();
        headers.set(headerB64, key);
      }
      lastHeader = headerB64;
      lastKey = key;
    }

    // Payload and signature: canonical base64url, checked in place (one sticky regex over
    // both parts, then the spare bits of each last character).
    BODY.lastIndex = dot1 + 1;
    const length = token.length;
    if (
      !BODY.test(token) ||
      !hasCleanTail(dot2 - dot1 - 1, token.charCodeAt(dot2 - 1)) ||
      !hasCleanTail(length - dot2 - 1, token.charCodeAt(length - 1))
    ) {
      fail('ERR_TOKEN_MALFORMED', 'token payload or signature is not canonical base64url');
    }
    const signatureBytes = key.signatureBytes;
    if (length - dot2 - 1 !== Math.ceil((signatureBytes * 4) / 3)) {
      fail('ERR_TOKEN_SIGNATURE', `token signature is not ${signatureBytes} bytes long`);
    }
    // Decoded into reused buffers: verify is synchronous, so no two calls share them at once.
    let signature = signatureScratch.get(signatureBytes);
    if (signature === undefined) {
      signature = Buffer.alloc(signatureBytes);
      signatureScratch.set(signatureBytes, signature);
    }
    signature.write(token.slice(dot2 + 1), 'base64url');
    if (!verifyJws(key.alg, key.verifyKey, token.slice(0, dot2), signature, key.rsaBytes)) {
      fail('ERR_TOKEN_SIGNATURE', 'token signature is not valid');
    }

    const payloadBytes = payloadScratch.write(token.slice(dot1 + 1, dot2), 'base64url');
    const claims = parseJsonObject(payloadScratch, payloadBytes);
    if (claims === null) fail('ERR_TOKEN_MALFORMED', 'token payload is not a JSON object');

    if (claims.iss !== issuer) fail('ERR_TOKEN_CLAIM', 'token iss is not the configured issuer');
    const aud = claims.aud;
    if (typeof aud === 'string') {
      if (!audienceAllowed(aud)) fail('ERR_TOKEN_CLAIM', 'token aud is not an allowed audience');
    } else if (Array.isArray(aud) && aud.length > 0) {
      let allowed = false;
      for (const item of aud) {
        if (typeof item !== 'string') fail('ERR_TOKEN_CLAIM', 'token aud holds a non-string');
        if (audienceAllowed(item)) allowed = true;
      }
      if (!allowed) fail('ERR_TOKEN_CLAIM', 'token aud holds no allowed audience');
    } else {
      fail('ERR_TOKEN_CLAIM', 'token aud must be a string or a non-empty array of strings');
    }
    if (typeof claims.sub !== 'string' || claims.sub === '') {
      fail('ERR_TOKEN_CLAIM', 'token sub must be a non-empty string');
    }
    const { iat, exp, nbf } = claims;
    if (!isTime(iat)) fail('ERR_TOKEN_CLAIM', 'token iat must be an integer of seconds');
    if (!isTime(exp)) fail('ERR_TOKEN_CLAIM', 'token exp must be an integer of seconds');
    if (nbf !== undefined && !isTime(nbf)) {
      fail('ERR_TOKEN_CLAIM', 'token nbf must be an integer of seconds');
    }
    if (exp <= iat || exp - iat > ttl) {
      fail('ERR_TOKEN_CLAIM', `token lifetime (exp - iat) must be between 1 and ${ttl} seconds`);
    }
    if (typeof claims.jti !== 'string' || claims.jti === '') {
      fail('ERR_TOKEN_CLAIM', 'token jti must be a non-empty string');
    }
    if (claims.sid !== undefined && typeof claims.sid !== 'string') {
      fail('ERR_TOKEN_CLAIM', 'token sid must be a string');
    }
    const cnf = claims.cnf;
    if (
      cnf !== undefined &&
      (typeof cnf !== 'object' ||
        cnf === null ||
        Array.isArray(cnf) ||
        ((cnf as { jkt?: unknown }).jkt !== undefined &&
          typeof (cnf as { jkt?: unknown }).jkt !== 'string'))
    ) {
      fail('ERR_TOKEN_CLAIM', 'token cnf must be an object whose jkt is a string');
    }

    const nowMs = now();
    if (iat * 1000 > nowMs + toleranceMs)
      fail('ERR_TOKEN_NOT_YET_VALID', 'token iat is in the future');
    if (nbf !== undefined && nbf * 1000 > nowMs + toleranceMs) {
      fail('ERR_TOKEN_NOT_YET_VALID', 'token nbf is in the future');
    }
    if (exp * 1000 + toleranceMs <= nowMs) fail('ERR_TOKEN_EXPIRED', 'token has expired');
    return claims as AccessTokenClaims;
  };
}
