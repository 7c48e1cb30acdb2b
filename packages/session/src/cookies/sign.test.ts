import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { signExpressValue, unsignExpressValue } from './express-signature.js';
import { signCookieValue, unsignCookieValue } from './sign.js';

// The package express-session itself signs with, to prove byte-for-byte compatibility.
const require = createRequire(import.meta.url);
const cookieSignature = require('cookie-signature') as {
  sign(value: string, secret: string): string;
  unsign(value: string, secret: string): string | false;
};

const SECRET = 's'.repeat(32);

describe('signCookieValue / unsignCookieValue', () => {
  it('round-trips, including values that contain dots', () => {
    for (const value of ['', 'abc', 'a.b.c', 'é']) {
      expect(unsignCookieValue(signCookieValue(value, SECRET), [SECRET])).toBe(value);
    }
  });

  it('writes value, a dot and a 43-character base64url HMAC', () => {
    expect(signCookieValue('abc', SECRET)).toMatch(/^abc\.[A-Za-z0-9_-]{43}$/);
  });

  it('verifies with any secret of the list (rotation)', () => {
    const signed = signCookieValue('v', 'old'.repeat(11));
    expect(unsignCookieValue(signed, [SECRET, 'old'.repeat(11)])).toBe('v');
    expect(unsignCookieValue(signed, [SECRET])).toBeNull();
  });

  it('refuses every single-character change and malformed input', () => {
    const signed = signCookieValue('value', SECRET);
    for (let i = 0; i < signed.length; i++) {
      const changed = signed.slice(0, i) + (signed[i] === 'A' ? 'B' : 'A') + signed.slice(i + 1);
      expect(unsignCookieValue(changed, [SECRET])).toBeNull();
    }
    for (const bad of [
      undefined,
      42,
      '',
      'nodot',
      'v.',
      `v.${'A'.repeat(44)}`,
      signed.slice(0, -1),
    ]) {
      expect(unsignCookieValue(bad, [SECRET])).toBeNull();
    }
  });
});

describe('express-session signed format', () => {
  it('matches cookie-signature byte for byte, with the s: prefix', () => {
    for (const secret of ['keyboard cat', SECRET]) {
      for (const value of ['sid', 'x.y', 'aB3-_~']) {
        expect(signExpressValue(value, secret)).toBe(`s:${cookieSignature.sign(value, secret)}`);
      }
    }
  });

  it('reads what cookie-signature wrote and what it wrote itself, trying every secret', () => {
    const signed = `s:${cookieSignature.sign('sid123', 'keyboard cat')}`;
    expect(unsignExpressValue(signed, ['new secret', 'keyboard cat'])).toBe('sid123');
    expect(unsignExpressValue(signExpressValue('a.b', 'k'), ['k'])).toBe('a.b');
    expect(cookieSignature.unsign(signExpressValue('sid', 'k').slice(2), 'k')).toBe('sid');
  });

  it('answers null without the s: prefix, with a wrong signature, or for garbage', () => {
    const body = cookieSignature.sign('sid', 'k');
    expect(unsignExpressValue(body, ['k'])).toBeNull();
    expect(unsignExpressValue(`s:${body}x`, ['k'])).toBeNull();
    expect(unsignExpressValue(`s:${body}`, ['other'])).toBeNull();
    expect(unsignExpressValue(`s:${body}`, [])).toBeNull();
    for (const bad of [undefined, null, 1, '', 's:', 's:nodot', 's:.']) {
      expect(unsignExpressValue(bad, ['k'])).toBeNull();
    }
  });
});
