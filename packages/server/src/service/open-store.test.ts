import { describe, expect, it } from 'vitest';
import { redact } from './open-store.js';

describe('redact', () => {
  it('hides the password of the user-info, keeping the user name', () => {
    expect(redact('postgres://app:s3cret@db:5432/tessera')).toBe(
      'postgres://app:***@db:5432/tessera',
    );
    expect(redact('redis://:s3cret@cache:6379/0')).toBe('redis://:***@cache:6379/0');
    expect(redact('redis+cluster://u:p%40ss@h1:7000,h2:7001')).toBe(
      'redis+cluster://u:***@h1:7000,h2:7001',
    );
  });

  it('hides credentials passed in the query, and only those', () => {
    expect(
      redact('postgres://db/x?sslmode=require&password=hunter2&sslpassword=k&application_name=t'),
    ).toBe('postgres://db/x?sslmode=require&password=***&sslpassword=***&application_name=t');
    expect(redact('rediss://cache?token=abc&db=2')).toBe('rediss://cache?token=***&db=2');
    expect(redact('postgres://db/x?p%61ssword=hunter2')).toBe('postgres://db/x?p%61ssword=***');
  });

  it('leaves URLs without credentials alone', () => {
    expect(redact('sqlite:./data/tessera.db')).toBe('sqlite:./data/tessera.db');
    expect(redact('redis://user@cache:6379')).toBe('redis://user@cache:6379');
  });
});
