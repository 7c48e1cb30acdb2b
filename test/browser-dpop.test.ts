/**
 * `tessera-session/client` with `dpop: true` in a real Chromium against the running service
 * (spawned `tessera serve`, server nonces on): the key is a non-extractable WebCrypto key kept
 * in IndexedDB, sign-in and API calls carry proofs (the first `use_dpop_nonce` answer is
 * retried with the nonce), the refresh cookie is bound to the key, a reload keeps the key,
 * and the access token copied out of the page is refused from a second client.
 */
import { join } from 'node:path';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/browser.js';
import { makeProof, newProofKey } from './support/dpop.js';
import { ROOT, type StartedService, startServiceProcess, tempDir } from './support/service.js';

let service: StartedService;
let browser: Browser;
let clientBundle: string;

beforeAll(async () => {
  const bundled = await build({
    entryPoints: [join(ROOT, 'packages/session/src/client/index.ts')],
    bundle: true,
    format: 'iife',
    globalName: 'TesseraClient',
    platform: 'browser',
    target: 'es2022',
    write: false,
  });
  clientBundle = bundled.outputFiles[0]!.text;
  service = await startServiceProcess(
    ['--demo', '--store', `sqlite:${join(tempDir(), 'tessera.db')}`],
    { TESSERA_DPOP_NONCE: '1' },
  );
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await service?.stop();
});

/** A page on the service's origin with the client loaded (the service's CSP forbids inline scripts). */
async function clientPage(): Promise<Page> {
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  await page.goto(`${service.url}/healthz`);
  await page.addScriptTag({ content: clientBundle });
  return page;
}

/** What the bundle puts on the page's global object. */
type PageGlobal = { TesseraClient: typeof import('tessera-session/client') };

function claimsOf(token: string): { cnf?: { jkt?: string } } {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}

describe('tessera-session/client with dpop: true in Chromium', () => {
  it('signs in with a non-extractable key in IndexedDB, calls the API with proofs, refreshes, survives a reload', async () => {
    const page = await clientPage();
    const first = await page.evaluate(async () => {
      const { createClient } = (globalThis as unknown as PageGlobal).TesseraClient;
      const api = createClient({ dpop: true });
      const signIn = await api.signIn({ username: 'alice', password: 'alice-password' });
      const body = await signIn.json();
      const me = await api.fetch('/api/me');
      const meBody = await me.json();
      // The key as IndexedDB holds it: a CryptoKey pair whose private half cannot be exported.
      const pair: CryptoKeyPair = await new Promise((resolve, reject) => {
        const open = indexedDB.open('tessera-dpop');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const get = open.result.transaction('keys').objectStore('keys').get('tessera.tokens');
          get.onsuccess = () => resolve(get.result);
          get.onerror = () => reject(get.error);
        };
      });
      let exported = 'exported';
      try {
        await crypto.subtle.exportKey('jwk', pair.privateKey);
      } catch (error) {
        exported = (error as Error).name;
      }
      const refreshed = await api.refresh();
      const afterRefresh = await api.fetch('/api/me');
      return {
        signInStatus: signIn.status,
        tokenType: body.token_type,
        refreshInBody: 'refresh_token' in body,
        access: api.getAccessToken() as string,
        firstAccess: body.access_token as string,
        meStatus: me.status,
        user: meBody.username,
        extractable: pair.privateKey.extractable,
        algorithm: (pair.privateKey.algorithm as EcKeyAlgorithm).namedCurve,
        exported,
        refreshed: typeof refreshed === 'string' && refreshed !== body.access_token,
        afterRefresh: afterRefresh.status,
      };
    });
    expect(first).toMatchObject({
      signInStatus: 200,
      tokenType: 'DPoP',
      refreshInBody: false,
      meStatus: 200,
      user: 'alice',
      extractable: false,
      algorithm: 'P-256',
      exported: 'InvalidAccessError',
      refreshed: true,
      afterRefresh: 200,
    });
    const jkt = claimsOf(first.access).cnf?.jkt;
    expect(jkt).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(claimsOf(first.firstAccess).cnf?.jkt).toBe(jkt);

    // The token copied out of the page, replayed from a second client (Node), is refused.
    const meUrl = `${service.url}/api/me`;
    const asBearer = await fetch(meUrl, { headers: { authorization: `Bearer ${first.access}` } });
    expect(asBearer.status).toBe(401);
    const thief = newProofKey('ES256');
    const withOwnKey = await fetch(meUrl, {
      headers: {
        authorization: `DPoP ${first.access}`,
        dpop: makeProof(thief, { method: 'GET', url: meUrl, accessToken: first.access }),
      },
    });
    expect(withOwnKey.status).toBe(401);

    // A reload keeps the key (IndexedDB): a new client signs in bound to the same thumbprint.
    await page.reload();
    await page.addScriptTag({ content: clientBundle });
    const again = await page.evaluate(async () => {
      const { createClient } = (globalThis as unknown as PageGlobal).TesseraClient;
      const api = createClient({ dpop: true });
      const res = await api.signIn({ username: 'alice', password: 'alice-password' });
      return { status: res.status, access: api.getAccessToken() as string };
    });
    expect(again.status).toBe(200);
    expect(claimsOf(again.access).cnf?.jkt).toBe(jkt);
    await page.context().close();
  });
});
