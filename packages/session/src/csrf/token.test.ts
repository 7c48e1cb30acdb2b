import { describe, expect, it } from 'vitest';
import { isTesseraError } from '../shared/errors.js';
import { createCsrfToken, verifyCsrfToken } from './token.js';

const SECRET = 'k'.repeat(32);
const OLD = 'o'.repeat(32);

describe('synchronizer tokens', () => {
  it('verifies for the same session and differs on every issue (masked)', () => {
    const a = createCsrfToken('handle-1', SECRET);
    const b = createCsrfToken('handle-1', SECRET);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[A-Za-z0-9_-]{86}$/);
    expect(verifyCsrfToken(a, 'handle-1', SECRET)).toBe(true);
    expect(verifyCsrfToken(b, 'handle-1', SECRET)).toBe(true);
  });

  it('is bound to the session and the secret', () => {
    const token = createCsrfToken('handle-1', SECRET);
    expect(verifyCsrfToken(token, 'handle-2', SECRET)).toBe(false);
    expect(verifyCsrfToken(token, 'handle-1', 'x'.repeat(32))).toBe(false);
  });

  it('verifies tokens made with an older secret of the list', () => {
    const token = createCsrfToken('h', OLD);
    expect(verifyCsrfToken(token, 'h', [SECRET, OLD])).toBe(true);
    expect(verifyCsrfToken(createCsrfToken('h', [SECRET, OLD]), 'h', SECRET)).toBe(true);
  });

  it('refuses every single-character change and garbage, without throwing', () => {
    const token = createCsrfToken('h', SECRET);
    for (let i = 0; i < token.length; i++) {
      const changed = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
      expect(verifyCsrfToken(changed, 'h', SECRET)).toBe(false);
    }
    for (const bad of [
      undefined,
      null,
      1,
      '',
      'abc',
      `${token}A`,
      token.slice(1),
      '='.repeat(86),
    ]) {
      expect(verifyCsrfToken(bad, 'h', SECRET)).toBe(false);
    }
  });

  it('refuses weak secrets and an empty session value', () => {
    const codes: string[] = [];
    for (const fn of [
      () => createCsrfToken('h', 'short'),
      () => verifyCsrfToken('t', 'h', []),
      () => createCsrfToken('', SECRET),
    ]) {
      try {
        fn();
      } catch (error) {
        if (isTesseraError(error)) codes.push(error.code);
      }
    }
    expect(codes).toEqual(['ERR_KEY_WEAK', 'ERR_CONFIG', 'ERR_INVALID_ARGUMENT']);
  });
});
