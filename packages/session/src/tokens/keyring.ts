/**
 * The keyring: every key that signs or verifies access tokens, each with its own `kid` and
 * exactly one `alg`. One key signs (the active one); the others only verify, so rotation is
 * `rotate(newKey)` now and `retire(oldKid)` once the old key's tokens have expired. `jwks()`
 * publishes the public half of every asymmetric key still in the ring.
 */
import { createHash, generateKeyPair, type KeyObject, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { TesseraError } from '../shared/errors.js';
import { encodeBase64url } from './internal/base64url.js';
import { isTokenAlg, type TokenAlg } from './internal/jws.js';
import {
  KEYRING_STATE,
  type KeyringState,
  pickActive,
  type RingKey,
} from './internal/keyring-state.js';
import { importKey, publicCopy } from './internal/keys.js';
import type { JSONWebKeySet, JWK } from './jwk.js';

export type { TokenAlg } from './internal/jws.js';

/** What a keyring tells about one of its keys (never key material). */
export interface KeyInfo {
  kid: string;
  alg: TokenAlg;
  /** True for the key that signs new tokens. */
  active: boolean;
  /** True when the ring holds the private part (or the HMAC secret). */
  canSign: boolean;
  /** When the key last became the active signer (ms since the epoch), or null. */
  activatedAt: number | null;
}

/** A set of signing and verification keys with one active signer. */
export interface Keyring {
  /** `kid` of the key that signs new tokens, or null for a verify-only ring. */
  readonly activeKid: string | null;
  /** Increases on every change (rotate, add, retire, reload). */
  readonly version: number;
  /**
   * Adds `jwk` (which must hold a private part) and makes it the active signer. The keys
   * already in the ring keep verifying until retired.
   */
  rotate(jwk: JWK): void;
  /** Adds a key that verifies (and may later be activated by `rotate`), without signing. */
  add(jwk: JWK): void;
  /** Removes a key: its tokens stop verifying. Refuses the active key. False when unknown. */
  retire(kid: string): boolean;
  /** True when a key with this `kid` is in the ring. */
  has(kid: string): boolean;
  /** Every key, active one first. */
  list(): KeyInfo[];
  /** Public JWKs of every asymmetric key in the ring; never an HMAC key or private member. */
  jwks(): JSONWebKeySet;
}

/** Options of `createKeyring`. */
export interface KeyringOptions {
  /** JWKs, each with `kid` and `alg`. The first with a private part is the active signer. */
  keys: readonly JWK[];
  /** Clock in milliseconds since the epoch (tests). Default `Date.now`. */
  now?: () => number;
}

function configError(message: string): TesseraError {
  return new TesseraError('ERR_CONFIG', message);
}

function info(state: KeyringState, key: RingKey): KeyInfo {
  return {
    kid: key.entry.kid,
    alg: key.entry.alg,
    active: state.active === key,
    canSign: key.entry.signKey !== null,
    activatedAt: key.activatedAt,
  };
}

function sameKey(a: JWK, b: JWK): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Builds a keyring object over `state` (also used by `loadKeyring`).
 * @internal
 */
export function keyringFromState(state: KeyringState): Keyring {
  const changed = (): void => {
    state.active = pickActive(state.keys);
    state.version++;
  };
  const insert = (jwk: JWK, activate: boolean): void => {
    const entry = importKey(jwk);
    const existing = state.keys.get(entry.kid);
    if (existing !== undefined && !sameKey(existing.entry.jwk, entry.jwk)) {
      throw configError(`keys: a different key already has kid "${entry.kid}"; pick a new kid.`);
    }
    if (activate && entry.signKey === null) {
      throw configError(
        `keyring.rotate: key "${entry.kid}" has no private part; the active key must sign.`,
      );
    }
    const key: RingKey = existing ?? { entry, activatedAt: null };
    if (activate) {
      const floor = state.active?.activatedAt ?? 0;
      key.activatedAt = Math.max(state.now(), floor + 1);
    }
    state.keys.set(entry.kid, key);
    state.retired.delete(entry.kid);
    changed();
  };

  const ring: Keyring = {
    get activeKid() {
      return state.active?.entry.kid ?? null;
    },
    get version() {
      return state.version;
    },
    rotate(jwk) {
      insert(jwk, true);
    },
    add(jwk) {
      insert(jwk, false);
    },
    retire(kid) {
      const key = state.keys.get(kid);
      if (key === undefined) return false;
      if (key === state.active) {
        throw configError(
          `keyring.retire: "${kid}" is the active signer; rotate to a new key first, then retire it once its tokens have expired.`,
        );
      }
      state.keys.delete(kid);
      state.retired.add(kid);
      changed();
      return true;
    },
    has(kid) {
      return state.keys.has(kid);
    },
    list() {
      const all = [...state.keys.values()].map((key) => info(state, key));
      return all.sort((a, b) => Number(b.active) - Number(a.active));
    },
    jwks() {
      const keys: JWK[] = [];
      for (const key of state.keys.values()) {
        if (key.entry.publicJwk !== null) keys.push(publicCopy(key.entry.publicJwk));
      }
      return { keys };
    },
  };
  KEYRING_STATE.set(ring, state);
  return ring;
}

/**
 * A keyring over the given JWKs. Throws `ERR_CONFIG` for a key without `kid`/`alg`, a
 * duplicate `kid` or a malformed key, and `ERR_KEY_WEAK` for a short HMAC secret or RSA key.
 * @example
 * const keyring = createKeyring({ keys: [await generateKey('EdDSA')] });
 * keyring.rotate(await generateKey('EdDSA')); // new tokens use the new key
 */
export function createKeyring(options: KeyringOptions): Keyring {
  if (typeof options !== 'object' || options === null || !Array.isArray(options.keys)) {
    throw configError('createKeyring: pass { keys: JWK[] }.');
  }
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw configError('createKeyring: now must be a function.');
  const state: KeyringState = {
    keys: new Map(),
    active: null,
    retired: new Set(),
    version: 0,
    now,
  };
  let first = true;
  for (const jwk of options.keys) {
    const entry = importKey(jwk);
    if (state.keys.has(entry.kid)) {
      throw configError(`keys: kid "${entry.kid}" appears twice; every key needs its own kid.`);
    }
    const activatedAt = first && entry.signKey !== null ? now() : null;
    if (activatedAt !== null) first = false;
    state.keys.set(entry.kid, { entry, activatedAt });
  }
  state.active = pickActive(state.keys);
  return keyringFromState(state);
}

/**
 * True when `value` is a keyring made by `createKeyring` or `loadKeyring`.
 * @example if (isKeyring(options.keys)) …
 */
export function isKeyring(value: unknown): value is Keyring {
  return typeof value === 'object' && value !== null && KEYRING_STATE.has(value);
}

/** Options of `generateKey`. */
export interface GenerateKeyOptions {
  /** Default: the RFC 7638 JWK thumbprint (asymmetric keys) or 128 random bits (HS256). */
  kid?: string;
}

const generatePair = promisify(generateKeyPair);

/** A fresh private key for an asymmetric alg, from node:crypto. */
async function newPrivateKey(alg: Exclude<TokenAlg, 'HS256'>): Promise<KeyObject> {
  if (alg === 'EdDSA') return (await generatePair('ed25519')).privateKey;
  if (alg === 'ES256') return (await generatePair('ec', { namedCurve: 'P-256' })).privateKey;
  return (await generatePair('rsa', { modulusLength: 2048, publicExponent: 0x10001 })).privateKey;
}

/** The RFC 7638 SHA-256 thumbprint: the required public members, in lexicographic order. */
function thumbprint(jwk: JWK): string {
  const members =
    jwk.kty === 'RSA'
      ? { e: jwk.e, kty: jwk.kty, n: jwk.n }
      : jwk.kty === 'EC'
        ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
        : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

/**
 * A new private JWK with `kid` and `alg`, ready for `createKeyring` or `keyring.rotate`.
 * EdDSA (Ed25519) by default; RS256 keys have 2048 bits, HS256 secrets 32 random bytes.
 * @example const jwk = await generateKey('ES256', { kid: '2026-11' });
 */
export async function generateKey(
  alg: TokenAlg = 'EdDSA',
  options: GenerateKeyOptions = {},
): Promise<JWK> {
  if (!isTokenAlg(alg)) {
    throw configError(
      `generateKey: alg must be EdDSA, ES256, RS256 or HS256 (got ${String(alg)}).`,
    );
  }
  if (options.kid !== undefined && (typeof options.kid !== 'string' || options.kid === '')) {
    throw configError('generateKey: kid must be a non-empty string.');
  }
  let jwk: JWK;
  if (alg === 'HS256') {
    // A thumbprint of a secret key would publish a hash of the secret: use a random kid.
    jwk = { kty: 'oct', k: encodeBase64url(randomBytes(32)) };
    jwk.kid = options.kid ?? randomBytes(16).toString('base64url');
  } else {
    jwk = (await newPrivateKey(alg)).export({ format: 'jwk' }) as JWK;
    jwk.kid = options.kid ?? thumbprint(jwk);
  }
  jwk.alg = alg;
  return jwk;
}
