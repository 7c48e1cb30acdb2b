import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../stores/memory/index.js';
import type { Store } from '../stores/store.js';
import { createAccessTokens } from './access-tokens.js';
import { KEY_NAMESPACE, loadKeyring, reloadKeyring, saveKeyring } from './key-storage.js';
import { createKeyring, generateKey } from './keyring.js';

async function makeStore(): Promise<Store> {
  return createMemoryStore();
}

const base = { issuer: 'https://auth.test', audience: 'api' };
const PRIVATE = /"(d|p|q|dp|dq|qi|k)":/;
const masterKey = randomBytes(32);
let ed: Awaited<ReturnType<typeof generateKey>>;
let hs: Awaited<ReturnType<typeof generateKey>>;
let rs: Awaited<ReturnType<typeof generateKey>>;

beforeAll(async () => {
  ed = await generateKey('EdDSA', { kid: 'ed-1' });
  hs = await generateKey('HS256', { kid: 'hs-1' });
  rs = await generateKey('RS256', { kid: 'rs-1' });
});

describe('saveKeyring / loadKeyring', () => {
  it('round-trips every key; tokens signed before a restart verify after it', async () => {
    const store = await makeStore();
    const ring = createKeyring({ keys: [ed, hs, rs] });
    const before = createAccessTokens({ ...base, keys: ring });
    const token = await before.sign({ sub: 'u' });
    await saveKeyring(store, ring);

    const loaded = await loadKeyring(store);
    expect(loaded.activeKid).toBe('ed-1');
    expect(
      loaded
        .list()
        .map((k) => k.kid)
        .sort(),
    ).toEqual(['ed-1', 'hs-1', 'rs-1']);
    const after = createAccessTokens({ ...base, keys: loaded });
    await expect(after.verify(token)).resolves.toMatchObject({ sub: 'u' });
    await expect(before.verify(await after.sign({ sub: 'v' }))).resolves.toMatchObject({
      sub: 'v',
    });
  });

  it('with a master key, stores no private member in the clear', async () => {
    const store = await makeStore();
    await saveKeyring(store, createKeyring({ keys: [ed, hs, rs] }), { masterKey });
    const raw = JSON.stringify(await store.kvList(KEY_NAMESPACE));
    expect(raw).not.toMatch(PRIVATE);
    expect(raw).not.toContain(hs.k);
    expect(raw).not.toContain(ed.d);
    const loaded = await loadKeyring(store, { masterKey: masterKey.toString('base64') });
    expect(loaded.activeKid).toBe('ed-1');
    expect(loaded.list().every((k) => k.canSign)).toBe(true);
  });

  it('without a master key, stores private members as they are (documented)', async () => {
    const store = await makeStore();
    await saveKeyring(store, createKeyring({ keys: [hs] }));
    expect(JSON.stringify(await store.kvList(KEY_NAMESPACE))).toContain(hs.k);
  });

  it('refuses a wrong or missing master key with a clear ERR_CONFIG', async () => {
    const store = await makeStore();
    await saveKeyring(store, createKeyring({ keys: [ed] }), { masterKey });
    await expect(loadKeyring(store, { masterKey: randomBytes(32) })).rejects.toMatchObject({
      code: 'ERR_CONFIG',
      message: expect.stringMatching(/masterKey does not decrypt/),
    });
    await expect(loadKeyring(store)).rejects.toMatchObject({
      code: 'ERR_CONFIG',
      message: expect.stringMatching(/pass the masterKey/),
    });
    await expect(loadKeyring(store, { masterKey: randomBytes(16) })).rejects.toMatchObject({
      code: 'ERR_CONFIG',
      message: expect.stringMatching(/32 bytes/),
    });
  });

  it('binds a sealed secret to its kid: moved to another entry, it does not open', async () => {
    const store = await makeStore();
    const other = await generateKey('EdDSA', { kid: 'ed-2' });
    await saveKeyring(store, createKeyring({ keys: [ed, other] }), { masterKey });
    const first = (await store.kvGet(KEY_NAMESPACE, 'ed-1')) as { secret: unknown };
    const second = (await store.kvGet(KEY_NAMESPACE, 'ed-2')) as { secret: unknown };
    await store.kvSet(KEY_NAMESPACE, 'ed-2', { ...second, secret: first.secret }, null);
    await expect(loadKeyring(store, { masterKey })).rejects.toMatchObject({ code: 'ERR_CONFIG' });
  });

  it('persists a retirement', async () => {
    const store = await makeStore();
    let now = 1_000;
    const ring = createKeyring({ keys: [ed], now: () => now });
    now = 2_000;
    ring.rotate(rs);
    await saveKeyring(store, ring);
    ring.retire('ed-1');
    await saveKeyring(store, ring);
    const loaded = await loadKeyring(store);
    expect(loaded.list().map((k) => k.kid)).toEqual(['rs-1']);
  });
});

describe('rotation by another process', () => {
  it('a running service picks up the new active key on reload; old tokens keep verifying', async () => {
    const store = await makeStore();
    let now = 1_000;
    const clock = () => now;
    // Service: first start, generates and saves its key.
    const serviceRing = createKeyring({ keys: [ed], now: clock });
    await saveKeyring(store, serviceRing, { masterKey });
    const service = createAccessTokens({ ...base, keys: serviceRing });
    const oldToken = await service.sign({ sub: 'u' });

    // `tessera keys rotate`, another process: load, rotate, save.
    now = 5_000;
    const cliRing = await loadKeyring(store, { masterKey, now: clock });
    cliRing.rotate(await generateKey('ES256', { kid: 'es-new' }));
    await saveKeyring(store, cliRing, { masterKey });

    expect(await reloadKeyring(store, serviceRing, { masterKey })).toBe(true);
    expect(serviceRing.activeKid).toBe('es-new');
    const newToken = await service.sign({ sub: 'u' });
    expect(JSON.parse(Buffer.from(newToken.split('.')[0]!, 'base64url').toString()).kid).toBe(
      'es-new',
    );
    await expect(service.verify(oldToken)).resolves.toMatchObject({ sub: 'u' });
    expect(
      service
        .jwks()
        .keys.map((k) => k.kid)
        .sort(),
    ).toEqual(['ed-1', 'es-new']);
    expect(await reloadKeyring(store, serviceRing, { masterKey })).toBe(false);

    // The CLI retires the old key: the service stops accepting its tokens after reload.
    cliRing.retire('ed-1');
    await saveKeyring(store, cliRing, { masterKey });
    await reloadKeyring(store, serviceRing, { masterKey });
    await expect(service.verify(oldToken)).rejects.toMatchObject({ code: 'ERR_TOKEN_KEY_UNKNOWN' });
  });

  it('an empty store loads as an empty ring that cannot sign', async () => {
    const ring = await loadKeyring(await makeStore());
    expect(ring.activeKid).toBeNull();
    expect(ring.jwks()).toEqual({ keys: [] });
  });
});
