/**
 * The cookie signature @fastify/session uses (through @fastify/cookie): `value.signature`,
 * the signature an HMAC of the value in base64 without padding. Keeping the format means
 * cookies issued by @fastify/session stay valid after the switch. A custom signer object with
 * `sign`/`unsign` (as @fastify/cookie accepts) is used as given.
 */
import { createHmac, getHashes, timingSafeEqual } from 'node:crypto';
import { TesseraError } from '../../shared/errors.js';

/** What `unsign` answers, as @fastify/cookie's signer does. */
export interface UnsignResult {
  valid: boolean;
  renew: boolean;
  value: string | null;
}

/** A cookie signer: the built-in one or an app's own object. */
export interface CookieSigner {
  sign(value: string): string;
  unsign(signed: string): UnsignResult;
}

function signature(value: string, secret: string | Buffer, algorithm: string): string {
  return createHmac(algorithm, secret).update(value).digest('base64').replace(/=+$/, '');
}

/** How many verified cookie values (and signed IDs) a signer remembers before it starts over. */
export const SIGNER_CACHE_SIZE = 10_000;

/**
 * What the newest secret signed and verified, so a cookie seen again costs a map lookup, not
 * an HMAC. Keyed by the full signed value: a value with any other signature misses and is
 * checked in full. Emptied when the signing secret changes (in-place rotation) and when full.
 */
class SignatureCache {
  #secret: string | Buffer | undefined;
  /** Signed value → value, for values the current signing secret verified. */
  readonly #verified = new Map<string, string>();
  /** Value → signed value under the current signing secret. */
  readonly #signed = new Map<string, string>();

  /** Forgets everything when `secret` is not the one the entries were made with. */
  check(secret: string | Buffer): void {
    const same =
      typeof secret === 'string' || typeof this.#secret === 'string'
        ? secret === this.#secret
        : this.#secret !== undefined && secret.equals(this.#secret);
    if (same) return;
    this.#verified.clear();
    this.#signed.clear();
    this.#secret = typeof secret === 'string' ? secret : Buffer.from(secret);
  }

  verified(signed: string): string | undefined {
    return this.#verified.get(signed);
  }

  signed(value: string): string | undefined {
    return this.#signed.get(value);
  }

  remember(value: string, signed: string): void {
    if (this.#verified.size >= SIGNER_CACHE_SIZE) {
      this.#verified.clear();
      this.#signed.clear();
    }
    this.#verified.set(signed, value);
    this.#signed.set(value, signed);
  }
}

function firstSecret(secrets: Array<string | Buffer>): string | Buffer {
  const secret = secrets[0];
  if (secret === undefined) throw new TesseraError('ERR_CONFIG', 'at least one secret is required');
  return secret;
}

/**
 * A signer over one or more secrets (the first signs; every one verifies, in order).
 * The secrets array is read at each call, so an app that rotates it in place is honoured.
 * What the first secret signed or verified is cached (bounded, keyed by the full value).
 * @example createSigner(['new-secret…', 'old-secret…'], 'sha256').sign('abc') // 'abc.Xy…'
 */
export function createSigner(secrets: Array<string | Buffer>, algorithm: string): CookieSigner {
  if (!getHashes().includes(algorithm)) {
    throw new TesseraError(
      'ERR_CONFIG',
      `algorithm: '${algorithm}' is not a hash this Node.js supports (e.g. 'sha256', 'sha512')`,
    );
  }
  const cache = new SignatureCache();
  return {
    sign(value) {
      const secret = firstSecret(secrets);
      cache.check(secret);
      const known = cache.signed(value);
      if (known !== undefined) return known;
      const signed = `${value}.${signature(value, secret, algorithm)}`;
      cache.remember(value, signed);
      return signed;
    },
    unsign(signed) {
      const dot = typeof signed === 'string' ? signed.lastIndexOf('.') : -1;
      if (dot <= 0) return { valid: false, renew: false, value: null };
      const first = secrets[0];
      if (first !== undefined) {
        cache.check(first);
        const known = cache.verified(signed);
        if (known !== undefined) return { valid: true, renew: false, value: known };
      }
      const value = signed.slice(0, dot);
      const given = Buffer.from(signed.slice(dot + 1));
      for (let i = 0; i < secrets.length; i++) {
        const expected = Buffer.from(signature(value, secrets[i] as string | Buffer, algorithm));
        if (expected.length === given.length && timingSafeEqual(expected, given)) {
          if (i === 0) cache.remember(value, signed);
          return { valid: true, renew: i > 0, value };
        }
      }
      return { valid: false, renew: false, value: null };
    },
  };
}

/** True for an object with `sign` and `unsign` methods (a custom signer). */
export function isSigner(value: unknown): value is CookieSigner {
  const candidate = value as Partial<CookieSigner> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.sign === 'function' &&
    typeof candidate.unsign === 'function'
  );
}
