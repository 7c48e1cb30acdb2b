/**
 * DPoP (RFC 9449) in the reference service, started in-process on a memory store: sign-in
 * and refresh with a `DPoP` proof issue key-bound tokens (`token_type: "DPoP"`), the API
 * accepts them only with a proof by that key, a stolen access or refresh token fails from a
 * second client, and the TESSERA_REQUIRE_DPOP / TESSERA_DPOP_NONCE settings.
 */
import { Writable } from 'node:stream';
import { jwkThumbprint } from 'tessera-session/tokens';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveServiceConfig } from '../packages/server/src/service/config.js';
import { type RunningService, startService } from '../packages/server/src/service/serve.js';
import { makeProof, newProofKey, type ProofKey } from './support/dpop.js';
import { postJson, tempDir } from './support/service.js';

const running: RunningService[] = [];
const quiet = new Writable({ write: (_c, _e, done) => done() });

async function start(env: Record<string, string> = {}, store = 'memory:'): Promise<string> {
  const config = resolveServiceConfig(
    { port: '0', store, demo: true },
    { TESSERA_LOG_LEVEL: 'silent', ...env },
  );
  const service = await startService(config, { logDestination: quiet });
  running.push(service);
  return service.url;
}

afterEach(async () => {
  for (const service of running.splice(0)) await service.close();
});

interface Pair {
  access_token: string;
  token_type: string;
  refresh_token: string;
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}

async function signIn(url: string, key: ProofKey | null, nonce?: string): Promise<Response> {
  const headers: Record<string, string> = key
    ? { dpop: makeProof(key, { method: 'POST', url: `${url}/api/token`, nonce }) }
    : {};
  return postJson(`${url}/api/token`, { username: 'alice', password: 'alice-password' }, headers);
}

function refreshWith(url: string, refreshToken: string, key: ProofKey | null): Promise<Response> {
  const headers: Record<string, string> = key
    ? { dpop: makeProof(key, { method: 'POST', url: `${url}/api/token/refresh` }) }
    : {};
  return postJson(`${url}/api/token/refresh`, { refresh_token: refreshToken }, headers);
}

function me(url: string, token: string, key: ProofKey | null, nonce?: string): Promise<Response> {
  const headers: Record<string, string> = key
    ? {
        authorization: `DPoP ${token}`,
        dpop: makeProof(key, { method: 'GET', url: `${url}/api/me`, accessToken: token, nonce }),
      }
    : { authorization: `Bearer ${token}` };
  return fetch(`${url}/api/me`, { headers });
}

describe('the service with DPoP', () => {
  it('issues tokens bound to the proof key, serves them only with a proof of that key', async () => {
    const url = await start();
    const client = newProofKey('ES256');
    const res = await signIn(url, client);
    expect(res.status).toBe(200);
    const pair = (await res.json()) as Pair;
    expect(pair.token_type).toBe('DPoP');
    expect(claimsOf(pair.access_token).cnf).toEqual({ jkt: jwkThumbprint(client.jwk) });

    const ok = await me(url, pair.access_token, client);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { username: string }).username).toBe('alice');

    // The stolen token from a second client: as Bearer, with the thief's key, with a copied proof.
    const asBearer = await me(url, pair.access_token, null);
    expect(asBearer.status).toBe(401);
    expect(asBearer.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    const thief = await me(url, pair.access_token, newProofKey('EdDSA'));
    expect(thief.status).toBe(401);
    expect(thief.headers.get('www-authenticate')).toMatch(/DPoP error="invalid_token"/);
    const proof = makeProof(client, {
      method: 'GET',
      url: `${url}/api/me`,
      accessToken: pair.access_token,
    });
    const headers = { authorization: `DPoP ${pair.access_token}`, dpop: proof };
    expect((await fetch(`${url}/api/me`, { headers })).status).toBe(200);
    const copied = await fetch(`${url}/api/me`, { headers });
    expect(copied.status).toBe(401);
    expect(((await copied.json()) as { error: string }).error).toBe('invalid_dpop_proof');
    expect(copied.headers.get('www-authenticate')).toMatch(/, DPoP error="invalid_dpop_proof"/);
  });

  it('rotates a bound refresh token with the same key; another key or none revokes the session', async () => {
    const url = await start();
    const client = newProofKey('ES256');
    const pair = (await (await signIn(url, client)).json()) as Pair;
    const rotated = await refreshWith(url, pair.refresh_token, client);
    expect(rotated.status).toBe(200);
    const next = (await rotated.json()) as Pair;
    expect(next.token_type).toBe('DPoP');
    expect(claimsOf(next.access_token).cnf).toEqual({ jkt: jwkThumbprint(client.jwk) });

    for (const thief of [newProofKey('ES256'), null]) {
      const victim = (await (await signIn(url, client)).json()) as Pair;
      const stolen = await refreshWith(url, victim.refresh_token, thief);
      expect(stolen.status).toBe(401);
      expect(((await stolen.json()) as { error: string }).error).toBe('invalid_grant');
      // Reuse ends the session: the rightful client's tokens stop working too.
      expect((await refreshWith(url, victim.refresh_token, client)).status).toBe(401);
      expect((await me(url, victim.access_token, client)).status).toBe(401);
    }
  });

  it('answers a bad proof at the token endpoint with 400 invalid_dpop_proof and issues nothing', async () => {
    const url = await start();
    const client = newProofKey('ES256');
    const wrongUrl = await postJson(
      `${url}/api/token`,
      { username: 'alice', password: 'alice-password' },
      { dpop: makeProof(client, { method: 'POST', url: `${url}/api/other` }) },
    );
    expect(wrongUrl.status).toBe(400);
    expect(((await wrongUrl.json()) as { error: string }).error).toBe('invalid_dpop_proof');
    const stale = await postJson(
      `${url}/api/token`,
      { username: 'alice', password: 'alice-password' },
      {
        dpop: makeProof(client, {
          method: 'POST',
          url: `${url}/api/token`,
          iat: Math.floor(Date.now() / 1000) - 600,
        }),
      },
    );
    expect(stale.status).toBe(400);
    // Without a proof the service still issues plain Bearer tokens (DPoP not required).
    const plain = (await (await signIn(url, null)).json()) as Pair;
    expect(plain.token_type).toBe('Bearer');
    expect((await me(url, plain.access_token, null)).status).toBe(200);
  });

  it('TESSERA_REQUIRE_DPOP=1 refuses unbound issuance and Bearer tokens', async () => {
    const url = await start({ TESSERA_REQUIRE_DPOP: '1' });
    const refused = await signIn(url, null);
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: string }).error).toBe('invalid_dpop_proof');
    const client = newProofKey('EdDSA');
    const pair = (await (await signIn(url, client)).json()) as Pair;
    expect((await me(url, pair.access_token, client)).status).toBe(200);
    expect((await refreshWith(url, pair.refresh_token, null)).status).toBe(400);
  });

  it('TESSERA_DPOP_NONCE=1 answers use_dpop_nonce with a DPoP-Nonce, then accepts proofs carrying it', async () => {
    const url = await start({ TESSERA_DPOP_NONCE: '1' });
    const client = newProofKey('ES256');
    const first = await signIn(url, client);
    expect(first.status).toBe(400);
    expect(((await first.json()) as { error: string }).error).toBe('use_dpop_nonce');
    const nonce = first.headers.get('dpop-nonce') ?? '';
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{30}$/);
    const second = await signIn(url, client, nonce);
    expect(second.status).toBe(200);
    expect(second.headers.get('dpop-nonce')).toMatch(/^[A-Za-z0-9_-]{30}$/);
    const pair = (await second.json()) as Pair;
    const noNonce = await me(url, pair.access_token, client);
    expect(noNonce.status).toBe(401);
    expect(noNonce.headers.get('www-authenticate')).toMatch(/DPoP error="use_dpop_nonce"/);
    const fresh = noNonce.headers.get('dpop-nonce') ?? '';
    expect((await me(url, pair.access_token, client, fresh)).status).toBe(200);
  });

  it('shares the replay cache between instances on one store: a proof used at one is refused at the other', async () => {
    const store = `sqlite:${tempDir()}/tessera.db`;
    const origin = { TESSERA_ORIGIN: 'https://auth.test' };
    const a = await start(origin, store);
    const b = await start(origin, store);
    const client = newProofKey('ES256');
    const signedIn = await postJson(
      `${a}/api/token`,
      { username: 'alice', password: 'alice-password' },
      { dpop: makeProof(client, { method: 'POST', url: 'https://auth.test/api/token' }) },
    );
    const pair = (await signedIn.json()) as Pair;
    const headers = () => ({
      authorization: `DPoP ${pair.access_token}`,
      dpop: makeProof(client, {
        method: 'GET',
        url: 'https://auth.test/api/me',
        accessToken: pair.access_token,
      }),
    });
    const once = headers();
    expect((await fetch(`${a}/api/me`, { headers: once })).status).toBe(200);
    const replayed = await fetch(`${b}/api/me`, { headers: once });
    expect(replayed.status).toBe(401);
    expect(((await replayed.json()) as { error: string }).error).toBe('invalid_dpop_proof');
    expect((await fetch(`${b}/api/me`, { headers: headers() })).status).toBe(200);
  });

  it('refuses DPoP settings other than on or off', () => {
    expect(() => resolveServiceConfig({}, { TESSERA_REQUIRE_DPOP: 'maybe' })).toThrow(
      /TESSERA_REQUIRE_DPOP must be 1 or 0/,
    );
  });
});
