/**
 * Malformed and malicious access tokens: each case names the exact error code `verify`
 * must give. Tokens are built by hand (raw header and payload text, signatures made with
 * node:crypto) so that every layer can be attacked on its own.
 */
import {
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
  sign,
} from 'node:crypto';
import type { JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { TesseraError } from '../packages/session/src/shared/errors.js';
import {
  type AccessTokens,
  createAccessTokens,
} from '../packages/session/src/tokens/access-tokens.js';
import { signJws, type TokenAlg } from '../packages/session/src/tokens/internal/jws.js';
import { createKeyring, generateKey } from '../packages/session/src/tokens/keyring.js';

const NOW_MS = 1_800_000_000_000;
const NOW = NOW_MS / 1000;
const ISS = 'https://auth.test';

const b64 = (text: string | Buffer): string =>
  (typeof text === 'string' ? Buffer.from(text) : text).toString('base64url');
const json = (value: unknown): string => b64(JSON.stringify(value));

const jwks: Record<string, JWK> = {};
const privateKeys: Record<string, KeyObject> = {};
let tokens: AccessTokens;
let strangerEs: KeyObject;

const ALG_OF: Record<string, TokenAlg> = { hs: 'HS256', rs: 'RS256', es: 'ES256', ed: 'EdDSA' };

beforeAll(async () => {
  for (const [kid, alg] of Object.entries(ALG_OF)) {
    jwks[kid] = await generateKey(alg, { kid });
    privateKeys[kid] =
      alg === 'HS256'
        ? createSecretKey(Buffer.from(jwks[kid]!.k!, 'base64url'))
        : createPrivateKey({ key: jwks[kid] as JsonWebKey, format: 'jwk' });
  }
  strangerEs = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  tokens = createAccessTokens({
    keys: Object.values(jwks),
    issuer: ISS,
    audience: ['api', 'admin'],
    ttl: 300,
    clockTolerance: 30,
    now: () => NOW_MS,
    denylist: { isRevoked: async (jti) => jti === 'revoked-jti' },
  });
});

function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { iss: ISS, aud: 'api', sub: 'user-1', iat: NOW, exp: NOW + 300, jti: 'jti-1', ...extra };
}

function header(kid: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { alg: ALG_OF[kid], kid, typ: 'at+jwt', ...extra };
}

interface Forge {
  /** Header object or raw base64url part. */
  header?: Record<string, unknown> | { raw: string };
  payload?: Record<string, unknown> | { raw: string };
  /** Which ring key signs (default: the header's kid), or another KeyObject with its alg. */
  signer?: string | { alg: TokenAlg; key: KeyObject };
}

function part(value: Record<string, unknown> | { raw: string }): string {
  return 'raw' in value && typeof value.raw === 'string' && Object.keys(value).length === 1
    ? value.raw
    : json(value);
}

function forge(options: Forge = {}): string {
  const h = options.header ?? header('ed');
  const input = `${part(h)}.${part(options.payload ?? claims())}`;
  const signer =
    options.signer ?? ((h as { kid?: unknown }).kid as string | undefined) ?? ('ed' as const);
  const { alg, key } =
    typeof signer === 'string' ? { alg: ALG_OF[signer]!, key: privateKeys[signer]! } : signer;
  return `${input}.${b64(signJws(alg, key, input))}`;
}

async function codeOf(token: unknown): Promise<string> {
  try {
    await tokens.verify(token as string);
    return 'VALID';
  } catch (error) {
    if (error instanceof TesseraError) return error.code;
    throw error;
  }
}

function withPart(token: string, index: number, change: (part: string) => string): string {
  const parts = token.split('.');
  parts[index] = change(parts[index]!);
  return parts.join('.');
}

/** A canonical base64url part whose last character gets non-zero spare bits. */
function dirtyTail(value: string): string {
  const last = value[value.length - 1]!;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  return value.slice(0, -1) + alphabet[alphabet.indexOf(last) + 1]!;
}

type Case = [name: string, token: () => string | unknown, code: string];

const cases: Case[] = [
  // --- the baseline: one valid token per algorithm
  ['valid EdDSA', () => forge(), 'VALID'],
  ['valid ES256', () => forge({ header: header('es') }), 'VALID'],
  ['valid RS256', () => forge({ header: header('rs') }), 'VALID'],
  ['valid HS256', () => forge({ header: header('hs') }), 'VALID'],

  // --- size
  ['8 KiB + 1 of garbage', () => 'a'.repeat(8193), 'ERR_TOKEN_TOO_LARGE'],
  [
    'a validly signed token over 8 KiB',
    () => forge({ payload: claims({ pad: 'x'.repeat(8200) }) }),
    'ERR_TOKEN_TOO_LARGE',
  ],

  // --- structure and encoding
  ['not a string', () => 42, 'ERR_TOKEN_MALFORMED'],
  ['empty string', () => '', 'ERR_TOKEN_MALFORMED'],
  ['two parts', () => forge().split('.').slice(0, 2).join('.'), 'ERR_TOKEN_MALFORMED'],
  ['four parts', () => `${forge()}.AAAA`, 'ERR_TOKEN_MALFORMED'],
  ['five parts (JWE shape)', () => `${forge()}.AAAA.AAAA`, 'ERR_TOKEN_MALFORMED'],
  ['empty header part', () => withPart(forge(), 0, () => ''), 'ERR_TOKEN_MALFORMED'],
  ['empty payload part (detached)', () => withPart(forge(), 1, () => ''), 'ERR_TOKEN_MALFORMED'],
  ['empty signature part', () => withPart(forge(), 2, () => ''), 'ERR_TOKEN_MALFORMED'],
  ['padding on the signature', () => `${forge()}==`, 'ERR_TOKEN_MALFORMED'],
  [
    'padding on the header',
    () => forge({ header: { raw: `${json(header('ed'))}=` } }),
    'ERR_TOKEN_MALFORMED',
  ],
  [
    'padding on the payload (re-signed)',
    () => forge({ payload: { raw: `${json(claims())}=` } }),
    'ERR_TOKEN_MALFORMED',
  ],
  [
    'a space inside the payload',
    () => withPart(forge(), 1, (p) => `${p.slice(0, 5)} ${p.slice(5)}`),
    'ERR_TOKEN_MALFORMED',
  ],
  ['a trailing newline', () => `${forge()}\n`, 'ERR_TOKEN_MALFORMED'],
  ['a leading space', () => ` ${forge()}`, 'ERR_TOKEN_MALFORMED'],
  [
    '+ and / (standard base64) in the signature',
    () => withPart(forge(), 2, (s) => `${s.replace(/-/g, '+').replace(/_/g, '/')}+/`),
    'ERR_TOKEN_MALFORMED',
  ],
  [
    'non-zero trailing bits in the signature',
    () => withPart(forge(), 2, dirtyTail),
    'ERR_TOKEN_MALFORMED',
  ],
  [
    'non-zero trailing bits in the payload',
    () => {
      // Pick a payload whose encoding ends in a partial group, then dirty its last char.
      let extra = '';
      let raw = json(claims());
      while (raw.length % 4 === 0) {
        extra += 'x';
        raw = json(claims({ extra }));
      }
      return forge({ payload: { raw: dirtyTail(raw) } });
    },
    'ERR_TOKEN_MALFORMED',
  ],
  [
    'an impossible length (4n+1)',
    () => withPart(forge(), 2, (s) => `${s}A`.slice(0, 85)),
    'ERR_TOKEN_MALFORMED',
  ],
  ['non-ASCII characters', () => withPart(forge(), 1, (p) => `${p}é`), 'ERR_TOKEN_MALFORMED'],
  ['header not JSON', () => forge({ header: { raw: b64('alg=EdDSA') } }), 'ERR_TOKEN_MALFORMED'],
  [
    'header a JSON array',
    () => forge({ header: { raw: json([header('ed')]) } }),
    'ERR_TOKEN_MALFORMED',
  ],
  ['header a JSON string', () => forge({ header: { raw: json('at+jwt') } }), 'ERR_TOKEN_MALFORMED'],
  ['header JSON null', () => forge({ header: { raw: b64('null') } }), 'ERR_TOKEN_MALFORMED'],
  [
    'header with a duplicate alg',
    () => forge({ header: { raw: b64('{"alg":"EdDSA","kid":"ed","typ":"at+jwt","alg":"none"}') } }),
    'ERR_TOKEN_MALFORMED',
  ],
  [
    'header with a duplicate kid spelled with an escape',
    () =>
      forge({ header: { raw: b64('{"alg":"EdDSA","kid":"ed","typ":"at+jwt","\\u006bid":"ed"}') } }),
    'ERR_TOKEN_MALFORMED',
  ],
  [
    'payload not JSON (signed)',
    () => forge({ payload: { raw: b64('sub=user-1') } }),
    'ERR_TOKEN_MALFORMED',
  ],
  [
    'payload a JSON array (signed)',
    () => forge({ payload: { raw: json([claims()]) } }),
    'ERR_TOKEN_MALFORMED',
  ],
  [
    'payload with a duplicate sub (signed)',
    () =>
      forge({ payload: { raw: b64(JSON.stringify(claims()).replace('{', '{"sub":"admin",')) } }),
    'ERR_TOKEN_MALFORMED',
  ],
  [
    'payload with a duplicate name in a nested object (signed)',
    () =>
      forge({
        payload: { raw: b64(JSON.stringify(claims()).replace('{', '{"x":{"a":1,"a":2},')) },
      }),
    'ERR_TOKEN_MALFORMED',
  ],
  [
    'payload that is not UTF-8 (signed)',
    () =>
      forge({
        payload: {
          raw: b64(
            Buffer.concat([Buffer.from('{"sub":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
          ),
        },
      }),
    'ERR_TOKEN_MALFORMED',
  ],
  [
    'crit present',
    () => forge({ header: header('ed', { crit: ['exp'], exp: 1 }) }),
    'ERR_TOKEN_MALFORMED',
  ],
  [
    'b64:false with crit (RFC 7797)',
    () => forge({ header: header('ed', { b64: false, crit: ['b64'] }) }),
    'ERR_TOKEN_MALFORMED',
  ],

  // --- algorithm
  [
    'alg none, no signature',
    () => `${json({ alg: 'none', typ: 'at+jwt' })}.${json(claims())}.`,
    'ERR_TOKEN_ALG',
  ],
  [
    'alg NONE',
    () => `${json({ alg: 'NONE', kid: 'ed', typ: 'at+jwt' })}.${json(claims())}.`,
    'ERR_TOKEN_ALG',
  ],
  [
    'alg nOnE',
    () => `${json({ alg: 'nOnE', kid: 'ed', typ: 'at+jwt' })}.${json(claims())}.`,
    'ERR_TOKEN_ALG',
  ],
  [
    'alg none with a real kid and a signature',
    () => forge({ header: header('ed', { alg: 'none' }), signer: 'ed' }),
    'ERR_TOKEN_ALG',
  ],
  [
    'alg missing',
    () => forge({ header: { kid: 'ed', typ: 'at+jwt' }, signer: 'ed' }),
    'ERR_TOKEN_ALG',
  ],
  [
    'alg not a string',
    () => forge({ header: header('ed', { alg: ['EdDSA'] }), signer: 'ed' }),
    'ERR_TOKEN_ALG',
  ],
  [
    'alg confusion: HS256 keyed with the RSA public key (PEM) as the secret',
    () => {
      const pem = createPublicKey({ key: jwks.rs as JsonWebKey, format: 'jwk' }).export({
        type: 'spki',
        format: 'pem',
      });
      const secret = createSecretKey(Buffer.from(pem));
      return forge({
        header: header('rs', { alg: 'HS256' }),
        signer: { alg: 'HS256', key: secret },
      });
    },
    'ERR_TOKEN_ALG',
  ],
  [
    'alg confusion: HS256 keyed with the EdDSA public x as the secret',
    () => {
      const secret = createSecretKey(Buffer.from(jwks.ed!.x!, 'base64url'));
      return forge({
        header: header('ed', { alg: 'HS256' }),
        signer: { alg: 'HS256', key: secret },
      });
    },
    'ERR_TOKEN_ALG',
  ],
  [
    'alg of another ring key (RS256 header, ES256 kid)',
    () => forge({ header: header('es', { alg: 'RS256' }), signer: 'rs' }),
    'ERR_TOKEN_ALG',
  ],
  [
    'alg in another case (hs256)',
    () => forge({ header: header('hs', { alg: 'hs256' }) }),
    'ERR_TOKEN_ALG',
  ],
  [
    'alg HS512 for an HS256 key',
    () => forge({ header: header('hs', { alg: 'HS512' }) }),
    'ERR_TOKEN_ALG',
  ],

  // --- key id
  [
    'kid unknown',
    () => forge({ header: header('ed', { kid: 'nope' }), signer: 'ed' }),
    'ERR_TOKEN_KEY_UNKNOWN',
  ],
  [
    'kid missing',
    () => forge({ header: { alg: 'EdDSA', typ: 'at+jwt' }, signer: 'ed' }),
    'ERR_TOKEN_KEY_UNKNOWN',
  ],
  [
    'kid a number',
    () => forge({ header: header('ed', { kid: 1 }), signer: 'ed' }),
    'ERR_TOKEN_KEY_UNKNOWN',
  ],
  [
    'kid null',
    () => forge({ header: header('ed', { kid: null }), signer: 'ed' }),
    'ERR_TOKEN_KEY_UNKNOWN',
  ],
  [
    'kid an array of a real kid',
    () => forge({ header: header('ed', { kid: ['ed'] }), signer: 'ed' }),
    'ERR_TOKEN_KEY_UNKNOWN',
  ],
  [
    'kid __proto__',
    () => forge({ header: header('ed', { kid: '__proto__' }), signer: 'ed' }),
    'ERR_TOKEN_KEY_UNKNOWN',
  ],
  [
    'embedded jwk with the attacker key and an unknown kid',
    () => {
      const jwk = createPublicKey(strangerEs).export({ format: 'jwk' });
      return forge({
        header: header('es', { kid: 'attacker', jwk }),
        signer: { alg: 'ES256', key: strangerEs },
      });
    },
    'ERR_TOKEN_KEY_UNKNOWN',
  ],
  [
    'embedded jwk with the attacker key and a real kid',
    () => {
      const jwk = createPublicKey(strangerEs).export({ format: 'jwk' });
      return forge({ header: header('es', { jwk }), signer: { alg: 'ES256', key: strangerEs } });
    },
    'ERR_TOKEN_SIGNATURE',
  ],
  [
    'jku / x5u / x5c pointing at the attacker',
    () =>
      forge({
        header: header('es', {
          jku: 'https://evil.test/jwks',
          x5u: 'https://evil.test/c',
          x5c: ['AAAA'],
        }),
        signer: { alg: 'ES256', key: strangerEs },
      }),
    'ERR_TOKEN_SIGNATURE',
  ],

  // --- type
  ['typ JWT', () => forge({ header: header('ed', { typ: 'JWT' }) }), 'ERR_TOKEN_TYPE'],
  ['typ missing', () => forge({ header: { alg: 'EdDSA', kid: 'ed' } }), 'ERR_TOKEN_TYPE'],
  [
    'typ not a string',
    () => forge({ header: header('ed', { typ: ['at+jwt'] }) }),
    'ERR_TOKEN_TYPE',
  ],
  [
    'typ application/jwt',
    () => forge({ header: header('ed', { typ: 'application/jwt' }) }),
    'ERR_TOKEN_TYPE',
  ],
  [
    'typ AT+JWT (case-insensitive)',
    () => forge({ header: header('ed', { typ: 'AT+JWT' }) }),
    'VALID',
  ],
  [
    'typ application/at+jwt',
    () => forge({ header: header('ed', { typ: 'application/at+jwt' }) }),
    'VALID',
  ],

  // --- signature
  [
    'signature of another key under the same kid',
    () => forge({ header: header('es'), signer: { alg: 'ES256', key: strangerEs } }),
    'ERR_TOKEN_SIGNATURE',
  ],
  [
    'signature of another ring key (same payload)',
    () => withPart(forge(), 2, () => forge({ header: header('es') }).split('.')[2]!),
    'ERR_TOKEN_SIGNATURE',
  ],
  [
    'payload changed after signing',
    () => {
      const token = forge();
      return withPart(token, 1, () => json(claims({ sub: 'admin' })));
    },
    'ERR_TOKEN_SIGNATURE',
  ],
  [
    'one signature bit flipped',
    () => withPart(forge(), 2, (s) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1)),
    'ERR_TOKEN_SIGNATURE',
  ],
  [
    'HS256 signature truncated to 16 bytes',
    () => withPart(forge({ header: header('hs') }), 2, (s) => s.slice(0, 22).replace(/.$/, 'A')),
    'ERR_TOKEN_SIGNATURE',
  ],
  [
    'ES256 signature in DER form (valid, wrong encoding)',
    () => {
      const token = forge({ header: header('es') });
      const input = token.slice(0, token.lastIndexOf('.'));
      const der = sign('sha256', Buffer.from(input), { key: privateKeys.es!, dsaEncoding: 'der' });
      return `${input}.${b64(der)}`;
    },
    'ERR_TOKEN_SIGNATURE',
  ],
  [
    'RS256 signature with a leading zero byte',
    () =>
      withPart(forge({ header: header('rs') }), 2, (s) =>
        b64(Buffer.concat([Buffer.alloc(1), Buffer.from(s, 'base64url')])),
      ),
    'ERR_TOKEN_SIGNATURE',
  ],

  // --- claims
  ['iss wrong', () => forge({ payload: claims({ iss: 'https://evil.test' }) }), 'ERR_TOKEN_CLAIM'],
  ['iss missing', () => forge({ payload: claims({ iss: undefined }) }), 'ERR_TOKEN_CLAIM'],
  [
    'iss with a trailing slash',
    () => forge({ payload: claims({ iss: `${ISS}/` }) }),
    'ERR_TOKEN_CLAIM',
  ],
  ['aud wrong', () => forge({ payload: claims({ aud: 'other' }) }), 'ERR_TOKEN_CLAIM'],
  ['aud missing', () => forge({ payload: claims({ aud: undefined }) }), 'ERR_TOKEN_CLAIM'],
  [
    'aud array with an allowed value',
    () => forge({ payload: claims({ aud: ['other', 'admin'] }) }),
    'VALID',
  ],
  [
    'aud array without an allowed value',
    () => forge({ payload: claims({ aud: ['other', 'x'] }) }),
    'ERR_TOKEN_CLAIM',
  ],
  [
    'aud array holding a non-string',
    () => forge({ payload: claims({ aud: ['api', 1] }) }),
    'ERR_TOKEN_CLAIM',
  ],
  ['aud empty array', () => forge({ payload: claims({ aud: [] }) }), 'ERR_TOKEN_CLAIM'],
  ['sub empty', () => forge({ payload: claims({ sub: '' }) }), 'ERR_TOKEN_CLAIM'],
  ['sub a number', () => forge({ payload: claims({ sub: 1 }) }), 'ERR_TOKEN_CLAIM'],
  ['exp a string', () => forge({ payload: claims({ exp: String(NOW + 300) }) }), 'ERR_TOKEN_CLAIM'],
  ['iat a string', () => forge({ payload: claims({ iat: String(NOW) }) }), 'ERR_TOKEN_CLAIM'],
  ['iat a float', () => forge({ payload: claims({ iat: NOW + 0.5 }) }), 'ERR_TOKEN_CLAIM'],
  ['exp a float', () => forge({ payload: claims({ exp: NOW + 299.5 }) }), 'ERR_TOKEN_CLAIM'],
  [
    'exp null (NaN serialises as null)',
    () => forge({ payload: claims({ exp: Number.NaN }) }),
    'ERR_TOKEN_CLAIM',
  ],
  ['exp "NaN"', () => forge({ payload: claims({ exp: 'NaN' }) }), 'ERR_TOKEN_CLAIM'],
  [
    'exp huge (1e300)',
    () =>
      forge({
        payload: {
          raw: b64(JSON.stringify(claims()).replace(`"exp":${NOW + 300}`, '"exp":1e300')),
        },
      }),
    'ERR_TOKEN_CLAIM',
  ],
  [
    'exp 2^53 (not a safe integer)',
    () => forge({ payload: claims({ exp: 2 ** 53 }) }),
    'ERR_TOKEN_CLAIM',
  ],
  ['exp negative', () => forge({ payload: claims({ iat: -300, exp: -1 }) }), 'ERR_TOKEN_CLAIM'],
  ['exp missing', () => forge({ payload: claims({ exp: undefined }) }), 'ERR_TOKEN_CLAIM'],
  ['iat missing', () => forge({ payload: claims({ iat: undefined }) }), 'ERR_TOKEN_CLAIM'],
  ['nbf a string', () => forge({ payload: claims({ nbf: String(NOW) }) }), 'ERR_TOKEN_CLAIM'],
  ['lifetime ttl + 1', () => forge({ payload: claims({ exp: NOW + 301 }) }), 'ERR_TOKEN_CLAIM'],
  ['lifetime exactly ttl', () => forge({ payload: claims({ exp: NOW + 300 }) }), 'VALID'],
  ['exp equal to iat', () => forge({ payload: claims({ exp: NOW }) }), 'ERR_TOKEN_CLAIM'],
  ['jti missing', () => forge({ payload: claims({ jti: undefined }) }), 'ERR_TOKEN_CLAIM'],
  ['jti empty', () => forge({ payload: claims({ jti: '' }) }), 'ERR_TOKEN_CLAIM'],
  ['jti a number', () => forge({ payload: claims({ jti: 7 }) }), 'ERR_TOKEN_CLAIM'],
  ['sid not a string', () => forge({ payload: claims({ sid: 7 }) }), 'ERR_TOKEN_CLAIM'],

  // --- time, with the 30 s tolerance
  [
    'iat 31 s in the future',
    () => forge({ payload: claims({ iat: NOW + 31, exp: NOW + 331 }) }),
    'ERR_TOKEN_NOT_YET_VALID',
  ],
  [
    'iat 30 s in the future (within tolerance)',
    () => forge({ payload: claims({ iat: NOW + 30, exp: NOW + 330 }) }),
    'VALID',
  ],
  [
    'nbf 31 s in the future',
    () => forge({ payload: claims({ nbf: NOW + 31 }) }),
    'ERR_TOKEN_NOT_YET_VALID',
  ],
  [
    'nbf 30 s in the future (within tolerance)',
    () => forge({ payload: claims({ nbf: NOW + 30 }) }),
    'VALID',
  ],
  [
    'exp 30 s ago (tolerance used up)',
    () => forge({ payload: claims({ iat: NOW - 300, exp: NOW - 30 }) }),
    'ERR_TOKEN_EXPIRED',
  ],
  [
    'exp 29 s ago (within tolerance)',
    () => forge({ payload: claims({ iat: NOW - 299, exp: NOW - 29 }) }),
    'VALID',
  ],
  [
    'expired long ago',
    () => forge({ payload: claims({ iat: 1_300_819_080, exp: 1_300_819_380 }) }),
    'ERR_TOKEN_EXPIRED',
  ],
  [
    'expired and a wrong iss: the claim rule comes first',
    () => forge({ payload: claims({ iss: 'x', iat: 1, exp: 2 }) }),
    'ERR_TOKEN_CLAIM',
  ],

  // --- revocation (checked last)
  ['revoked jti', () => forge({ payload: claims({ jti: 'revoked-jti' }) }), 'ERR_TOKEN_REVOKED'],
  [
    'revoked jti but expired: expiry comes first',
    () => forge({ payload: claims({ jti: 'revoked-jti', iat: 1, exp: 2 }) }),
    'ERR_TOKEN_EXPIRED',
  ],
];

describe('tokens.verify refuses malformed and malicious tokens with the exact code', () => {
  it('has at least 30 refusal cases', () => {
    expect(cases.filter(([, , code]) => code !== 'VALID').length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases.map(([name, make, code]) => ({ name, make, code })))(
    '$name → $code',
    async ({ make, code }) => {
      expect(await codeOf(make())).toBe(code);
    },
  );
  it('accepts a token of exactly 8 KiB and refuses one character more', async () => {
    // Base64url lengths skip one residue mod 4, so vary both the header and the payload.
    const base = forge({ payload: claims({ pad: '' }) }).length;
    const guess = Math.floor(((8192 - base) * 3) / 4);
    let token = '';
    search: for (let m = 0; m < 4; m++) {
      for (let n = guess - 8; n < guess + 8; n++) {
        token = forge({
          header: header('ed', { x: 'y'.repeat(m) }),
          payload: claims({ pad: 'x'.repeat(n) }),
        });
        if (token.length === 8192) break search;
      }
    }
    expect(token).toHaveLength(8192);
    expect(await codeOf(token)).toBe('VALID');
    expect(await codeOf(`${token}A`)).toBe('ERR_TOKEN_TOO_LARGE');
  });

  it('refuses an empty header as the very first token a verifier sees', async () => {
    const fresh = createAccessTokens({ keys: [jwks.ed!], issuer: ISS, audience: 'api' });
    await expect(fresh.verify('.e30.AAAA')).rejects.toMatchObject({ code: 'ERR_TOKEN_MALFORMED' });
    await expect(fresh.verify('..')).rejects.toMatchObject({ code: 'ERR_TOKEN_MALFORMED' });
  });

  it('keeps refusing a header it once accepted after its key is retired', async () => {
    const ring = createKeyring({ keys: [jwks.ed!, jwks.es!] });
    const fresh = createAccessTokens({
      keys: ring,
      issuer: ISS,
      audience: 'api',
      now: () => NOW_MS,
    });
    const token = forge({ header: header('es') });
    expect(await fresh.verify(token)).toMatchObject({ sub: 'user-1' });
    ring.retire('es');
    await expect(fresh.verify(token)).rejects.toMatchObject({ code: 'ERR_TOKEN_KEY_UNKNOWN' });
  });

  it('never answers with a key taken from the token, whatever the header carries', async () => {
    const token = forge({
      header: header('ed', { jwk: createPublicKey(strangerEs).export({ format: 'jwk' }) }),
    });
    expect(await codeOf(token)).toBe('VALID');
  });
});
