/**
 * Property-based tests of the cookie layer (issue 11): the Cookie-header parser, signature
 * unsigning, the codec's read, and the sealed-cookie opener with its chunks. For every input:
 * never a throw, never acceptance of a modified value.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCookieCodec, readCookie } from '../../packages/session/src/cookies/codec.js';
import { createCookieSealer } from '../../packages/session/src/cookies/seal.js';
import { signCookieValue, unsignCookieValue } from '../../packages/session/src/cookies/sign.js';
import { generateSessionId } from '../../packages/session/src/shared/ids.js';
import { modified, RUNS } from './support.js';

const SECRET = 'fuzz-secret-0123456789abcdef-0123456789';
const HTTPS = { isSecure: true };
const HTTP = { isSecure: false };

/** Cookie headers: random text, and well-formed pairs with odd names and values. */
const cookieHeader = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ maxLength: 300, unit: 'binary' }),
  fc
    .array(fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 60 })), { maxLength: 8 })
    .map((pairs) => pairs.map(([n, v]) => `${n}=${v}`).join('; ')),
);

describe('fuzz: cookie parser and signatures', () => {
  it(`readCookie never throws and answers a string or null (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(cookieHeader, fc.string({ maxLength: 30 }), (header, name) => {
        const value = readCookie(header, name);
        expect(value === null || typeof value === 'string').toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it(`names are case-sensitive: __HOST-x is never read as __Host-x (${RUNS} runs)`, () => {
    const codec = createCookieCodec({ name: 'sid' });
    fc.assert(
      fc.property(
        fc.constantFrom('__HOST-sid', '__host-sid', '__Host-SID', 'sid ', ' sid', 'SID'),
        fc.string({ minLength: 1, maxLength: 50 }).filter((v) => /^[A-Za-z0-9_-]+$/.test(v)),
        (name, value) => {
          expect(codec.read(`${name}=${value}`, HTTPS)).toBeNull();
        },
      ),
      { numRuns: RUNS },
    );
  });

  it(`unsignCookieValue never throws and accepts no modified signed value (${RUNS} runs)`, () => {
    const signed = signCookieValue(generateSessionId(), SECRET);
    fc.assert(
      fc.property(fc.oneof(modified(signed), fc.string({ maxLength: 120 })), (candidate) => {
        expect(unsignCookieValue(candidate, [SECRET])).toBeNull();
      }),
      { numRuns: RUNS },
    );
    expect(unsignCookieValue(signed, [SECRET])).not.toBeNull();
  });

  it(`a signed codec reads back exactly what it wrote, and nothing modified (${RUNS} runs)`, () => {
    const codec = createCookieCodec({ name: 'sid', secrets: [SECRET] });
    const id = generateSessionId();
    const line = codec.serialize(id, HTTPS);
    const pair = line.slice(0, line.indexOf(';'));
    const value = pair.slice(pair.indexOf('=') + 1);
    expect(codec.read(pair, HTTPS)).toBe(id);
    fc.assert(
      fc.property(modified(value), (changed) => {
        const header = `__Host-sid=${changed}`;
        const read = codec.read(header, HTTPS);
        // A change the cookie grammar does not see (a trailing `;`, spaces it trims) is none.
        expect(read === null || readCookie(header, '__Host-sid') === value).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('fuzz: sealed cookies', () => {
  const keys = [{ kid: 'k1', secret: Buffer.alloc(32, 7) }];

  it(`open never throws and opens no random or modified value (${RUNS} runs)`, async () => {
    const sealer = createCookieSealer<{ u: string }>({ keys });
    const sealed = sealer.seal({ u: 'alice' });
    expect(await sealer.open(sealed)).not.toBeNull();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(modified(sealed), fc.string({ maxLength: 400 }), fc.base64String()),
        async (candidate) => {
          expect(await sealer.open(candidate)).toBeNull();
        },
      ),
      { numRuns: RUNS },
    );
  });

  it(`read of a chunked value: any change to any chunk, dropped or swapped chunks, never opens (${RUNS} runs)`, async () => {
    const sealer = createCookieSealer<{ blob: string }>({ keys, name: 'big', maxChunks: 4 });
    const lines = await sealer.write({ blob: 'x'.repeat(6000) }, HTTP);
    const pairs = lines.map((line) => line.slice(0, line.indexOf(';')));
    expect(pairs.length).toBeGreaterThan(1);
    const header = pairs.join('; ');
    expect(await sealer.read(header, HTTP)).not.toBeNull();
    const chunks = pairs.map((pair) => {
      const eq = pair.indexOf('=');
      return { name: pair.slice(0, eq), value: pair.slice(eq + 1) };
    });
    const changedHeader = fc.oneof(
      // one chunk's value modified
      fc
        .nat({ max: chunks.length - 1 })
        .chain((i) =>
          modified((chunks[i] as { value: string }).value).map((value) =>
            chunks.map((c, j) => `${c.name}=${j === i ? value : c.value}`).join('; '),
          ),
        ),
      // a chunk dropped
      fc.nat({ max: chunks.length - 1 }).map((i) =>
        chunks
          .filter((_, j) => j !== i)
          .map((c) => `${c.name}=${c.value}`)
          .join('; '),
      ),
      // two chunks' values swapped
      fc
        .tuple(fc.nat({ max: chunks.length - 1 }), fc.nat({ max: chunks.length - 1 }))
        .filter(([a, b]) => a !== b && chunks[a]?.value !== chunks[b]?.value)
        .map(([a, b]) =>
          chunks
            .map((c, j) => {
              const v = j === a ? chunks[b]?.value : j === b ? chunks[a]?.value : c.value;
              return `${c.name}=${v}`;
            })
            .join('; '),
        ),
      // random junk beside the chunks
      fc.string({ maxLength: 200 }).map((junk) => `${junk}; ${header}`),
    );
    await fc.assert(
      fc.asyncProperty(changedHeader, async (candidate) => {
        const opened = await sealer.read(candidate, HTTP);
        if (opened !== null) {
          // Only a header in which the parser still sees every chunk unchanged may open
          // (junk beside them, or a change the cookie grammar does not see, like a `;`).
          for (const chunk of chunks) {
            expect(readCookie(candidate, chunk.name)).toBe(chunk.value);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });
});
