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

/**
 * A signer over one or more secrets (the first signs; every one verifies, in order).
 * The secrets array is read at each call, so an app that rotates it in place is honoured.
 * @example createSigner(['new-secret…', 'old-secret…'], 'sha256').sign('abc') // 'abc.Xy…'
 */
export function createSigner(secrets: Array<string | Buffer>, algorithm: string): CookieSigner {
  if (!getHashes().includes(algorithm)) {
    throw new TesseraError(
      'ERR_CONFIG',
      `algorithm: '${algorithm}' is not a hash this Node.js supports (e.g. 'sha256', 'sha512')`,
    );
  }
  return {
    sign(value) {
      const secret = secrets[0];
      if (secret === undefined)
        throw new TesseraError('ERR_CONFIG', 'at least one secret is required');
      return `${value}.${signature(value, secret, algorithm)}`;
    },
    unsign(signed) {
      const dot = typeof signed === 'string' ? signed.lastIndexOf('.') : -1;
      if (dot <= 0) return { valid: false, renew: false, value: null };
      const value = signed.slice(0, dot);
      const given = Buffer.from(signed.slice(dot + 1));
      for (let i = 0; i < secrets.length; i++) {
        const expected = Buffer.from(signature(value, secrets[i] as string | Buffer, algorithm));
        if (expected.length === given.length && timingSafeEqual(expected, given)) {
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
