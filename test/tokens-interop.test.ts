/**
 * Interoperability with jose, the reference JOSE library: tokens Tessera signs verify with
 * jose (through the published JWKS for the asymmetric keys), and access tokens jose signs
 * with the same key verify with Tessera. Both directions, every algorithm.
 */
import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, importJWK, type JWK, jwtVerify, SignJWT } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createAccessTokens,
  generateKey,
  type TokenAlg,
} from '../packages/session/src/tokens/index.js';
import {
  call,
  postJson,
  type StartedService,
  startServiceProcess,
  tempDir,
} from './support/service.js';

const ISSUER = 'https://auth.example';
const AUDIENCE = 'https://api.example';
const ALGS: TokenAlg[] = ['EdDSA', 'ES256', 'RS256', 'HS256'];

describe.each(ALGS)('%s with jose', (alg) => {
  it('Tessera signs, jose verifies (typ, iss, aud, claims)', async () => {
    const jwk = await generateKey(alg, { kid: `k-${alg}` });
    const tokens = createAccessTokens({ keys: [jwk], issuer: ISSUER, audience: AUDIENCE });
    const token = await tokens.sign({ sub: 'alice', sid: 'handle-1', role: 'admin' });
    const key =
      alg === 'HS256'
        ? await importJWK(jwk, alg)
        : createLocalJWKSet(tokens.jwks() as { keys: JWK[] });
    const { payload, protectedHeader } = await jwtVerify(token, key as never, {
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: 'at+jwt',
      algorithms: [alg],
    });
    expect(protectedHeader).toMatchObject({ alg, kid: `k-${alg}`, typ: 'at+jwt' });
    expect(payload).toMatchObject({ sub: 'alice', sid: 'handle-1', role: 'admin' });
    expect(typeof payload.jti).toBe('string');
    expect(payload.exp! - payload.iat!).toBe(300);
  });

  it('jose signs an at+jwt access token with the same key, Tessera verifies it', async () => {
    const jwk = await generateKey(alg, { kid: `k-${alg}` });
    const tokens = createAccessTokens({ keys: [jwk], issuer: ISSUER, audience: AUDIENCE });
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ scope: 'read' })
      .setProtectedHeader({ alg, kid: `k-${alg}`, typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('bob')
      .setIssuedAt(now)
      .setExpirationTime(now + 120)
      .setJti(randomUUID())
      .sign(await importJWK(jwk, alg));
    const claims = await tokens.verify(token);
    expect(claims).toMatchObject({ sub: 'bob', scope: 'read', iss: ISSUER });
    // And a plain JWT (typ JWT) from jose is not taken for an access token.
    const plain = await new SignJWT({})
      .setProtectedHeader({ alg, kid: `k-${alg}`, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('bob')
      .setIssuedAt(now)
      .setExpirationTime(now + 120)
      .setJti(randomUUID())
      .sign(await importJWK(jwk, alg));
    await expect(tokens.verify(plain)).rejects.toMatchObject({ code: 'ERR_TOKEN_TYPE' });
  });
});

describe('the service’s JWKS with jose', () => {
  let service: StartedService | undefined;
  afterAll(async () => {
    await service?.stop();
  });

  it('verifies the service’s access tokens with jose and the published JWKS', async () => {
    service = await startServiceProcess(['--demo', '--store', `sqlite:${tempDir()}/t.db`]);
    const jwks = (await (await call(`${service.url}/.well-known/jwks.json`)).json()) as {
      keys: JWK[];
    };
    for (const key of jwks.keys) {
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'])
        expect(key).not.toHaveProperty(member);
    }
    const pair = (await (
      await postJson(`${service.url}/api/token`, { username: 'alice', password: 'alice-password' })
    ).json()) as { access_token: string; session_id: string };
    const { payload } = await jwtVerify(pair.access_token, createLocalJWKSet(jwks), {
      typ: 'at+jwt',
    });
    expect(payload).toMatchObject({ sub: 'alice', sid: pair.session_id });
  });
});
