import { describe, expect, it } from 'vitest';
import {
  createExpressValueVerifier,
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
