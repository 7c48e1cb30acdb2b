import { describe, expect, it } from 'vitest';
import { verifyDpopProof } from '../tokens/dpop-proof.js';
import { createClient } from './index.js';

const API = 'https://app.example';

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/**
 * A fake service that checks every proof with the library's verifier, asks for a nonce once
 * at the token endpoint and once on the API, and issues `token_type` as configured.
 */
function fakeServer(tokenType: 'DPoP' | 'Bearer') {
  const seen = { proofs: 0, nonceAsked: 0, jkts: new Set<string>(), auth: [] as string[] };
  let nonce = 'n-1';
  async function fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const proof = request.headers.get('dpop');
    const checked =
      proof === null
        ? null
        : verifyDpopProof(proof, {
            method: request.method,
            url: request.url,
            ...(url.pathname === '/api/me' ? { accessToken: 'at-1' } : {}),
          });
    if (checked) {
      seen.proofs++;
      seen.jkts.add(checked.jkt);
    }
    if (url.pathname === '/api/token') {
      if (checked?.nonce !== nonce) {
        seen.nonceAsked++;
        return json(400, { error: 'use_dpop_nonce' }, { 'dpop-nonce': nonce });
      }
      return json(200, { access_token: 'at-1', token_type: tokenType, expires_in: 300 });
    }
    seen.auth.push(request.headers.get('authorization') ?? '');
    if (tokenType === 'DPoP') {
      if (checked === null || request.headers.get('authorization') !== 'DPoP at-1') {
        return json(401, { error: 'invalid_dpop_proof' });
      }
      if (seen.nonceAsked === 1) {
        // The server rotates its nonce: the client retries once with the new one.
        nonce = 'n-2';
        seen.nonceAsked++;
        return json(
          401,
          { error: 'use_dpop_nonce' },
          { 'www-authenticate': 'DPoP error="use_dpop_nonce"', 'dpop-nonce': nonce },
        );
      }
      if (checked.nonce !== nonce) return json(401, { error: 'use_dpop_nonce' });
    }
    return json(200, { ok: true });
  }
  return { seen, fetch };
}

describe('client with dpop: true', () => {
  it('signs in and calls the API with proofs of one key, retrying once on use_dpop_nonce', async () => {
    const server = fakeServer('DPoP');
    // Node has no IndexedDB: the key lives in memory.
    const api = createClient({ baseUrl: API, dpop: true, fetch: server.fetch });
    expect((await api.signIn({ username: 'a', password: 'b' })).status).toBe(200);
    const res = await api.fetch('/api/me?x=1');
    expect(res.status).toBe(200);
    expect(server.seen.auth.at(-1)).toBe('DPoP at-1');
    // sign-in twice (nonce), /api/me twice (nonce rotated), all by the same key.
    expect(server.seen.proofs).toBe(4);
    expect(server.seen.jkts.size).toBe(1);
  });

  it('sends a Bearer token when the server did not bind it, and no proof without dpop', async () => {
    const server = fakeServer('Bearer');
    const api = createClient({ baseUrl: API, dpop: true, fetch: server.fetch });
    await api.signIn({ username: 'a', password: 'b' });
    await api.fetch('/api/me');
    expect(server.seen.auth.at(-1)).toBe('Bearer at-1');

    const plain = fakeServer('Bearer');
    const noDpop = createClient({ baseUrl: API, fetch: plain.fetch });
    expect((await noDpop.signIn({ username: 'a', password: 'b' })).status).toBe(400);
    expect(plain.seen.proofs).toBe(0);
  });

  it('refuses a dpop option that is not a boolean', () => {
    expect(() => createClient({ baseUrl: API, dpop: 'yes' as never })).toThrow(/dpop/);
  });
});
