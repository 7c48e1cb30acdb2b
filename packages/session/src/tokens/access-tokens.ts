/**
 * `createAccessTokens`: short-lived JWT access tokens (RFC 9068 `at+jwt`) signed by a
 * keyring. Options are checked once, here; `sign` and `verify` then run synchronously on
 * `node:crypto` with the keys imported at construction (the promise they return is for
 * callers and for the optional denylist).
 */

import { TesseraError } from '../shared/errors.js';
import { KEYRING_STATE } from './internal/keyring-state.js';
import type { JSONWebKeySet, JWK } from './jwk.js';
import { createKeyring, isKeyring, type Keyring } from './keyring.js';
import { type AccessTokenInput, createTokenSigner } from './sign.js';
import { type AccessTokenClaims, createTokenVerifier } from './verify.js';

/** A list of revoked token ids (`createDenylist` from `tessera-session/tokens` is one). */
export interface AccessTokenDenylist {
  /** True when the token with this `jti` was revoked. */
  isRevoked(jti: string): Promise<boolean>;
  /**
   * The user's not-before in seconds, or null: a token of that `sub` whose `iat` is at or
   * before it is refused as revoked. Optional; `createDenylist` provides it.
   */
  userNotBefore?(sub: string): Promise<number | null>;
}

/** Options of `createAccessTokens`. */
export interface AccessTokensOptions {
  /** JWKs (each with `kid` and `alg`; the first with a private part signs) or a Keyring. */
  keys: readonly JWK[] | Keyring;
  /** The `iss` of every token; verify requires it exactly. */
  issuer: string;
  /** The `aud` put in tokens and the audiences verify accepts (a string or an allowlist). */
  audience: string | readonly string[];
  /**
   * Token lifetime in seconds; verify refuses `exp - iat` above it.
   * @defaultValue 300 (5 minutes)
   */
  ttl?: number;
  /**
   * Leeway in seconds on `iat`/`nbf`/`exp` (0 to 60).
   * @defaultValue 30
   */
  clockTolerance?: number;
  /**
   * Checked last by `verify`; a revoked `jti` gives `ERR_TOKEN_REVOKED`.
   * @defaultValue none: no revocation check
   */
  denylist?: AccessTokenDenylist;
  /**
   * Clock in milliseconds since the epoch (tests).
   * @defaultValue Date.now
   */
  now?: () => number;
}

/** Issues and verifies access tokens. */
export interface AccessTokens {
  /** A signed token carrying `claims` plus `iss`, `aud`, `iat`, `exp` and `jti`. */
  sign(claims: AccessTokenInput): Promise<string>;
  /** The claims of a valid token; otherwise throws a TesseraError with an `ERR_TOKEN_*` code. */
  verify(token: string): Promise<AccessTokenClaims>;
  /**
   * `verify` without the promise, for hot paths. Throws `ERR_CONFIG` when a denylist is
   * configured (revocation needs the store: use `verify`).
   */
  verifySync(token: string): AccessTokenClaims;
  /** The public keys that verify these tokens: `{ keys: [...] }`, never a private part. */
  jwks(): JSONWebKeySet;
  /** The keyring in use (rotate and retire keys through it). */
  readonly keyring: Keyring;
}

export type { AccessTokenInput } from './sign.js';
export type { AccessTokenClaims } from './verify.js';

/** Default token lifetime (seconds) and clock tolerance (seconds), and the tolerance cap. */
export const DEFAULT_ACCESS_TTL = 300;
export const DEFAULT_CLOCK_TOLERANCE = 30;
export const MAX_CLOCK_TOLERANCE = 60;

function configError(message: string): TesseraError {
  return new TesseraError('ERR_CONFIG', message);
}

function checkAudiences(audience: unknown): string[] {
  const list = typeof audience === 'string' ? [audience] : audience;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    !list.every((item) => typeof item === 'string' && item !== '')
  ) {
    throw configError(
      'createAccessTokens: audience must be a non-empty string or a non-empty array of them, e.g. "https://api.example.com".',
    );
  }
  return [...list];
}

/**
 * Access tokens over a keyring. Throws `ERR_CONFIG` for a bad option and `ERR_KEY_WEAK`
 * for a short HMAC secret or RSA key.
 * @example
 * const tokens = createAccessTokens({
 *   keys: [await generateKey('EdDSA')],
 *   issuer: 'https://auth.example.com',
 *   audience: 'https://api.example.com',
 * });
 * const token = await tokens.sign({ sub: 'user-1', sid: session.handle });
 * const claims = await tokens.verify(token); // { sub: 'user-1', … }
 */
export function createAccessTokens(options: AccessTokensOptions): AccessTokens {
  if (typeof options !== 'object' || options === null) {
    throw configError('createAccessTokens: pass an options object.');
  }
  const {
    issuer,
    audience,
    ttl = DEFAULT_ACCESS_TTL,
    clockTolerance = DEFAULT_CLOCK_TOLERANCE,
    denylist,
    now = Date.now,
  } = options;
  if (typeof issuer !== 'string' || issuer === '') {
    throw configError(
      'createAccessTokens: issuer must be a non-empty string, e.g. "https://auth.example.com".',
    );
  }
  const audiences = checkAudiences(audience);
  if (!Number.isSafeInteger(ttl) || ttl < 1) {
    throw configError('createAccessTokens: ttl must be a whole number of seconds, at least 1.');
  }
  if (
    typeof clockTolerance !== 'number' ||
    !Number.isInteger(clockTolerance) ||
    clockTolerance < 0 ||
    clockTolerance > MAX_CLOCK_TOLERANCE
  ) {
    throw configError(
      `createAccessTokens: clockTolerance must be whole seconds from 0 to ${MAX_CLOCK_TOLERANCE}.`,
    );
  }
  if (typeof now !== 'function') throw configError('createAccessTokens: now must be a function.');
  if (
    denylist !== undefined &&
    (typeof denylist !== 'object' || denylist === null || typeof denylist.isRevoked !== 'function')
  ) {
    throw configError(
      'createAccessTokens: denylist must have isRevoked(jti); use createDenylist({ store }).',
    );
  }
  let keyring: Keyring;
  if (isKeyring(options.keys)) {
    keyring = options.keys;
  } else if (Array.isArray(options.keys)) {
    if (options.keys.length === 0) {
      throw configError(
        'createAccessTokens: keys is empty; pass at least one JWK (generateKey()).',
      );
    }
    keyring = createKeyring({ keys: options.keys, now });
  } else {
    throw configError('createAccessTokens: keys must be an array of JWKs or a Keyring.');
  }
  const state = KEYRING_STATE.get(keyring)!;

  const signSync = createTokenSigner({
    state,
    issuer,
    audience: typeof audience === 'string' ? audience : audiences,
    ttl,
    now,
  });
  const verifyClaims = createTokenVerifier({ state, issuer, audiences, ttl, clockTolerance, now });

  return {
    keyring,
    // Plain promises rather than async functions: the work is synchronous, and an async
    // function's own machinery costs a measurable share of an HS256 verify.
    sign(claims) {
      try {
        return Promise.resolve(signSync(claims));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    verify(token) {
      let claims: AccessTokenClaims;
      try {
        claims = verifyClaims(token);
      } catch (error) {
        return Promise.reject(error);
      }
      if (denylist === undefined) return Promise.resolve(claims);
      return Promise.all([
        denylist.isRevoked(claims.jti),
        denylist.userNotBefore ? denylist.userNotBefore(claims.sub) : null,
      ]).then(([revoked, notBefore]) => {
        if (revoked) throw new TesseraError('ERR_TOKEN_REVOKED', 'token was revoked');
        if (notBefore !== null && claims.iat <= notBefore) {
          throw new TesseraError('ERR_TOKEN_REVOKED', "the user's tokens were revoked");
        }
        return claims;
      });
    },
    verifySync(token) {
      if (denylist !== undefined) {
        throw configError(
          'tokens.verifySync cannot check the denylist; use await tokens.verify(token).',
        );
      }
      return verifyClaims(token);
    },
    jwks() {
      return keyring.jwks();
    },
  };
}
