import { describe, expect, it } from 'vitest';
import { decodeBase64url, encodeBase64url, isCanonicalBase64url } from './base64url.js';

describe('isCanonicalBase64url', () => {
  it('accepts exactly the unpadded base64url encodings of byte strings', () => {
    for (let n = 1; n < 40; n++) {
      const bytes = Buffer.from(Array.from({ length: n }, (_, i) => (i * 97 + n) & 0xff));
      expect(isCanonicalBase64url(bytes.toString('base64url'))).toBe(true);
    }
  });

  it('refuses empty, padded, standard-alphabet, whitespace, 4n+1 and dirty-tail strings', () => {
    for (const bad of ['', 'YQ==', 'YQ=', 'a+b/', 'Y Q', 'YQ\n', 'YWJjZ', 'YR', 'YWI', 'YWJ']) {
      expect(isCanonicalBase64url(bad), bad).toBe(bad === 'YWI');
    }
  });

  it('decodes canonical input only, and round-trips', () => {
    expect(decodeBase64url(encodeBase64url('{"a":1}'))?.toString()).toBe('{"a":1}');
    expect(decodeBase64url('YR')).toBeNull();
  });
});
