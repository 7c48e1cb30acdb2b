/**
 * Cost of sealing, opening and reading signed cookies. Run:
 * `npx vitest bench --run src/cookies/seal.bench.ts`
 */
import { randomBytes } from 'node:crypto';
import { bench, describe } from 'vitest';
import { createCookieCodec } from './codec.js';
import { createCookieSealer } from './seal.js';

const sealer = createCookieSealer({ keys: [{ kid: 'k1', secret: randomBytes(32) }] });
const data = { userId: 'u_123456', roles: ['user'], csrf: randomBytes(16).toString('base64url') };
const sealed = sealer.seal(data);
const codec = createCookieCodec({ secrets: 'x'.repeat(32) });
const header = `a=1; b=2; ${codec.serialize('A'.repeat(43), { isSecure: true }).split(';')[0]}`;

describe('cookies', () => {
  bench('seal (70-byte JSON)', () => {
    sealer.seal(data);
  });
  bench('open', async () => {
    await sealer.open(sealed);
  });
  bench('codec.read (signed, 3 cookies in header)', () => {
    codec.read(header, { isSecure: true });
  });
});
