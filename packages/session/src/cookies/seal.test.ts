import { randomBytes } from 'node:crypto';
import { parse, parseSetCookie } from 'cookie';
import { describe, expect, it } from 'vitest';
import { isTesseraError } from '../shared/errors.js';
import { createCookieSealer } from './seal.js';

const T0 = Date.UTC(2026, 0, 1);
const KEY_A = { kid: 'a', secret: randomBytes(32) };
const KEY_B = { kid: 'b', secret: randomBytes(32).toString('base64url') };
const HTTPS = { isSecure: true };

function clock(start = T0): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

/** Turns Set-Cookie lines into the Cookie header a browser would send next (deletions dropped). */
function browserHeader(setCookies: string[], jar = new Map<string, string>()): string {
  for (const line of setCookies) {
    const cookie = parseSetCookie(line);
    if (cookie.maxAge === 0) jar.delete(cookie.name);
    else jar.set(cookie.name, cookie.value ?? '');
  }
  return [...jar].map(([n, v]) => `${n}=${v}`).join('; ');
}

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (error) {
    expect(isTesseraError(error, code as 'ERR_CONFIG')).toBe(true);
    return;
  }
  throw new Error(`expected ${code}`);
}

describe('seal / open', () => {
  it('round-trips data with iat and both expiries', async () => {
    const { now } = clock();
    const sealer = createCookieSealer({ keys: [KEY_A], now, idleTtl: 60, absoluteTtl: 3600 });
    const sealed = sealer.seal({ userId: 'u1', roles: ['admin'] });
    expect(sealed).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(await sealer.open(sealed)).toEqual({
      data: { userId: 'u1', roles: ['admin'] },
      issuedAt: T0,
      idleExpiresAt: T0 + 60_000,
      absoluteExpiresAt: T0 + 3_600_000,
      generation: undefined,
      kid: 'a',
    });
  });

  it('uses a fresh IV: the same data seals differently each time', () => {
    const sealer = createCookieSealer({ keys: [KEY_A] });
    expect(sealer.seal({ a: 1 })).not.toBe(sealer.seal({ a: 1 }));
  });

  it('refuses every single-character change at every position', async () => {
    const sealer = createCookieSealer({ keys: [KEY_A, KEY_B] });
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // Three data lengths, so the encoded form ends on each possible byte boundary (the last
    // character then carries 2, 4 or 6 bits); flipping its lowest bit must fail too.
    for (const userId of ['u1', 'u12', 'u123']) {
      const sealed = sealer.seal({ userId });
      for (let i = 0; i < sealed.length; i++) {
        const index = alphabet.indexOf(sealed[i] as string);
        for (const replacement of [alphabet[index ^ 1], alphabet[(index + 32) % 64], '.']) {
          const tampered = sealed.slice(0, i) + replacement + sealed.slice(i + 1);
          expect(await sealer.open(tampered)).toBeNull();
        }
      }
    }
  });

  it('refuses every truncation and extension', async () => {
    const sealer = createCookieSealer({ keys: [KEY_A] });
    const sealed = sealer.seal({ userId: 'u1' });
    for (let length = 0; length < sealed.length; length++) {
      expect(await sealer.open(sealed.slice(0, length))).toBeNull();
    }
    expect(await sealer.open(`${sealed}A`)).toBeNull();
    expect(await sealer.open(`${sealed}AAAA`)).toBeNull();
  });

  it('rotation: the new key seals, old keys still open, removed keys do not', async () => {
    const before = createCookieSealer({ keys: [KEY_A] });
    const during = createCookieSealer({ keys: [KEY_B, KEY_A] });
    const after = createCookieSealer({ keys: [KEY_B] });
    const old = before.seal({ n: 1 });
    expect((await during.open(old))?.kid).toBe('a');
    const fresh = during.seal({ n: 2 });
    expect((await during.open(fresh))?.kid).toBe('b');
    expect(await after.open(fresh)).not.toBeNull();
    expect(await after.open(old)).toBeNull();
    expect(during.currentKid).toBe('b');
  });

  it('a key with the same kid but other bytes does not open', async () => {
    const sealed = createCookieSealer({ keys: [KEY_A] }).seal({ n: 1 });
    const impostor = createCookieSealer({ keys: [{ kid: 'a', secret: randomBytes(32) }] });
    expect(await impostor.open(sealed)).toBeNull();
  });

  it('binds the cookie name: a value moved to another cookie name fails', async () => {
    const sealed = createCookieSealer({ keys: [KEY_A], name: 'app.session' }).seal({ n: 1 });
    const other = createCookieSealer({ keys: [KEY_A], name: 'other.session' });
    expect(await other.open(sealed)).toBeNull();
    expect(await other.read(`other.session=${sealed}`, { isSecure: false })).toBeNull();
  });

  it('expires at the idle timeout unless re-sealed', async () => {
    const c = clock();
    const sealer = createCookieSealer({
      keys: [KEY_A],
      now: c.now,
      idleTtl: 60,
      absoluteTtl: 3600,
    });
    const sealed = sealer.seal({ n: 1 });
    c.advance(59_999);
    const opened = await sealer.open(sealed);
    expect(opened).not.toBeNull();
    const resealed = sealer.seal({ n: 1 }, { absoluteExpiresAt: opened!.absoluteExpiresAt });
    c.advance(1);
    expect(await sealer.open(sealed)).toBeNull();
    expect(await sealer.open(resealed)).not.toBeNull();
  });

  it('expires at the absolute timeout, which re-sealing never extends', async () => {
    const c = clock();
    const sealer = createCookieSealer({
      keys: [KEY_A],
      now: c.now,
      idleTtl: 600,
      absoluteTtl: 1000,
    });
    let sealed = sealer.seal({ n: 1 });
    const absolute = T0 + 1_000_000;
    for (let i = 0; i < 3; i++) {
      c.advance(300_000);
      const opened = await sealer.open(sealed);
      expect(opened?.absoluteExpiresAt).toBe(absolute);
      sealed = sealer.seal(opened!.data, { absoluteExpiresAt: opened!.absoluteExpiresAt });
    }
    const last = await sealer.open(sealed);
    expect(last?.idleExpiresAt).toBe(absolute);
    c.advance(100_000);
    expect(await sealer.open(sealed)).toBeNull();
    // Asking for a later absolute expiry than a fresh session gets is clamped, not honoured.
    const clamped = sealer.seal({ n: 1 }, { absoluteExpiresAt: c.now() + 10 * 1_000_000 });
    expect((await sealer.open(clamped))?.absoluteExpiresAt).toBe(c.now() + 1_000_000);
    expectCode(() => sealer.seal({ n: 1 }, { absoluteExpiresAt: c.now() }), 'ERR_INVALID_ARGUMENT');
  });

  it('revocation: a value sealed with an older generation no longer opens', async () => {
    const generations = new Map<string, number>([['u1', 1]]);
    const sealer = createCookieSealer<{ userId: string }>({
      keys: [KEY_A],
      currentGeneration: async (data) => generations.get(data.userId) ?? 0,
    });
    const setCookies = await sealer.write({ userId: 'u1' }, HTTPS);
    const header = browserHeader(setCookies);
    expect((await sealer.read(header, HTTPS))?.generation).toBe(1);
    generations.set('u1', 2); // "sign out everywhere"
    expect(await sealer.read(header, HTTPS)).toBeNull();
    // Values sealed without any generation are refused once the check is on.
    expect(await sealer.open(sealer.seal({ userId: 'u1' }))).toBeNull();
  });

  it('a failing generation lookup propagates (fail closed, not a signed-in request)', async () => {
    const sealer = createCookieSealer({
      keys: [KEY_A],
      currentGeneration: () => {
        throw new Error('store down');
      },
    });
    const sealed = sealer.seal({ n: 1 }, { generation: 1 });
    await expect(sealer.open(sealed)).rejects.toThrow('store down');
  });

  it('never throws on garbage', async () => {
    const sealer = createCookieSealer({ keys: [KEY_A] });
    const garbage: unknown[] = [
      undefined,
      null,
      42,
      {},
      '',
      '.',
      'AQ',
      'AQFh',
      '%%%',
      'é',
      'A'.repeat(100_000),
    ];
    for (const value of garbage) expect(await sealer.open(value)).toBeNull();
    for (const header of [
      '',
      ';',
      'tessera.session=',
      'tessera.session.0=x; tessera.session.1=%ZZ',
      '\u0000',
    ]) {
      expect(await sealer.read(header, { isSecure: false })).toBeNull();
    }
  });

  it('refuses data that is not JSON-serialisable', () => {
    const sealer = createCookieSealer({ keys: [KEY_A] });
    expectCode(
      () => sealer.seal(undefined as unknown as Record<string, unknown>),
      'ERR_INVALID_ARGUMENT',
    );
    expectCode(() => sealer.seal({ n: 1n }), 'ERR_INVALID_ARGUMENT');
  });
});

describe('configuration', () => {
  it.each([
    ['no keys', { keys: [] }, 'ERR_CONFIG'],
    ['a 16-byte key', { keys: [{ kid: 'a', secret: randomBytes(16) }] }, 'ERR_KEY_WEAK'],
    [
      'a 16-byte base64url key',
      { keys: [{ kid: 'a', secret: randomBytes(16).toString('base64url') }] },
      'ERR_KEY_WEAK',
    ],
    ['a 48-byte key', { keys: [{ kid: 'a', secret: randomBytes(48) }] }, 'ERR_CONFIG'],
    [
      'a key that is not base64url',
      { keys: [{ kid: 'a', secret: 'not base64url!' }] },
      'ERR_CONFIG',
    ],
    ['an empty kid', { keys: [{ kid: '', secret: randomBytes(32) }] }, 'ERR_CONFIG'],
    ['duplicate kids', { keys: [KEY_A, { ...KEY_B, kid: 'a' }] }, 'ERR_CONFIG'],
    ['maxChunks 0', { keys: [KEY_A], maxChunks: 0 }, 'ERR_CONFIG'],
    ['idleTtl 0', { keys: [KEY_A], idleTtl: 0 }, 'ERR_CONFIG'],
    ['a bad name', { keys: [KEY_A], name: 'a b' }, 'ERR_CONFIG'],
    [
      'SameSite=None without secure',
      { keys: [KEY_A], cookie: { sameSite: 'none' as const } },
      'ERR_CONFIG',
    ],
  ])('refuses %s', (_label, options, code) => {
    expectCode(() => createCookieSealer(options as Parameters<typeof createCookieSealer>[0]), code);
  });
});

describe('cookies and chunking', () => {
  const sealer = createCookieSealer({ keys: [KEY_A], name: 'app' });

  it('writes one secure cookie and reads it back', async () => {
    const setCookies = await sealer.write({ userId: 'u1' }, HTTPS);
    expect(setCookies).toHaveLength(1);
    expect(setCookies[0]).toMatch(
      /^__Host-app=[A-Za-z0-9_-]+; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
    );
    expect((await sealer.read(browserHeader(setCookies), HTTPS))?.data).toEqual({ userId: 'u1' });
    // The same cookie on plain HTTP (no prefix expected) is not read.
    expect(await sealer.read(browserHeader(setCookies), { isSecure: false })).toBeNull();
  });

  it('adds Max-Age only for a persistent cookie', async () => {
    const [line] = await sealer.write({ n: 1 }, { ...HTTPS, persistentMaxAgeSeconds: 86_400 });
    expect(line).toContain('Max-Age=86400');
    const remembering = createCookieSealer({ keys: [KEY_A], cookie: { maxAge: 600 } });
    const [plain] = await remembering.write({ n: 1 }, HTTPS);
    expect(plain).not.toMatch(/Max-Age|Expires/);
    const [remembered] = await remembering.write({ n: 1 }, { ...HTTPS, persistent: true });
    expect(remembered).toContain('Max-Age=600');
    await expect(sealer.write({ n: 1 }, { ...HTTPS, persistent: true })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
  });

  it('splits a large value into chunks no longer than 4096 bytes and reassembles them', async () => {
    const big = { blob: randomBytes(6000).toString('base64') };
    const setCookies = await sealer.write(big, HTTPS);
    expect(setCookies.map((line) => parseSetCookie(line).name)).toEqual([
      '__Host-app.0',
      '__Host-app.1',
      '__Host-app.2',
    ]);
    for (const line of setCookies) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(4096);
    expect((await sealer.read(browserHeader(setCookies), HTTPS))?.data).toEqual(big);
  });

  it('grows and shrinks: deletes the cookies the new value no longer uses', async () => {
    const jar = new Map<string, string>();
    const small = await sealer.write({ n: 1 }, HTTPS);
    let header = browserHeader(small, jar);
    const big = await sealer.write({ blob: 'x'.repeat(7000) }, { ...HTTPS, cookieHeader: header });
    expect(big.filter((l) => l.includes('Max-Age=0')).map((l) => parseSetCookie(l).name)).toEqual([
      '__Host-app',
    ]);
    header = browserHeader(big, jar);
    expect(Object.keys(parse(header))).toEqual(['__Host-app.0', '__Host-app.1', '__Host-app.2']);
    const medium = await sealer.write(
      { blob: 'x'.repeat(5000) },
      { ...HTTPS, cookieHeader: header },
    );
    expect(
      medium.filter((l) => l.includes('Max-Age=0')).map((l) => parseSetCookie(l).name),
    ).toEqual(['__Host-app.2']);
    header = browserHeader(medium, jar);
    expect((await sealer.read(header, HTTPS))?.data).toEqual({ blob: 'x'.repeat(5000) });
    const back = await sealer.write({ n: 2 }, { ...HTTPS, cookieHeader: header });
    header = browserHeader(back, jar);
    expect(Object.keys(parse(header))).toEqual(['__Host-app']);
    expect((await sealer.read(header, HTTPS))?.data).toEqual({ n: 2 });
  });

  it('a missing, extra, reordered or stale chunk is invalid', async () => {
    const value = { blob: randomBytes(6000).toString('base64') };
    const cookies = parse(browserHeader(await sealer.write(value, HTTPS)));
    const c0 = cookies['__Host-app.0'];
    const c1 = cookies['__Host-app.1'];
    const c2 = cookies['__Host-app.2'];
    const ok = `__Host-app.0=${c0}; __Host-app.1=${c1}; __Host-app.2=${c2}`;
    expect(await sealer.read(ok, HTTPS)).not.toBeNull();
    expect(await sealer.read(`__Host-app.0=${c0}; __Host-app.2=${c2}`, HTTPS)).toBeNull();
    expect(await sealer.read(`__Host-app.0=${c0}; __Host-app.1=${c1}`, HTTPS)).toBeNull();
    expect(await sealer.read(`${ok}; __Host-app.3=${c2}`, HTTPS)).toBeNull();
    expect(
      await sealer.read(`__Host-app.0=${c0}; __Host-app.1=${c2}; __Host-app.2=${c1}`, HTTPS),
    ).toBeNull();
    const other = parse(browserHeader(await sealer.write(value, HTTPS)));
    expect(
      await sealer.read(
        `__Host-app.0=${c0}; __Host-app.1=${c1}; __Host-app.2=${other['__Host-app.2']}`,
        HTTPS,
      ),
    ).toBeNull();
    const single = parse(browserHeader(await sealer.write({ n: 1 }, HTTPS)))['__Host-app'];
    expect(await sealer.read(`__Host-app=${single}; __Host-app.0=${c0}`, HTTPS)).toBeNull();
  });

  it('throws ERR_SEALED_TOO_LARGE past maxChunks', async () => {
    const limited = createCookieSealer({ keys: [KEY_A], name: 'app', maxChunks: 2 });
    await expect(limited.write({ blob: 'x'.repeat(9000) }, HTTPS)).rejects.toMatchObject({
      code: 'ERR_SEALED_TOO_LARGE',
      message: expect.stringMatching(/maxChunks \(2\)/),
    });
    await expect(limited.write({ blob: 'x'.repeat(5000) }, HTTPS)).resolves.toHaveLength(2);
  });

  it('clear deletes the cookie and every chunk present', async () => {
    const header = browserHeader(await sealer.write({ blob: 'x'.repeat(5000) }, HTTPS));
    const names = sealer.clear(header, HTTPS).map((line) => parseSetCookie(line).name);
    expect(names.sort()).toEqual(['__Host-app', '__Host-app.0', '__Host-app.1']);
    expect(sealer.clear(undefined, HTTPS)).toEqual([
      '__Host-app=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax',
    ]);
  });
});

describe('sealed cookies: replay after logout and the prefix (issue 11, finding 8)', () => {
  it('binds the full cookie name, prefix included: a __Host- value does not open as the plain name', async () => {
    const sealer = createCookieSealer({ keys: [KEY_A], name: 'app.s' });
    const header = browserHeader(await sealer.write({ n: 1 }, HTTPS));
    expect(header.startsWith('__Host-app.s=')).toBe(true);
    expect(await sealer.read(header, HTTPS)).not.toBeNull();
    const value = header.slice('__Host-app.s='.length);
    // The same value moved under the unprefixed name (readable on plain HTTP) is refused.
    expect(await sealer.read(`app.s=${value}`, { isSecure: false })).toBeNull();
    expect(await sealer.open(value)).toBeNull();
  });

  it('with a store, a cookie captured before logout does not open after it', async () => {
    const { createMemoryStore } = await import('../stores/memory/index.js');
    const store = createMemoryStore();
    const sealer = createCookieSealer<{ userId: string }>({
      keys: [KEY_A],
      store,
      subject: (data) => data.userId,
    });
    const captured = browserHeader(await sealer.write({ userId: 'alice' }, HTTPS));
    const bobs = browserHeader(await sealer.write({ userId: 'bob' }, HTTPS));
    expect(await sealer.read(captured, HTTPS)).not.toBeNull();
    // Logout.
    await sealer.revoke({ userId: 'alice' });
    expect(await sealer.read(captured, HTTPS)).toBeNull();
    expect(await sealer.read(bobs, HTTPS)).not.toBeNull();
    // A fresh login after the logout works.
    const fresh = browserHeader(await sealer.write({ userId: 'alice' }, HTTPS));
    expect(await sealer.read(fresh, HTTPS)).not.toBeNull();
    await store.close();
  });

  it('refuses a store without subject, subject without store, and both store and currentGeneration', async () => {
    const { createMemoryStore } = await import('../stores/memory/index.js');
    const store = createMemoryStore();
    expectCode(() => createCookieSealer({ keys: [KEY_A], store }), 'ERR_CONFIG');
    expectCode(() => createCookieSealer({ keys: [KEY_A], subject: () => 'x' }), 'ERR_CONFIG');
    expectCode(
      () =>
        createCookieSealer({
          keys: [KEY_A],
          store,
          subject: () => 'x',
          currentGeneration: () => 1,
        }),
      'ERR_CONFIG',
    );
    await expect(createCookieSealer({ keys: [KEY_A] }).revoke({})).rejects.toMatchObject({
      code: 'ERR_CONFIG',
    });
    await store.close();
  });
});

describe('sealed cookies: nonces (checklist EC-01)', () => {
  it('never repeats an IV in 100,000 seals', () => {
    const sealer = createCookieSealer<number>({ keys: [KEY_A] });
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const bytes = Buffer.from(sealer.seal(i), 'base64url');
      // version, kid length, kid, then the 12-byte IV
      const at = 2 + (bytes[1] as number);
      seen.add(bytes.subarray(at, at + 12).toString('hex'));
    }
    expect(seen.size).toBe(100_000);
  }, 120_000);
});
