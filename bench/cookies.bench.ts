/**
 * Cost of sealing, opening and reading signed cookies. Run:
 * `npx vitest bench --run bench/cookies.bench.ts` (a Vitest benchmark, outside `npm run bench`).
 */
import { randomBytes } from 'node:crypto';
import { createCookieCodec, createCookieSealer } from 'tessera-session/cookies';
import { bench, describe } from 'vitest';

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
