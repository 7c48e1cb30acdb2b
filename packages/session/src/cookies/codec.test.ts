import { parse, parseSetCookie } from 'cookie';
import { describe, expect, it } from 'vitest';
import { isTesseraError } from '../shared/errors.js';
import { createCookieCodec, createPeerCookieCodec, readCookie } from './codec.js';
import { createCookieSealer } from './seal.js';

const SECRET = 'a'.repeat(32);
const OLD_SECRET = 'b'.repeat(40);
const HTTPS = { isSecure: true };
const HTTP = { isSecure: false };

function expectError(fn: () => unknown, code: string, mention?: RegExp): void {
  try {
    fn();
  } catch (error) {
    expect(isTesseraError(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
    if (mention) expect((error as Error).message).toMatch(mention);
    return;
  }
  throw new Error(`expected ${code}`);
}

describe('createCookieCodec defaults', () => {
  it('on HTTPS writes a __Host- session cookie with HttpOnly, Secure, SameSite=Lax, Path=/ and no lifetime', () => {
    const codec = createCookieCodec();
    const line = codec.serialize('abc', HTTPS);
    expect(line).toBe('__Host-tessera.sid=abc; Path=/; HttpOnly; Secure; SameSite=Lax');
    expect(line).not.toMatch(/Max-Age|Expires/);
  });

  it('on plain HTTP with secure auto drops Secure and the prefix', () => {
    const codec = createCookieCodec();
    expect(codec.serialize('abc', HTTP)).toBe('tessera.sid=abc; Path=/; HttpOnly; SameSite=Lax');
    expect(codec.nameFor(HTTP)).toBe('tessera.sid');
    expect(codec.nameFor(HTTPS)).toBe('__Host-tessera.sid');
  });

  it('secure: true sets Secure and __Host- even on a plain-HTTP request', () => {
    const codec = createCookieCodec({ secure: true });
    expect(codec.serialize('v', HTTP)).toBe(
      '__Host-tessera.sid=v; Path=/; HttpOnly; Secure; SameSite=Lax',
    );
  });

  it('uses __Secure- when a domain or a sub-path rules out __Host-', () => {
    expect(createCookieCodec({ domain: 'example.com' }).nameFor(HTTPS)).toBe(
      '__Secure-tessera.sid',
    );
    expect(createCookieCodec({ path: '/app' }).nameFor(HTTPS)).toBe('__Secure-tessera.sid');
  });

  it('prefix false never adds a prefix; an explicit prefix is always applied with Secure', () => {
    expect(createCookieCodec({ prefix: false }).nameFor(HTTPS)).toBe('tessera.sid');
    const codec = createCookieCodec({ prefix: '__Secure-' });
    expect(codec.serialize('v', HTTP)).toMatch(/^__Secure-tessera\.sid=v; .*Secure/);
  });

  it('maps sameSite: true → Strict, any case; refuses false (no attribute) with ERR_CONFIG', () => {
    expect(createCookieCodec({ sameSite: true }).serialize('v', HTTPS)).toMatch(/SameSite=Strict$/);
    expect(() => createCookieCodec({ sameSite: false })).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG', message: expect.stringMatching(/sameSite/) }),
    );
    expect(() =>
      createCookieSealer({
        keys: [{ kid: 'k', secret: 'x'.repeat(43) }],
        cookie: { sameSite: false },
      }),
    ).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
    // A drop-in adapter's peer takes false to mean "no attribute"; only that codec allows it.
    expect(createPeerCookieCodec({ sameSite: false }).serialize('v', HTTPS)).not.toMatch(
      /SameSite/,
    );
    expect(createCookieCodec({ sameSite: 'Strict' }).serialize('v', HTTPS)).toMatch(
      /SameSite=Strict$/,
    );
    expect(createCookieCodec({ sameSite: 'None', secure: true }).serialize('v', HTTPS)).toMatch(
      /SameSite=None$/,
    );
  });

  it('adds Partitioned, Domain and httpOnly false when asked', () => {
    const line = createCookieCodec({
      partitioned: true,
      secure: true,
      domain: 'example.com',
      httpOnly: false,
    }).serialize('v', HTTPS);
    const parsed = parseSetCookie(line);
    expect(parsed).toMatchObject({
      name: '__Secure-tessera.sid',
      domain: 'example.com',
      partitioned: true,
    });
    expect(parsed.httpOnly).toBeUndefined();
  });
});

describe('persistent cookies', () => {
  const now = (): number => Date.UTC(2026, 0, 1);

  it('adds Max-Age and Expires only when a persistent cookie is asked for', () => {
    const codec = createCookieCodec({ maxAge: 3600, now });
    expect(codec.serialize('v', HTTPS)).not.toMatch(/Max-Age|Expires/);
    const line = codec.serialize('v', { ...HTTPS, persistent: true });
    expect(line).toContain('Max-Age=3600');
    expect(line).toContain('Expires=Thu, 01 Jan 2026 01:00:00 GMT');
    expect(codec.serialize('v', { ...HTTPS, persistentMaxAgeSeconds: 60 })).toContain(
      'Max-Age=60;',
    );
  });

  it('refuses a persistent cookie without a lifetime, and a bad lifetime', () => {
    const codec = createCookieCodec();
    expectError(
      () => codec.serialize('v', { ...HTTPS, persistent: true }),
      'ERR_INVALID_ARGUMENT',
      /maxAge/,
    );
    expectError(
      () => codec.serialize('v', { ...HTTPS, persistentMaxAgeSeconds: 1.5 }),
      'ERR_INVALID_ARGUMENT',
      /persistentMaxAgeSeconds/,
    );
    expectError(() => createCookieCodec({ maxAge: -1 }), 'ERR_CONFIG', /maxAge/);
  });
});

describe('configuration checks', () => {
  it.each([
    [{ sameSite: 'none' as const }, /sameSite/],
    [{ sameSite: 'none' as const, secure: 'auto' as const }, /secure: true/],
    [{ prefix: '__Host-' as const, domain: 'example.com' }, /Domain/],
    [{ prefix: '__Host-' as const, path: '/app' }, /path/],
    [{ prefix: '__Host-' as const, secure: false }, /secure: false/],
    [{ prefix: '__Secure-' as const, secure: false }, /secure: false/],
    [{ partitioned: true }, /partitioned/],
    [{ name: 'bad name' }, /name/],
    [{ name: 'a;b' }, /name/],
    [{ name: '' }, /name/],
    [{ name: '__Host-sid' }, /prefix/],
    [{ sameSite: 'sometimes' as 'lax' }, /sameSite/],
    [{ secure: 'yes' as unknown as boolean }, /secure/],
    [{ path: 'relative' }, /path/],
    [{ domain: 'exa mple.com' }, /domain/],
    [{ secrets: [] }, /secrets/],
  ])('refuses %o with ERR_CONFIG naming the option', (options, mention) => {
    expectError(() => createCookieCodec(options), 'ERR_CONFIG', mention);
  });

  it('refuses secrets shorter than 32 characters with ERR_KEY_WEAK', () => {
    expectError(() => createCookieCodec({ secrets: 'short' }), 'ERR_KEY_WEAK', /32/);
    expectError(() => createCookieCodec({ secrets: [SECRET, 'x'.repeat(31)] }), 'ERR_KEY_WEAK');
  });
});

describe('read', () => {
  const codec = createCookieCodec();

  it('reads the prefixed name on HTTPS and the bare name on HTTP', () => {
    const header = '__Host-tessera.sid=secure; tessera.sid=plain';
    expect(codec.read(header, HTTPS)).toBe('secure');
    expect(codec.read(header, HTTP)).toBe('plain');
  });

  it('ignores an unprefixed cookie on HTTPS (it may have been injected by a sibling host)', () => {
    expect(codec.read('tessera.sid=injected', HTTPS)).toBeNull();
  });

  it('takes the first of duplicate names', () => {
    expect(codec.read('tessera.sid=first; tessera.sid=second', HTTP)).toBe('first');
  });

  it('answers null, never throws, for absent or garbage headers', () => {
    const garbage = [
      undefined,
      '',
      ';;;;',
      '=',
      'tessera.sid',
      'tessera.sid=%E0%A4%A',
      'tessera.sid=\u00e9\u{1F600}',
      '\u0000\uffff',
      `a=${'x'.repeat(1_000_000)}`,
      `${'tessera.sid=1; '.repeat(10_000)}`,
    ];
    for (const header of garbage) expect(() => codec.read(header, HTTP)).not.toThrow();
    expect(codec.read(undefined, HTTP)).toBeNull();
    expect(codec.read(';;;;', HTTP)).toBeNull();
    expect(codec.read('other=1', HTTP)).toBeNull();
    // Bad percent-encoding is kept as it was sent rather than thrown on.
    expect(codec.read('tessera.sid=%E0%A4%A', HTTP)).toBe('%E0%A4%A');
    expect(readCookie(42, 'x')).toBeNull();
  });
});

describe('signed cookies', () => {
  const codec = createCookieCodec({ secrets: [SECRET, OLD_SECRET] });

  it('round-trips a signed value and percent-encodes what needs it', () => {
    const line = codec.serialize('user:1 é', HTTPS);
    const header = line.split(';')[0] as string;
    expect(header).toMatch(/^__Host-tessera\.sid=user%3A1%20%C3%A9\.[A-Za-z0-9_-]{43}$/);
    expect(codec.read(header, HTTPS)).toBe('user:1 é');
  });

  it('accepts values signed with an older secret and signs with the first', () => {
    const old = createCookieCodec({ secrets: OLD_SECRET });
    const header = old.serialize('v', HTTP).split(';')[0] as string;
    expect(codec.read(header, HTTP)).toBe('v');
    const fresh = createCookieCodec({ secrets: SECRET });
    expect(fresh.read(codec.serialize('v', HTTP).split(';')[0], HTTP)).toBe('v');
  });

  it('answers null for unsigned, tampered or foreign-signed values', () => {
    const header = codec.serialize('v', HTTP).split(';')[0] as string;
    expect(codec.read('tessera.sid=v', HTTP)).toBeNull();
    expect(codec.read(header.replace('=v.', '=w.'), HTTP)).toBeNull();
    const other = createCookieCodec({ secrets: 'c'.repeat(32) });
    expect(codec.read(other.serialize('v', HTTP), HTTP)).toBeNull();
  });
});

describe('size limit and clear', () => {
  it('throws ERR_COOKIE_TOO_LARGE past 4096 bytes of name and value, never drops silently', () => {
    const codec = createCookieCodec({ prefix: false });
    const fits = 'x'.repeat(4096 - 'tessera.sid'.length);
    expect(parse(codec.serialize(fits, HTTP))['tessera.sid']).toBe(fits);
    expectError(() => codec.serialize(`${fits}x`, HTTP), 'ERR_COOKIE_TOO_LARGE', /4096/);
    // Encoding counts: 'é' is 6 bytes once percent-encoded.
    expectError(() => codec.serialize('é'.repeat(700), HTTP), 'ERR_COOKIE_TOO_LARGE');
  });

  it('refuses values that are not well-formed strings', () => {
    const codec = createCookieCodec();
    expectError(() => codec.serialize('\ud800', HTTP), 'ERR_INVALID_ARGUMENT');
    expectError(() => codec.serialize(5 as unknown as string, HTTP), 'ERR_INVALID_ARGUMENT');
  });

  it('clear deletes the cookie with the same name, path, domain and Secure', () => {
    const codec = createCookieCodec({ path: '/app', domain: 'example.com' });
    expect(codec.clear(HTTPS)).toBe(
      '__Secure-tessera.sid=; Max-Age=0; Domain=example.com; Path=/app; ' +
        'Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax',
    );
    expect(createCookieCodec().clear(HTTP)).toMatch(/^tessera\.sid=; Max-Age=0; Path=\/;/);
  });
});
