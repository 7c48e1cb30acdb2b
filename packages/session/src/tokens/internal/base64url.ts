/**
 * Canonical base64url for JWS parts. RFC 7515 requires base64url without padding; Tessera
 * also refuses every other spelling of the same bytes (padding, whitespace, `+`/`/`,
 * non-zero trailing bits, an impossible length), so one token has exactly one encoding and a
 * signature cannot be "malleated" into a second accepted string.
 */

const ALPHABET = /^[A-Za-z0-9_-]+$/;

// The last character of a 2-char (rem 2) or 3-char (rem 3) group may only carry zero bits
// past the encoded bytes: 4 spare bits (value % 16 === 0) and 2 spare bits (value % 4 === 0).
const TAIL2 = new Uint8Array(128);
const TAIL3 = new Uint8Array(128);
for (const c of 'AQgw') TAIL2[c.charCodeAt(0)] = 1;
for (const c of 'AEIMQUYcgkosw048') TAIL3[c.charCodeAt(0)] = 1;

/**
 * True when `value` is non-empty, canonical, unpadded base64url.
 * @example isCanonicalBase64url('YQ') // true; 'YR', 'YQ==', 'Y Q' are false
 */
export function isCanonicalBase64url(value: string): boolean {
  const length = value.length;
  const rem = length & 3;
  if (length === 0 || rem === 1 || !ALPHABET.test(value)) return false;
  if (rem === 0) return true;
  const last = value.charCodeAt(length - 1);
  return (rem === 2 ? TAIL2[last] : TAIL3[last]) === 1;
}

/**
 * True when the last character of a canonical base64url string of `length` characters may
 * be `code` (zero spare bits); `length % 4` must not be 1.
 * @example hasCleanTail(2, 'Q'.charCodeAt(0)) // true
 */
export function hasCleanTail(length: number, code: number): boolean {
  const rem = length & 3;
  return rem === 0 || (rem === 2 ? TAIL2[code] : rem === 3 ? TAIL3[code] : 0) === 1;
}

/**
 * Bytes of a canonical base64url string, or null for anything else.
 * @example decodeBase64url('YQ') // <Buffer 61>
 */
export function decodeBase64url(value: string): Buffer | null {
  return isCanonicalBase64url(value) ? Buffer.from(value, 'base64url') : null;
}

/**
 * Unpadded base64url of bytes or of a string's UTF-8.
 * @example encodeBase64url('{"alg":"EdDSA"}')
 */
export function encodeBase64url(value: string | Uint8Array): string {
  return (typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value)).toString(
    'base64url',
  );
}
