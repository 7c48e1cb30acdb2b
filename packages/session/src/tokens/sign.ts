/**
 * Access-token issuing: a compact JWS signed by the keyring's active key, header
 * `{ alg, kid, typ: "at+jwt" }`, with `iss`, `aud`, `iat`, `exp` and a random `jti` added
 * to the caller's claims. The caller cannot set those five: they are the issuer's to decide.
 */
import { randomFillSync } from 'node:crypto';
import { TesseraError } from '../shared/errors.js';
import { encodeBase64url } from './internal/base64url.js';
import { signJws } from './internal/jws.js';
import type { KeyringState } from './internal/keyring-state.js';
import { MAX_TOKEN_LENGTH } from './verify.js';

/** Claims a caller passes to `tokens.sign`. */
export interface AccessTokenInput {
  /** The subject (user id): a non-empty string. */
  sub: string;
  /** The session the token belongs to (its public handle). */
  sid?: string;
  [claim: string]: unknown;
}

/** What the signer issues tokens with. */
export interface SignerConfig {
  state: KeyringState;
  issuer: string;
  /** The `aud` claim: the configured audience (a string, or the array as given). */
  audience: string | readonly string[];
  ttl: number;
  now: () => number;
}

const RESERVED = ['iss', 'aud', 'iat', 'exp', 'jti'] as const;
const JTI_BYTES = 16;
// Random bytes for jti values, drawn from the OS CSPRNG 4 KiB at a time: one system call
// per 256 tokens instead of one per token. Each byte is used once.
const jtiPool = Buffer.alloc(4096);
let jtiOffset = jtiPool.length;

function nextJti(): string {
  if (jtiOffset + JTI_BYTES > jtiPool.length) {
    randomFillSync(jtiPool);
    jtiOffset = 0;
  }
  const jti = jtiPool.toString('base64url', jtiOffset, jtiOffset + JTI_BYTES);
  jtiOffset += JTI_BYTES;
  return jti;
}

/**
 * A synchronous signer for one configuration.
 * @example
 * const signSync = createTokenSigner(config);
 * const token = signSync({ sub: 'user-1', sid: handle });
 */
export function createTokenSigner(config: SignerConfig): (input: AccessTokenInput) => string {
  const { state, issuer, audience, ttl, now } = config;
  return (input) => {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new TesseraError('ERR_INVALID_ARGUMENT', 'tokens.sign: pass an object of claims.');
    }
    for (const name of RESERVED) {
      if (Object.hasOwn(input, name)) {
        throw new TesseraError(
          'ERR_CONFIG',
          `tokens.sign: "${name}" is set by Tessera (from issuer, audience, ttl and the clock); remove it from the claims.`,
        );
      }
    }
    if (typeof input.sub !== 'string' || input.sub === '') {
      throw new TesseraError(
        'ERR_INVALID_ARGUMENT',
        'tokens.sign: sub must be a non-empty string.',
      );
    }
    if (input.sid !== undefined && typeof input.sid !== 'string') {
      throw new TesseraError('ERR_INVALID_ARGUMENT', 'tokens.sign: sid must be a string.');
    }
    if (input.nbf !== undefined && !Number.isSafeInteger(input.nbf)) {
      throw new TesseraError('ERR_INVALID_ARGUMENT', 'tokens.sign: nbf must be integer seconds.');
    }
    const active = state.active;
    if (active === null || active.entry.signKey === null) {
      throw new TesseraError(
        'ERR_CONFIG',
        'tokens.sign: the keyring has no signing key; add a JWK with its private part.',
      );
    }
    const key = active.entry;
    const iat = Math.floor(now() / 1000);
    const claims = {
      ...input,
      iss: issuer,
      aud: audience,
      iat,
      exp: iat + ttl,
      jti: nextJti(),
    };
    let json: string;
    try {
      json = JSON.stringify(claims);
    } catch (error) {
      throw new TesseraError('ERR_INVALID_ARGUMENT', 'tokens.sign: claims must be JSON values.', {
        cause: error,
      });
    }
    const signingInput = `${key.headerB64}.${encodeBase64url(json)}`;
    const token = `${signingInput}.${signJws(key.alg, key.signKey!, signingInput).toString('base64url')}`;
    if (token.length > MAX_TOKEN_LENGTH) {
      throw new TesseraError(
        'ERR_INVALID_ARGUMENT',
        `tokens.sign: the token would exceed ${MAX_TOKEN_LENGTH} characters, which verify refuses; send fewer claims.`,
      );
    }
    return token;
  };
}
