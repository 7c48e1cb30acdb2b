import { describe, expect, it } from 'vitest';
import { createSigner, SIGNER_CACHE_SIZE } from './signer.js';

const A = 'secret-a-0123456789-abcdefghijklmnopqrstu';
const B = 'secret-b-0123456789-abcdefghijklmnopqrstu';

function tamper(signed: string): string {
  const last = signed.at(-1) === 'A' ? 'B' : 'A';
  return signed.slice(0, -1) + last;
}

describe('cookie signer cache', () => {
  it('a value with a different signature never hits the cache of a verified one', () => {
    const signer = createSigner([A], 'sha256');
    const signed = signer.sign('session-id');
    expect(signer.unsign(signed)).toEqual({ valid: true, renew: false, value: 'session-id' });
    expect(signer.unsign(tamper(signed))).toEqual({ valid: false, renew: false, value: null });
    expect(signer.unsign(`${signed}x`)).toEqual({ valid: false, renew: false, value: null });
    // Another ID with the cached signature.
    const other = `other-id${signed.slice(signed.lastIndexOf('.'))}`;
    expect(signer.unsign(other)).toEqual({ valid: false, renew: false, value: null });
  });

  it('forgets what it verified when the secrets rotate in place', () => {
    const secrets = [A];
    const signer = createSigner(secrets, 'sha256');
    const old = signer.sign('id-1');
    expect(signer.unsign(old).valid).toBe(true);
    secrets.unshift(B); // new signing secret, the old one still verifies
    expect(signer.unsign(old)).toEqual({ valid: true, renew: true, value: 'id-1' });
    expect(signer.sign('id-1')).not.toBe(old);
    secrets.pop(); // the old secret retired: its cookies stop working, cached or not
    expect(signer.unsign(old)).toEqual({ valid: false, renew: false, value: null });
  });

  it('signs and verifies the same as without a cache, also past its size bound', () => {
    const cached = createSigner([A], 'sha256');
    const fresh = (): ReturnType<typeof createSigner> => createSigner([A], 'sha256');
    for (let i = 0; i < SIGNER_CACHE_SIZE + 5; i++) cached.sign(`id-${i}`);
    for (const id of ['id-0', `id-${SIGNER_CACHE_SIZE + 4}`, 'new']) {
      const signed = cached.sign(id);
      expect(signed).toBe(fresh().sign(id));
      expect(cached.unsign(signed)).toEqual({ valid: true, renew: false, value: id });
      expect(cached.unsign(signed)).toEqual({ valid: true, renew: false, value: id });
    }
  });

  it('treats a Buffer secret changed in place as a new secret', () => {
    const key = Buffer.from(A);
    const secrets: Buffer[] = [key];
    const signer = createSigner(secrets, 'sha256');
    const signed = signer.sign('id');
    expect(signer.unsign(signed).valid).toBe(true);
    key.write('Z', 0);
    expect(signer.unsign(signed).valid).toBe(false);
  });
});
