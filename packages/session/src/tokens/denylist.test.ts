import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../stores/memory/index.js';
import { createDenylist } from './denylist.js';

const NOW = Date.UTC(2026, 0, 1);

function setup(leeway?: number) {
  const clock = { t: NOW };
  const now = () => clock.t;
  const store = createMemoryStore({ now, purgeIntervalMs: 0 });
  const denylist = createDenylist({ store, now, ...(leeway === undefined ? {} : { leeway }) });
  return { clock, store, denylist };
}

describe('denylist', () => {
  it('answers revoked for a revoked jti only, keyed by the jti itself', async () => {
    const { store, denylist } = setup();
    const exp = NOW / 1000 + 300;
    await denylist.revoke('jti-1', exp);
    expect(await denylist.isRevoked('jti-1')).toBe(true);
    expect(await denylist.isRevoked('jti-2')).toBe(false);
    const entries = await store.kvList('denylist');
    expect(entries.map((e) => e.key)).toEqual(['jti-1']);
    expect(entries[0]?.expiresAt).toBe((exp + 60) * 1000);
  });

  it('keeps an entry while the token could still verify (exp + leeway), then drops it', async () => {
    const { clock, denylist } = setup(30);
    const exp = NOW / 1000 + 300;
    await denylist.revoke('jti-1', exp);
    clock.t = (exp + 29) * 1000;
    expect(await denylist.isRevoked('jti-1')).toBe(true);
    clock.t = (exp + 30) * 1000;
    expect(await denylist.isRevoked('jti-1')).toBe(false);
  });

  it('writes nothing for a token that can no longer verify', async () => {
    const { store, denylist } = setup(0);
    await denylist.revoke('old', NOW / 1000 - 1);
    expect(await store.kvList('denylist')).toEqual([]);
    expect(await denylist.isRevoked('old')).toBe(false);
  });

  it('refuses a missing or oversized jti and a non-numeric exp', async () => {
    const { denylist } = setup();
    await expect(denylist.revoke('', NOW / 1000)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    await expect(denylist.isRevoked('x'.repeat(257))).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    await expect(denylist.revoke('a', Number.NaN)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    expect(() =>
      createDenylist({ store: createMemoryStore({ purgeIntervalMs: 0 }), leeway: -1 }),
    ).toThrow(/`leeway`/);
  });
});
