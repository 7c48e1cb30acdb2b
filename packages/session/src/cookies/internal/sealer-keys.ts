/**
 * Key material for sealed cookies: each key has a `kid` (carried in the sealed value so
 * rotation works) and a 32-byte AES-256 secret given as bytes or base64url text.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import { decodeBase64urlStrict } from '../../shared/base64url.js';
import { TesseraError } from '../../shared/errors.js';

/** One sealing key. */
export interface SealerKey {
  /** Key identifier: 1–64 characters of letters, digits, '.', '_', '~' and '-'. */
  kid: string;
  /** 32 random bytes, as a Uint8Array/Buffer or a base64url string (43 characters). */
  secret: Uint8Array | string;
}

export interface ResolvedSealerKey {
  kid: string;
  kidBytes: Buffer;
  key: KeyObject;
}

const KID = /^[A-Za-z0-9._~-]{1,64}$/;
const KEY_BYTES = 32;

/** Validates the key list: non-empty, unique kids, 32-byte secrets. */
export function resolveSealerKeys(keys: unknown): ResolvedSealerKey[] {
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new TesseraError(
      'ERR_CONFIG',
      'createCookieSealer: keys must be a non-empty array of { kid, secret } (the first seals, all open).',
    );
  }
  const seen = new Set<string>();
  return keys.map((entry: unknown, index) => {
    const { kid, secret } = (entry ?? {}) as Partial<SealerKey>;
    if (typeof kid !== 'string' || !KID.test(kid)) {
      throw new TesseraError(
        'ERR_CONFIG',
        `createCookieSealer: keys[${index}].kid must be 1-64 characters of letters, digits, '.', '_', '~' or '-'.`,
      );
    }
    if (seen.has(kid)) {
      throw new TesseraError(
        'ERR_CONFIG',
        `createCookieSealer: kid '${kid}' appears twice; give each key its own kid.`,
      );
    }
    seen.add(kid);
    let bytes: Buffer | null = null;
    if (typeof secret === 'string') bytes = decodeBase64urlStrict(secret);
    else if (secret instanceof Uint8Array) bytes = Buffer.from(secret);
    if (bytes === null) {
      throw new TesseraError(
        'ERR_CONFIG',
        `createCookieSealer: keys[${index}].secret must be 32 bytes (Uint8Array/Buffer) or their base64url text; ` +
          "generate one with `node -e \"console.log(require('crypto').randomBytes(32).toString('base64url'))\"`.",
      );
    }
    if (bytes.length < KEY_BYTES) {
      throw new TesseraError(
        'ERR_KEY_WEAK',
        `createCookieSealer: keys[${index}].secret has ${bytes.length} bytes; AES-256-GCM needs exactly 32 random bytes.`,
      );
    }
    if (bytes.length !== KEY_BYTES) {
      throw new TesseraError(
        'ERR_CONFIG',
        `createCookieSealer: keys[${index}].secret has ${bytes.length} bytes; give exactly 32 random bytes.`,
      );
    }
    return { kid, kidBytes: Buffer.from(kid, 'ascii'), key: createSecretKey(bytes) };
  });
}
