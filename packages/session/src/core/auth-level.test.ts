import { describe, expect, it } from 'vitest';
import { isTesseraError } from '../shared/errors.js';
import { createMemoryStore } from '../stores/memory/index.js';
import type { SessionEvents } from './events.js';
import { createSessionManager } from './manager.js';

const MINUTE = 60_000;

function setup() {
  let time = 1_800_000_000_000;
  const now = (): number => time;
  const store = createMemoryStore({ now });
  const manager = createSessionManager({ store, now });
  const regenerated: Array<SessionEvents['regenerated']> = [];
  manager.on('regenerated', (event) => regenerated.push(event));
  return {
    manager,
    store,
    now,
    regenerated,
    advance: (ms: number) => {
      time += ms;
    },
  };
}

async function codeOf(work: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await work();
  } catch (error) {
    return isTesseraError(error) ? error.code : `not a TesseraError: ${String(error)}`;
  }
  return undefined;
}

describe('authentication level (ASVS 5.0 7.5)', () => {
  it('records level 1 and no methods by default, the given ones otherwise', async () => {
    const { manager } = setup();
    const plain = await manager.login(null, 'alice');
    expect(plain.authLevel).toBe(1);
    expect(plain.authMethods).toEqual([]);
    const strong = await manager.login(null, 'bob', { level: 2, methods: ['pwd', 'otp', 'pwd'] });
    const loaded = await manager.load(strong.id);
    expect(loaded?.authLevel).toBe(2);
    expect(loaded?.authMethods).toEqual(['pwd', 'otp']);
  });

  it('has no level while nobody is signed in, and none after logout', async () => {
    const { manager } = setup();
    const anonymous = await manager.create({ data: { cart: ['tea'] } });
    expect(anonymous.authLevel).toBeNull();
    expect(anonymous.authMethods).toEqual([]);
    const signedIn = await manager.login(anonymous, 'alice', { level: 2, methods: ['otp'] });
    const after = await manager.logout(signedIn);
    expect(after.authLevel).toBeNull();
    expect(after.authMethods).toEqual([]);
    expect(await manager.load(signedIn.id)).toBeNull();
  });

  it('steps up: authAt now, the new level, a new ID, same data and handle, old ID dead', async () => {
    const { manager, store, advance, now, regenerated } = setup();
    const session = await manager.login(null, 'alice', { methods: ['pwd'] });
    session.set('cart', ['tea']);
    await manager.commit(session);
    advance(10 * MINUTE);
    const stepped = await manager.stepUp(session, { level: 2, methods: ['pwd', 'otp'] });
    expect(stepped.id).not.toBe(session.id);
    expect(stepped.handle).toBe(session.handle);
    expect(stepped.authAt).toBe(now());
    expect(await manager.load(session.id)).toBeNull();
    const loaded = await manager.load(stepped.id);
    expect(loaded).toMatchObject({ userId: 'alice', authLevel: 2, authAt: now() });
    expect(loaded?.authMethods).toEqual(['pwd', 'otp']);
    expect(loaded?.get('cart')).toEqual(['tea']);
    expect(await store.listByUser('alice')).toHaveLength(1);
    expect(regenerated.at(-1)).toMatchObject({ reason: 'step-up', previousHandle: session.handle });
    const [info] = await manager.listUserSessions('alice');
    expect(info).toMatchObject({ authLevel: 2, authMethods: ['pwd', 'otp'], authAt: now() });
  });

  it('lets a weaker re-authentication lower the level: an old second factor vouches for nothing new', async () => {
    const { manager } = setup();
    const session = await manager.login(null, 'alice', { level: 2, methods: ['pwd', 'otp'] });
    const again = await manager.stepUp(session, { level: 1, methods: ['pwd'] });
    expect(again.authLevel).toBe(1);
    expect(again.authMethods).toEqual(['pwd']);
    // A new login of the same user records that sign-in's level, not the old one.
    const relogged = await manager.login(again, 'alice');
    expect(relogged.authLevel).toBe(1);
    expect(relogged.authMethods).toEqual([]);
  });

  it('refuses a bad level or methods with ERR_INVALID_ARGUMENT and changes nothing', async () => {
    const { manager, store } = setup();
    const session = await manager.login(null, 'alice');
    const badLevels: unknown[] = [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '2', null];
    for (const level of badLevels) {
      expect(await codeOf(() => manager.login(null, 'bob', { level: level as number }))).toBe(
        'ERR_INVALID_ARGUMENT',
      );
      expect(await codeOf(() => manager.stepUp(session, { level: level as number }))).toBe(
        'ERR_INVALID_ARGUMENT',
      );
    }
    const badMethods: unknown[] = [
      'pwd',
      [''],
      ['x'.repeat(33)],
      ['has space'],
      [42],
      Array.from({ length: 17 }, (_, i) => `m${i}`),
    ];
    for (const methods of badMethods) {
      expect(await codeOf(() => manager.login(null, 'bob', { methods: methods as string[] }))).toBe(
        'ERR_INVALID_ARGUMENT',
      );
      expect(
        await codeOf(() => manager.stepUp(session, { level: 2, methods: methods as string[] })),
      ).toBe('ERR_INVALID_ARGUMENT');
    }
    expect(await codeOf(() => manager.stepUp(session, {} as never))).toBe('ERR_INVALID_ARGUMENT');
    expect(await store.listByUser('bob')).toEqual([]);
    const still = await manager.load(session.id);
    expect(still).toMatchObject({ authLevel: 1, authAt: session.authAt });
  });

  it('refuses to step up an anonymous session, and one revoked while the request ran', async () => {
    const { manager } = setup();
    const anonymous = await manager.create();
    expect(await codeOf(() => manager.stepUp(anonymous, { level: 2 }))).toBe(
      'ERR_INVALID_ARGUMENT',
    );
    const session = await manager.login(null, 'alice');
    await manager.revoke(session.handle);
    expect(await codeOf(() => manager.stepUp(session, { level: 2 }))).toBe('ERR_SESSION_NOT_FOUND');
    expect(await manager.listUserSessions('alice')).toEqual([]);
  });

  it('counts a signed-in session stored before levels existed as level 1', async () => {
    const { manager, store } = setup();
    const session = await manager.login(null, 'alice', { level: 3 });
    const record = await store.get(session.key);
    const { authLevel: _level, authMethods: _methods, ...meta } = record?.meta ?? {};
    await store.delete(session.key);
    await store.create({ ...(record as NonNullable<typeof record>), meta });
    const loaded = await manager.load(session.id);
    expect(loaded?.authLevel).toBe(1);
    expect(loaded?.authMethods).toEqual([]);
  });
});
