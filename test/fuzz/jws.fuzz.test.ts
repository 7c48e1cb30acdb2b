/**
 * Property-based tests (issue 11) of the JWS parser and verifier behind `tokens.verify`: for
 * any input it answers claims or rejects with a TesseraError, and it never accepts a token
 * that differs from one it signed (any character changed, added or removed; header or
 * payload re-encoded; segments swapped).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createAccessTokens, generateKey } from '../../packages/session/src/tokens/index.js';
import { modified, RUNS, settleTessera } from './support.js';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

describe.each(['EdDSA', 'HS256'] as const)('fuzz: JWS verify (%s)', (alg) => {
  const setup = async () => {
    const tokens = createAccessTokens({
      keys: [await generateKey(alg, { kid: 'k1' })],
      issuer: 'https://auth.test',
      audience: 'api',
    });
    const token = await tokens.sign({ sub: 'alice', sid: 'h1', role: 'user' });
    return { tokens, token };
  };

  it(`accepts no modified token, rejects only with TesseraError (${RUNS} runs)`, async () => {
    const { tokens, token } = await setup();
    expect((await tokens.verify(token)).sub).toBe('alice');
    await fc.assert(
      fc.asyncProperty(modified(token), async (candidate) => {
        const result = await settleTessera(tokens.verify(candidate));
        expect(result.ok).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it(`arbitrary text and forged structures never verify (${RUNS} runs)`, async () => {
    const { tokens, token } = await setup();
    const [head, body, sig] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    const header = JSON.parse(Buffer.from(head, 'base64url').toString()) as Record<string, unknown>;
    const forged = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc
        .array(fc.base64String({ maxLength: 60 }), { minLength: 1, maxLength: 5 })
        .map((p) => p.join('.')),
      // Claims changed but the old signature kept.
      fc
        .dictionary(fc.constantFrom('sub', 'role', 'aud', 'iss', 'exp', 'sid'), fc.jsonValue(), {
          minKeys: 1,
        })
        .map((patch) => ({ ...claims, ...patch }))
        .filter((changed) => JSON.stringify(changed) !== JSON.stringify(claims))
        .map((changed) => `${head}.${b64(changed)}.${sig}`),
      // Header changed (alg none, another alg, a jwk/jku, no kid) with the same signature.
      fc
        .record({
          alg: fc.constantFrom('none', 'None', 'nOnE', 'HS256', 'RS256', 'ES256', 'EdDSA', ''),
          kid: fc.option(fc.constantFrom('k1', 'k2', '../k1', ''), { nil: undefined }),
          typ: fc.option(fc.constantFrom('at+jwt', 'JWT', 'jwt'), { nil: undefined }),
          jku: fc.option(fc.constant('https://evil.test/jwks'), { nil: undefined }),
        })
        .filter((h) => JSON.stringify({ ...header, ...h }) !== JSON.stringify(header))
        .chain((h) =>
          fc.constantFrom(
            `${b64({ ...header, ...h })}.${body}.${sig}`,
            `${b64({ ...header, ...h })}.${body}.`,
          ),
        ),
      // Segments reordered or duplicated.
      fc.constantFrom(
        `${body}.${head}.${sig}`,
        `${head}.${head}.${sig}`,
        `${head}.${body}`,
        `${token}.${sig}`,
      ),
    );
    await fc.assert(
      fc.asyncProperty(forged, async (candidate) => {
        const result = await settleTessera(tokens.verify(candidate));
        expect(result.ok).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });
});
