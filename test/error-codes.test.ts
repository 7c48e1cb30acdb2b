import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, TesseraError } from '../packages/session/src/shared/errors.js';

describe('error codes', () => {
  it('documents every code in docs/errors.md', () => {
    const docs = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
    const undocumented = ERROR_CODES.filter((code) => !docs.includes(`\`${code}\``));
    expect(undocumented).toEqual([]);
  });

  it('documents no code that does not exist (docs/ and README.md)', () => {
    const known = new Set<string>(ERROR_CODES);
    const files = [
      'README.md',
      ...readdirSync(new URL('../docs', import.meta.url))
        .filter((name) => name.endsWith('.md'))
        .map((name) => `docs/${name}`),
    ];
    const unknown = files.flatMap((file) => {
      const text = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
      const codes = text.match(/\bERR_[A-Z_]+[A-Z]\b/g) ?? [];
      return codes.filter((code) => !known.has(code)).map((code) => `${file}: ${code}`);
    });
    expect(unknown).toEqual([]);
  });

  it('keeps code, name and cause on the error', () => {
    const cause = new Error('socket closed');
    const error = new TesseraError('ERR_STORE_UNAVAILABLE', 'store down', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('TesseraError');
    expect(error.code).toBe('ERR_STORE_UNAVAILABLE');
    expect(error.cause).toBe(cause);
  });
});
