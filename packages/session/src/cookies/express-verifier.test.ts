import { describe, expect, it } from 'vitest';
import { readCookie } from './codec.js';
import {
  createExpressValueVerifier,
  EXPRESS_HEADER_CACHE_MAX_LENGTH,
  EXPRESS_HEADER_CACHE_SIZE,
  EXPRESS_VERIFIER_CACHE_SIZE,
  signExpressValue,
  unsignExpressValue,
} from './express-signature.js';

const A = 'secret-a-0123456789-abcdefghijklmnopqrstu';
const B = 'secret-b-0123456789-abcdefghijklmnopqrstu';

describe('createExpressValueVerifier', () => {
  it('a different signature never hits the cache of a verified value', () => {
    const verifier = createExpressValueVerifier();
    const signed = signExpressValue('sid-1', A);
    expect(verifier.unsign(signed, [A])).toBe('sid-1');
    const tampered = signed.slice(0, -1) + (signed.endsWith('A') ? 'B' : 'A');
    expect(verifier.unsign(tampered, [A])).toBeNull();
    expect(verifier.unsign(`${signed}A`, [A])).toBeNull();
    const otherId = `s:sid-2${signed.slice(signed.lastIndexOf('.'))}`;
    expect(verifier.unsign(otherId, [A])).toBeNull();
    expect(verifier.unsign(signed, [A])).toBe('sid-1');
  });

  it('forgets what it verified when the secrets change', () => {
    const verifier = createExpressValueVerifier();
    const signed = signExpressValue('sid-1', A);
    expect(verifier.unsign(signed, [A])).toBe('sid-1');
    expect(verifier.unsign(signed, [B, A])).toBe('sid-1');
    expect(verifier.unsign(signed, [B])).toBeNull();
  });

  it('answers as unsignExpressValue does, also past its size bound', () => {
    const verifier = createExpressValueVerifier();
    for (let i = 0; i < EXPRESS_VERIFIER_CACHE_SIZE + 3; i++) {
      verifier.unsign(signExpressValue(`sid-${i}`, A), [A]);
    }
    for (const value of [signExpressValue('sid-0', A), signExpressValue('x', B), 'junk', 's:']) {
      expect(verifier.unsign(value, [A])).toBe(unsignExpressValue(value, [A]));
      expect(verifier.unsign(value, [A])).toBe(unsignExpressValue(value, [A]));
    }
  });

  it('checks every time while a secret is a Buffer (it can change in place)', () => {
    const verifier = createExpressValueVerifier();
    const key = Buffer.from(A);
    const signed = signExpressValue('sid-1', key);
    expect(verifier.unsign(signed, [key])).toBe('sid-1');
    key.write('Z', 0);
    expect(verifier.unsign(signed, [key])).toBeNull();
  });
});

describe('createExpressValueVerifier().fromHeader', () => {
  const cookie = (id: string, secret: string | Buffer = A): string =>
    encodeURIComponent(signExpressValue(id, secret));
  /** What the adapter read before the header cache: the cookie package, then the HMAC. */
  const uncached = (header: string, name: string, secrets: string[]): string | null => {
    const raw = readCookie(header, name);
    return raw === null ? null : unsignExpressValue(raw, secrets);
  };

  it('answers as parsing and verifying the header would, the first time and from the cache', () => {
    const verifier = createExpressValueVerifier();
    const good = cookie('sid-1');
    const headers = [
      `connect.sid=${good}`,
      ` connect.sid = ${good} ; theme=dark`,
      `theme=dark; connect.sid=${good}`,
      // The cookie package keeps the first of two cookies with one name.
      `connect.sid=${cookie('sid-2')}; connect.sid=${good}`,
      `connect.sid=${cookie('sid-3', B)}; connect.sid=${good}`,
      `connect.sid="${good}"`,
      `connect.sid=${good.slice(0, -1)}`,
      `connect.sidx=${good}`,
      `other=${good}`,
      'connect.sid=s%3Ajunk',
      'connect.sid=%E0%A4%A',
      '=; ;;',
    ];
    for (const header of headers) {
      const expected = uncached(header, 'connect.sid', [A]);
      expect(verifier.fromHeader(header, 'connect.sid', [A]), header).toBe(expected);
      expect(verifier.fromHeader(header, 'connect.sid', [A]), header).toBe(expected);
    }
    expect(verifier.fromHeader(`connect.sid=${good}`, 'connect.sid', [A])).toBe('sid-1');
    expect(verifier.fromHeader(`connect.sid=${good}`, 'other', [A])).toBeNull();
  });

  it('forgets cached headers when the secrets change', () => {
    const verifier = createExpressValueVerifier();
    const header = `connect.sid=${cookie('sid-1')}`;
    expect(verifier.fromHeader(header, 'connect.sid', [A])).toBe('sid-1');
    expect(verifier.fromHeader(header, 'connect.sid', [B])).toBeNull();
    expect(verifier.fromHeader(header, 'connect.sid', [B, A])).toBe('sid-1');
  });

  it('checks every time while a secret is a Buffer, and parses long headers every time', () => {
    const verifier = createExpressValueVerifier();
    const key = Buffer.from(A);
    const header = `connect.sid=${cookie('sid-1', key)}`;
    expect(verifier.fromHeader(header, 'connect.sid', [key])).toBe('sid-1');
    key.write('Z', 0);
    expect(verifier.fromHeader(header, 'connect.sid', [key])).toBeNull();
    const long = `pad=${'x'.repeat(EXPRESS_HEADER_CACHE_MAX_LENGTH)}; connect.sid=${cookie('sid-2')}`;
    expect(verifier.fromHeader(long, 'connect.sid', [A])).toBe('sid-2');
    expect(verifier.fromHeader(long, 'connect.sid', [A])).toBe('sid-2');
  });

  it('stays right past its size bound', () => {
    const verifier = createExpressValueVerifier();
    const headers: string[] = [];
    for (let i = 0; i < EXPRESS_HEADER_CACHE_SIZE + 5; i++) {
      headers.push(`n=${i}; connect.sid=${cookie(`sid-${i % 7}`)}`);
    }
    for (const header of headers) verifier.fromHeader(header, 'connect.sid', [A]);
    for (const header of [headers[0]!, headers.at(-1)!, `n=x; connect.sid=${cookie('x', B)}`]) {
      expect(verifier.fromHeader(header, 'connect.sid', [A])).toBe(
        uncached(header, 'connect.sid', [A]),
      );
    }
  });
});
