import { describe, expect, it } from 'vitest';
import { isTesseraError } from '../../shared/errors.js';
import { readSfString, sfString } from './dbsc-wire.js';

function code(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (error) {
    return isTesseraError(error) ? error.code : 'not a TesseraError';
  }
}

describe('DBSC structured-field strings', () => {
  it('reads a string, its escapes, and ignores parameters, as RFC 9651 and the draft say', () => {
    expect(readSfString('"abc"', 'H')).toBe('abc');
    expect(readSfString(' "a\\"b\\\\c" ', 'H')).toBe('a"b\\c');
    expect(readSfString('"abc";foo="bar";x=1', 'H')).toBe('abc');
    expect(readSfString(sfString('q"uo\\te'), 'H')).toBe('q"uo\\te');
  });

  it('accepts a bare token (early Chromium sent the value unquoted)', () => {
    expect(readSfString('eyJh.eyJq.c2ln', 'H')).toBe('eyJh.eyJq.c2ln');
    expect(readSfString('session_id;x=1', 'H')).toBe('session_id');
  });

  it('refuses what is not one string, with ERR_DBSC_MALFORMED', () => {
    for (const bad of [
      undefined,
      '',
      '"unterminated',
      '"bad \\n escape"',
      '"two" "strings"',
      '"a", "b"',
      '"tab\there"',
      '"é"',
      'a b',
      `"${'x'.repeat(9000)}"`,
    ]) {
      expect({ bad, code: code(() => readSfString(bad, 'H')) }).toEqual({
        bad,
        code: 'ERR_DBSC_MALFORMED',
      });
    }
  });
});
