import { randomBytes } from 'node:crypto';
import type { JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { TesseraError } from '../shared/errors.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { type AccessTokensOptions, createAccessTokens } from './access-tokens.js';
import { createDenylist } from './denylist.js';
import { createKeyring, generateKey, type TokenAlg } from './keyring.js';

const T0 = 1_800_000_000_000;
const base = { issuer: 'https://auth.test', audience: 'api' };
const keys: Partial<Record<TokenAlg, JWK>> = {};

beforeAll(async () => {
  for (const alg of ['EdDSA', 'ES256', 'RS256', 'HS256'] as const) {
    keys[alg] = await generateKey(alg, { kid: alg.toLowerCase() });
  }
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof TesseraError ? error.code : String(error);
  }
  return undefined;
}

function decode(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

describe('createAccessTokens: options', () => {
  it('refuses bad options with ERR_CONFIG and names the option', () => {
    const ok: AccessTokensOptions = { ...base, keys: [keys.EdDSA!] };
    const bad: [Partial<AccessTokensOptions>, RegExp][] = [
      [{ issuer: '' }, /issuer/],
      [{ audience: [] }, /audience/],
      [{ audience: ['api', ''] }, /audience/],
      [{ ttl: 0 }, /ttl/],
      [{ ttl: 1.5 }, /ttl/],
      [{ clockTolerance: 61 }, /clockTolerance/],
      [{ clockTolerance: -1 }, /clockTolerance/],
      [{ keys: [] }, /keys/],
      [{ keys: 'secret' as never }, /keys/],
      [{ denylist: {} as never }, /denylist/],
    ];
    for (const [change, message] of bad) {
      let error: unknown;
      try {
        createAccessTokens({ ...ok, ...change });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(TesseraError);
      expect((error as TesseraError).code).toBe('ERR_CONFIG');
      expect((error as TesseraError).message).toMatch(message);
    }
    expect(
      codeOf(() => createAccessTokens({ ...ok, clockTolerance: 60, ttl: 60 })),
    ).toBeUndefined();
  });

  it('refuses a weak HMAC secret with ERR_KEY_WEAK', () => {
    const weak = { kty: 'oct', kid: 'w', alg: 'HS256', k: randomBytes(16).toString('base64url') };
    expect(codeOf(() => createAccessTokens({ ...base, keys: [weak] }))).toBe('ERR_KEY_WEAK');
  });
});

describe('sign and verify', () => {
  it.each(['EdDSA', 'ES256', 'RS256', 'HS256'] as const)(
    '%s: signs an at+jwt with the added claims and verifies it',
    async (alg) => {
      const tokens = createAccessTokens({ ...base, keys: [keys[alg]!], now: () => T0 });
      const token = await tokens.sign({ sub: 'user-1', sid: 'handle-1', role: 'admin' });
      const [h, p] = token.split('.') as [string, string];
      expect(decode(h)).toEqual({ alg, kid: alg.toLowerCase(), typ: 'at+jwt' });
      const claims = decode(p);
      expect(claims).toMatchObject({
        iss: 'https://auth.test',
        aud: 'api',
        sub: 'user-1',
        sid: 'handle-1',
        role: 'admin',
        iat: T0 / 1000,
        exp: T0 / 1000 + 300,
      });
      expect(claims.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
      await expect(tokens.verify(token)).resolves.toEqual(claims);
      expect(tokens.verifySync(token)).toEqual(claims);
    },
  );

  it('gives every token its own jti', async () => {
    const tokens = createAccessTokens({ ...base, keys: [keys.HS256!] });
    const ids = new Set<unknown>();
    for (let i = 0; i < 50; i++)
      ids.add(decode((await tokens.sign({ sub: 'u' })).split('.')[1]!).jti);
    expect(ids.size).toBe(50);
  });

  it('refuses caller-set iss, aud, iat, exp and jti with ERR_CONFIG, and a missing sub', async () => {
    const tokens = createAccessTokens({ ...base, keys: [keys.EdDSA!] });
    for (const name of ['iss', 'aud', 'iat', 'exp', 'jti']) {
      await expect(tokens.sign({ sub: 'u', [name]: 'x' })).rejects.toMatchObject({
        code: 'ERR_CONFIG',
      });
    }
    await expect(tokens.sign({ sub: '' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(tokens.sign({} as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });

  it('refuses to sign a token that verify would refuse as too large', async () => {
    const tokens = createAccessTokens({ ...base, keys: [keys.EdDSA!] });
    await expect(tokens.sign({ sub: 'u', blob: 'x'.repeat(8000) })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
  });

  it('cannot sign with a verify-only ring, but verifies tokens of the signing side', async () => {
    const signer = createAccessTokens({ ...base, keys: [keys.ES256!] });
    const verifier = createAccessTokens({ ...base, keys: signer.jwks().keys });
    await expect(verifier.sign({ sub: 'u' })).rejects.toMatchObject({ code: 'ERR_CONFIG' });
    const token = await signer.sign({ sub: 'u' });
    await expect(verifier.verify(token)).resolves.toMatchObject({ sub: 'u' });
  });

  it('verifies with each key of a mixed ring by kid, using that key’s own alg', async () => {
    const all = Object.values(keys) as JWK[];
    const verifier = createAccessTokens({ ...base, keys: all });
    for (const jwk of all) {
      const token = await createAccessTokens({ ...base, keys: [jwk] }).sign({ sub: jwk.kid! });
      await expect(verifier.verify(token)).resolves.toMatchObject({ sub: jwk.kid });
    }
  });

  it('accepts any audience of the allowlist and puts the allowlist in aud', async () => {
    const tokens = createAccessTokens({ ...base, audience: ['api', 'admin'], keys: [keys.EdDSA!] });
    const token = await tokens.sign({ sub: 'u' });
    expect(decode(token.split('.')[1]!).aud).toEqual(['api', 'admin']);
    const apiOnly = createAccessTokens({ ...base, audience: 'admin', keys: [keys.EdDSA!] });
    await expect(apiOnly.verify(token)).resolves.toMatchObject({ sub: 'u' });
    const other = createAccessTokens({ ...base, audience: 'billing', keys: [keys.EdDSA!] });
    await expect(other.verify(token)).rejects.toMatchObject({ code: 'ERR_TOKEN_CLAIM' });
  });

  it('expires tokens after ttl plus the clock tolerance, on the injected clock', async () => {
    let now = T0;
    const tokens = createAccessTokens({
      ...base,
      keys: [keys.EdDSA!],
      ttl: 60,
      clockTolerance: 5,
      now: () => now,
    });
    const token = await tokens.sign({ sub: 'u' });
    now = T0 + 64_999;
    await expect(tokens.verify(token)).resolves.toMatchObject({ sub: 'u' });
    now = T0 + 65_000;
    await expect(tokens.verify(token)).rejects.toMatchObject({ code: 'ERR_TOKEN_EXPIRED' });
  });

  it('refuses a token whose lifetime exceeds this verifier’s ttl', async () => {
    const long = createAccessTokens({ ...base, keys: [keys.EdDSA!], ttl: 600 });
    const short = createAccessTokens({ ...base, keys: [keys.EdDSA!], ttl: 300 });
    await expect(short.verify(await long.sign({ sub: 'u' }))).rejects.toMatchObject({
      code: 'ERR_TOKEN_CLAIM',
    });
  });

  it('checks the denylist last, and verifySync refuses to skip it', async () => {
    const revoked = new Set<string>();
    const tokens = createAccessTokens({
      ...base,
      keys: [keys.EdDSA!],
      denylist: { isRevoked: async (jti) => revoked.has(jti) },
    });
    const token = await tokens.sign({ sub: 'u' });
    const { jti } = await tokens.verify(token);
    revoked.add(jti);
    await expect(tokens.verify(token)).rejects.toMatchObject({ code: 'ERR_TOKEN_REVOKED' });
    expect(codeOf(() => tokens.verifySync(token))).toBe('ERR_CONFIG');
  });

  it("revokeUserTokens ends every earlier token of that user at once, not others' nor later ones", async () => {
    const clock = { t: T0 };
    const now = () => clock.t;
    const store = createMemoryStore({ now, purgeIntervalMs: 0 });
    const denylist = createDenylist({ store, now });
    const tokens = createAccessTokens({ ...base, keys: [keys.EdDSA!], denylist, now });
    const first = await tokens.sign({ sub: 'alice' });
    clock.t += 60_000;
    const second = await tokens.sign({ sub: 'alice' });
    const bob = await tokens.sign({ sub: 'bob' });
    clock.t += 500;
    await denylist.revokeUserTokens('alice');
    for (const token of [first, second]) {
      await expect(tokens.verify(token)).rejects.toMatchObject({ code: 'ERR_TOKEN_REVOKED' });
    }
    expect((await tokens.verify(bob)).sub).toBe('bob');
    // Signing in again after the revocation (a later second) gives a token that works.
    clock.t += 1000;
    const fresh = await tokens.sign({ sub: 'alice' });
    expect((await tokens.verify(fresh)).sub).toBe('alice');
    expect(await denylist.userNotBefore('alice')).toBe(Math.floor((T0 + 60_500) / 1000));
    // The record outlives every token it could refuse (lifetime + leeway), then goes.
    clock.t = T0 + 60_500 + (86_400 + 60) * 1000;
    expect(await denylist.userNotBefore('alice')).toBeNull();
    await expect(denylist.revokeUserTokens('')).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
  });

  it('a revoked ES256 token stays revoked in its malleated copy (s → n − s): the denylist keys on jti (checklist JW-07)', async () => {
    const revoked = new Set<string>();
    const tokens = createAccessTokens({
      ...base,
      keys: [keys.ES256!],
      denylist: { isRevoked: async (jti) => revoked.has(jti) },
    });
    const token = await tokens.sign({ sub: 'u' });
    const { jti } = await tokens.verify(token);
    revoked.add(jti);
    const [head, body, sig] = token.split('.') as [string, string, string];
    const raw = Buffer.from(sig, 'base64url');
    const n = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
    const s = BigInt(`0x${raw.subarray(32).toString('hex')}`);
    const flipped = Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex');
    const malleated = `${head}.${body}.${Buffer.concat([raw.subarray(0, 32), flipped]).toString('base64url')}`;
    expect(malleated).not.toBe(token);
    await expect(tokens.verify(token)).rejects.toMatchObject({ code: 'ERR_TOKEN_REVOKED' });
    // Whether or not the verifier takes the high-s form, it never passes as a fresh token.
    await expect(tokens.verify(malleated)).rejects.toMatchObject({
      code: expect.stringMatching(/^ERR_TOKEN_(REVOKED|SIGNATURE)$/),
    });
  });

  it('picks up a rotation made on the keyring it was given', async () => {
    const ring = createKeyring({ keys: [keys.EdDSA!] });
    const tokens = createAccessTokens({ ...base, keys: ring });
    const first = await tokens.sign({ sub: 'u' });
    ring.rotate(keys.ES256!);
    const second = await tokens.sign({ sub: 'u' });
    expect(decode(second.split('.')[0]!).kid).toBe('es256');
    ring.retire('eddsa');
    await expect(tokens.verify(first)).rejects.toMatchObject({ code: 'ERR_TOKEN_KEY_UNKNOWN' });
    await expect(tokens.verify(second)).resolves.toMatchObject({ sub: 'u' });
  });
});
