import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, importJWK, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { TesseraError } from '../shared/errors.js';
import { createAccessTokens } from './access-tokens.js';
import { createKeyring, generateKey, isKeyring } from './keyring.js';

const PRIVATE = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof TesseraError ? error.code : `not a TesseraError: ${String(error)}`;
  }
  return undefined;
}

describe('generateKey', () => {
  it('makes EdDSA (Ed25519) keys by default, with a thumbprint kid', async () => {
    const jwk = await generateKey();
    expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
    expect(jwk.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(typeof jwk.d).toBe('string');
  });

  it('gives asymmetric keys the RFC 7638 thumbprint as kid, and JWKs that jose imports', async () => {
    for (const alg of ['ES256', 'RS256', 'EdDSA'] as const) {
      const jwk = await generateKey(alg);
      const { kid, alg: _alg, ...bare } = jwk;
      expect(kid).toBe(await calculateJwkThumbprint(bare));
      await expect(importJWK(jwk, alg)).resolves.toBeDefined();
    }
  });

  it('makes each supported kind of key, usable by a keyring', async () => {
    for (const alg of ['ES256', 'RS256', 'HS256', 'EdDSA'] as const) {
      const jwk = await generateKey(alg, { kid: `k-${alg}` });
      expect(jwk.alg).toBe(alg);
      expect(jwk.kid).toBe(`k-${alg}`);
      expect(createKeyring({ keys: [jwk] }).activeKid).toBe(`k-${alg}`);
    }
  });

  it('gives HMAC keys 32 random bytes and a random kid, not a hash of the secret', async () => {
    const a = await generateKey('HS256');
    const b = await generateKey('HS256');
    expect(Buffer.from(a.k!, 'base64url')).toHaveLength(32);
    expect(a.k).not.toBe(b.k);
    expect(a.kid).not.toBe(b.kid);
  });

  it('refuses an algorithm Tessera does not support', async () => {
    await expect(generateKey('PS256' as never)).rejects.toMatchObject({ code: 'ERR_CONFIG' });
  });
});

describe('createKeyring', () => {
  it('refuses keys without kid or alg, with a mismatched kty or crv, or a duplicate kid', async () => {
    const ed = await generateKey('EdDSA', { kid: 'a' });
    expect(codeOf(() => createKeyring({ keys: [{ ...ed, kid: undefined }] }))).toBe('ERR_CONFIG');
    expect(codeOf(() => createKeyring({ keys: [{ ...ed, alg: undefined }] }))).toBe('ERR_CONFIG');
    expect(codeOf(() => createKeyring({ keys: [{ ...ed, alg: 'none' }] }))).toBe('ERR_CONFIG');
    expect(codeOf(() => createKeyring({ keys: [{ ...ed, alg: 'ES256' }] }))).toBe('ERR_CONFIG');
    expect(codeOf(() => createKeyring({ keys: [{ ...ed, crv: 'Ed448' }] }))).toBe('ERR_CONFIG');
    expect(codeOf(() => createKeyring({ keys: [ed, ed] }))).toBe('ERR_CONFIG');
    expect(codeOf(() => createKeyring({ keys: [{ ...ed, use: 'enc' }] }))).toBe('ERR_CONFIG');
  });

  it('refuses a private part that does not match the public part', async () => {
    const a = await generateKey('ES256', { kid: 'a' });
    const b = await generateKey('ES256', { kid: 'b' });
    expect(codeOf(() => createKeyring({ keys: [{ ...a, d: b.d }] }))).toBe('ERR_CONFIG');
  });

  it('refuses HMAC secrets under 32 bytes and RSA keys under 2048 bits as ERR_KEY_WEAK', () => {
    const short = { kty: 'oct', kid: 'h', alg: 'HS256', k: randomBytes(31).toString('base64url') };
    expect(codeOf(() => createKeyring({ keys: [short] }))).toBe('ERR_KEY_WEAK');
    const ok = { ...short, k: randomBytes(32).toString('base64url') };
    expect(codeOf(() => createKeyring({ keys: [ok] }))).toBeUndefined();

    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const rsa = { ...(privateKey.export({ format: 'jwk' }) as JWK), kid: 'r', alg: 'RS256' };
    expect(codeOf(() => createKeyring({ keys: [rsa] }))).toBe('ERR_KEY_WEAK');
    expect(codeOf(() => createAccessTokens({ keys: [short], issuer: 'i', audience: 'a' }))).toBe(
      'ERR_KEY_WEAK',
    );
  });

  it('makes the first key with a private part the active signer', async () => {
    const pub = await generateKey('ES256', { kid: 'pub' });
    const publicOnly = { ...pub, d: undefined };
    const signer1 = await generateKey('EdDSA', { kid: 's1' });
    const signer2 = await generateKey('EdDSA', { kid: 's2' });
    const ring = createKeyring({ keys: [publicOnly, signer1, signer2] });
    expect(ring.activeKid).toBe('s1');
    expect(isKeyring(ring)).toBe(true);
    expect(isKeyring({ activeKid: 's1' })).toBe(false);
  });
});

describe('rotation', () => {
  const options = { issuer: 'https://auth.test', audience: 'api' };

  it('signs with the new key, keeps old tokens valid until the old key is retired', async () => {
    const old = await generateKey('EdDSA', { kid: 'old' });
    const ring = createKeyring({ keys: [old] });
    const tokens = createAccessTokens({ ...options, keys: ring });
    const before = await tokens.sign({ sub: 'u1' });

    ring.rotate(await generateKey('ES256', { kid: 'new' }));
    expect(ring.activeKid).toBe('new');
    const after = await tokens.sign({ sub: 'u1' });
    expect(JSON.parse(Buffer.from(after.split('.')[0]!, 'base64url').toString())).toEqual({
      alg: 'ES256',
      kid: 'new',
      typ: 'at+jwt',
    });
    await expect(tokens.verify(before)).resolves.toMatchObject({ sub: 'u1' });
    await expect(tokens.verify(after)).resolves.toMatchObject({ sub: 'u1' });
    expect(tokens.jwks().keys.map((k) => k.kid)).toEqual(['old', 'new']);

    expect(ring.retire('old')).toBe(true);
    await expect(tokens.verify(before)).rejects.toMatchObject({ code: 'ERR_TOKEN_KEY_UNKNOWN' });
    await expect(tokens.verify(after)).resolves.toMatchObject({ sub: 'u1' });
    expect(tokens.jwks().keys.map((k) => k.kid)).toEqual(['new']);
    expect(ring.retire('old')).toBe(false);
  });

  it('refuses to retire the active key and to rotate to a key without a private part', async () => {
    const ring = createKeyring({ keys: [await generateKey('EdDSA', { kid: 'a' })] });
    expect(codeOf(() => ring.retire('a'))).toBe('ERR_CONFIG');
    const pub = await generateKey('EdDSA', { kid: 'b' });
    expect(codeOf(() => ring.rotate({ ...pub, d: undefined }))).toBe('ERR_CONFIG');
    expect(ring.activeKid).toBe('a');
  });

  it('refuses a different key under a kid already in the ring', async () => {
    const ring = createKeyring({ keys: [await generateKey('EdDSA', { kid: 'a' })] });
    expect(codeOf(() => ring.rotate(Object.assign({}, ring.jwks().keys[0], { x: 'AA' })))).toBe(
      'ERR_CONFIG',
    );
  });

  it('lets a verify-only key be added and re-activates a known signer on rotate', async () => {
    const a = await generateKey('EdDSA', { kid: 'a' });
    const b = await generateKey('EdDSA', { kid: 'b' });
    let clock = 1_000;
    const ring = createKeyring({ keys: [a], now: () => clock });
    ring.add(b);
    expect(ring.activeKid).toBe('a');
    clock = 2_000;
    ring.rotate(b);
    expect(ring.activeKid).toBe('b');
    ring.rotate(a);
    expect(ring.activeKid).toBe('a');
    expect(ring.list().map((k) => [k.kid, k.active, k.canSign])).toEqual([
      ['a', true, true],
      ['b', false, true],
    ]);
  });
});

describe('jwks', () => {
  it('lists every asymmetric key that verifies, never an HMAC key or a private member', async () => {
    const keys = [
      await generateKey('RS256', { kid: 'rsa' }),
      await generateKey('HS256', { kid: 'hmac' }),
      await generateKey('ES256', { kid: 'ec' }),
      await generateKey('EdDSA', { kid: 'ed' }),
    ];
    const ring = createKeyring({ keys });
    const { keys: published } = ring.jwks();
    expect(published.map((k) => k.kid)).toEqual(['rsa', 'ec', 'ed']);
    for (const jwk of published) {
      for (const name of PRIVATE) expect(jwk).not.toHaveProperty(name);
      expect(jwk.use).toBe('sig');
      expect(typeof jwk.alg).toBe('string');
    }
    expect(JSON.stringify(ring.jwks())).not.toMatch(/"(d|p|q|dp|dq|qi|k)"/);
    // Changing the answer does not change the ring.
    published[0]!.d = 'x';
    expect(ring.jwks().keys[0]).not.toHaveProperty('d');
  });
});
