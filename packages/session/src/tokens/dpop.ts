/**
 * `createDpopVerifier`: RFC 9449 proofs checked in full for a server. Beside the stateless
 * checks of `verifyDpopProof` it keeps the replay cache (each `jti` of a key accepted once:
 * one atomic `kvSet(…, { ifAbsent: true })` in the store, expiring when the proof would be
 * too old anyway) and, when asked, server nonces: stateless HMAC-signed time stamps, so any
 * instance sharing the secret accepts a nonce another issued.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { TesseraError } from '../shared/errors.js';
import type { Store } from '../stores/store.js';
import {
  type DpopAlg,
  type DpopProof,
  type DpopProofCheck,
  resolveDpopTiming,
  verifyWithTiming,
} from './dpop-proof.js';

/** Store namespace of the `jti` replay cache. */
export const DPOP_REPLAY_NAMESPACE = 'dpop-jti';
const DEFAULT_NONCE_LIFETIME = 300;
const NONCE_STEP_MS = 10_000;
const MIN_NONCE_SECRET_BYTES = 32;

/** Server nonces (RFC 9449 §8): proofs must carry a recent one the server issued. */
export interface DpopNonceOptions {
  /**
   * HMAC secret nonces are signed with, at least 32 bytes; every instance that must accept
   * another's nonces needs the same one.
   * @defaultValue 32 random bytes per verifier (fine for a single instance)
   */
  secret?: string | Uint8Array;
  /**
   * Seconds a nonce stays valid (10 to 3600).
   * @defaultValue 300
   */
  lifetime?: number;
}

/** Options of `createDpopVerifier`. */
export interface DpopVerifierOptions {
  /** Where the `jti` replay cache lives: any Tessera Store (shared by every instance). */
  store: Pick<Store, 'kvSet'>;
  /**
   * Seconds after its `iat` a proof is accepted (1 to 600); also how long a `jti` is kept.
   * @defaultValue 60
   */
  maxAge?: number;
  /**
   * Leeway in seconds on a proof's `iat`, both ways (0 to 60).
   * @defaultValue 5
   */
  clockTolerance?: number;
  /**
   * Proof algorithms accepted.
   * @defaultValue ['ES256', 'EdDSA', 'RS256', 'PS256']
   */
  algs?: readonly DpopAlg[];
  /**
   * Require server nonces: `true` for a random secret, or the options.
   * @defaultValue false: proofs need no nonce
   */
  nonce?: boolean | DpopNonceOptions;
  /**
   * Clock in milliseconds since the epoch (tests).
   * @defaultValue Date.now
   */
  now?: () => number;
}

/** What the verifier checks a proof against. */
export type DpopRequest = Pick<DpopProofCheck, 'method' | 'url' | 'accessToken'>;

/** A server's DPoP verifier. */
export interface DpopVerifier {
  /**
   * Checks a proof in full and records its `jti`. Throws a TesseraError: the codes of
   * `verifyDpopProof`, `ERR_DPOP_NONCE` (nonce missing or stale: answer `use_dpop_nonce`
   * with `DPoP-Nonce: verifier.nonce()`), `ERR_DPOP_REPLAY` (this `jti` was seen), or
   * `ERR_STORE_UNAVAILABLE` when the replay cache cannot be reached.
   */
  verify(proof: unknown, request: DpopRequest): Promise<DpopProof>;
  /** A fresh nonce to send as `DPoP-Nonce`, or null when nonces are off. */
  nonce(): string | null;
  /** The accepted algorithms, for `WWW-Authenticate: DPoP algs="…"`. */
  readonly algs: readonly DpopAlg[];
}

function nonceSecret(options: DpopNonceOptions): Buffer {
  const secret =
    options.secret === undefined
      ? randomBytes(MIN_NONCE_SECRET_BYTES)
      : typeof options.secret === 'string'
        ? Buffer.from(options.secret, 'utf8')
        : Buffer.from(options.secret);
  if (secret.length < MIN_NONCE_SECRET_BYTES) {
    throw new TesseraError(
      'ERR_KEY_WEAK',
      `createDpopVerifier: nonce.secret must have at least ${MIN_NONCE_SECRET_BYTES} bytes; use randomBytes(32).`,
    );
  }
  return secret;
}

interface NonceMint {
  issue(): string;
  isValid(nonce: string): boolean;
}

function createNonceMint(
  options: DpopNonceOptions,
  now: () => number,
  toleranceMs: number,
): NonceMint {
  const secret = nonceSecret(options);
  const lifetime = options.lifetime ?? DEFAULT_NONCE_LIFETIME;
  if (
    typeof lifetime !== 'number' ||
    !Number.isFinite(lifetime) ||
    lifetime < 10 ||
    lifetime > 3600
  ) {
    throw new TesseraError(
      'ERR_CONFIG',
      'createDpopVerifier: nonce.lifetime must be seconds from 10 to 3600.',
    );
  }
  const mac = (stamp: Buffer): Buffer =>
    createHmac('sha256', secret)
      .update('tessera dpop nonce')
      .update(stamp)
      .digest()
      .subarray(0, 16);
  const stampOf = (ms: number): Buffer => {
    const stamp = Buffer.alloc(6);
    stamp.writeUIntBE(Math.floor(ms / NONCE_STEP_MS), 0, 6);
    return stamp;
  };
  return {
    issue() {
      const stamp = stampOf(now());
      return Buffer.concat([stamp, mac(stamp)]).toString('base64url');
    },
    isValid(nonce) {
      if (nonce.length !== 30) return false;
      const bytes = Buffer.from(nonce, 'base64url');
      if (bytes.length !== 22 || bytes.toString('base64url') !== nonce) return false;
      const stamp = bytes.subarray(0, 6);
      if (!timingSafeEqual(bytes.subarray(6), mac(stamp))) return false;
      const issuedMs = stamp.readUIntBE(0, 6) * NONCE_STEP_MS;
      const at = now();
      // Another instance's clock may run a little ahead: the same leeway as on `iat`.
      return issuedMs <= at + toleranceMs && at - issuedMs <= lifetime * 1000;
    },
  };
}

/**
 * A DPoP verifier over a store (the replay cache). Throws `ERR_CONFIG` for a bad option and
 * `ERR_KEY_WEAK` for a nonce secret under 32 bytes.
 * @example
 * const dpop = createDpopVerifier({ store, nonce: { secret: process.env.DPOP_NONCE_SECRET } });
 * const proof = await dpop.verify(req.headers.dpop, { method: 'POST', url: 'https://auth.example.com/token' });
 * const token = await tokens.sign({ sub, cnf: { jkt: proof.jkt } });
 */
export function createDpopVerifier(options: DpopVerifierOptions): DpopVerifier {
  if (typeof options?.store?.kvSet !== 'function') {
    throw new TesseraError(
      'ERR_CONFIG',
      'createDpopVerifier: store must be a Tessera Store (the jti replay cache), e.g. createMemoryStore().',
    );
  }
  const { store } = options;
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') {
    throw new TesseraError('ERR_CONFIG', 'createDpopVerifier: now must be a function.');
  }
  const timing = resolveDpopTiming(options);
  const mint =
    options.nonce === undefined || options.nonce === false
      ? null
      : createNonceMint(
          options.nonce === true ? {} : options.nonce,
          now,
          timing.clockTolerance * 1000,
        );
  // A jti can be replayed only while its proof is young enough to pass the iat check.
  const keepMs = (timing.maxAge + 2 * timing.clockTolerance) * 1000;

  return {
    algs: timing.algs,
    nonce: () => mint?.issue() ?? null,
    async verify(proof, request) {
      const checked = verifyWithTiming(proof, { ...request, now }, timing);
      if (mint !== null && (checked.nonce === undefined || !mint.isValid(checked.nonce))) {
        throw new TesseraError(
          'ERR_DPOP_NONCE',
          checked.nonce === undefined
            ? 'the proof needs the server nonce (DPoP-Nonce)'
            : 'the proof nonce is unknown or expired',
        );
      }
      // Keyed by key and jti together (hashed: both come from the client), so one client's
      // jti never blocks another's proof.
      const id = createHash('sha256').update(`${checked.jkt}.${checked.jti}`).digest('base64url');
      let fresh: boolean;
      try {
        fresh = await store.kvSet(DPOP_REPLAY_NAMESPACE, id, 1, now() + keepMs, {
          ifAbsent: true,
        });
      } catch (error) {
        if (error instanceof TesseraError) throw error;
        throw new TesseraError('ERR_STORE_UNAVAILABLE', 'the DPoP replay cache is unavailable', {
          cause: error,
        });
      }
      if (!fresh) throw new TesseraError('ERR_DPOP_REPLAY', 'the proof was already used');
      return checked;
    },
  };
}
