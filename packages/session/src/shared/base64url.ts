/**
 * Strict base64url decoding. Node's decoder skips characters outside the alphabet and
 * ignores the unused low bits of the last character, so two different strings can decode to
 * the same bytes; a value is accepted only when it is the canonical encoding of its bytes.
 */

const ALPHABET = /^[A-Za-z0-9_-]*$/;

/** The bytes of a canonical, unpadded base64url string, or null for anything else. */
export function decodeBase64urlStrict(value: string): Buffer | null {
  if (!ALPHABET.test(value) || value.length % 4 === 1) return null;
  const bytes = Buffer.from(value, 'base64url');
  return bytes.toString('base64url') === value ? bytes : null;
}
