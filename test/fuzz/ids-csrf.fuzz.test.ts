/**
 * Property-based tests (issue 11) of session-ID syntax (checked before any store call), the
 * CSRF synchronizer token and the Origin/Referer/Fetch-Metadata guard: never a throw, never
 * acceptance of a modified token, never a cross-origin unsafe request let through.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSessionManager } from '../../packages/session/src/core/manager.js';
import { createCsrfGuard } from '../../packages/session/src/csrf/guard.js';
import { originOfUrl, parseOriginHeader } from '../../packages/session/src/csrf/internal/origin.js';
import { createCsrfToken, verifyCsrfToken } from '../../packages/session/src/csrf/token.js';
import { generateSessionId, isValidSessionId } from '../../packages/session/src/shared/ids.js';
import { recordStoreCalls } from '../../packages/session/src/stores/conformance/index.js';
import { createMemoryStore } from '../../packages/session/src/stores/memory/index.js';
import { modified, RUNS } from './support.js';

const SECRET = 'csrf-fuzz-secret-0123456789abcdef-0123';

describe('fuzz: session-ID syntax', () => {
  it(`only the exact issued shape passes, and nothing else reaches the store (${RUNS} runs)`, async () => {
    const { store, calls } = recordStoreCalls(createMemoryStore());
    const manager = createSessionManager({ store });
    const issued = generateSessionId();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          modified(issued),
          fc.string({ maxLength: 100 }),
          fc.string({ minLength: 43, maxLength: 43 }),
          fc.constantFrom('{"$ne":null}', `${issued}\r\nSet-Cookie: x=1`, 'x'.repeat(10_240)),
        ),
        async (candidate) => {
          const valid = isValidSessionId(candidate);
          if (valid) expect(candidate).toMatch(/^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/);
          const before = calls.length;
          expect(await manager.load(candidate)).toBeNull();
          if (!valid) expect(calls.length).toBe(before);
        },
      ),
      { numRuns: RUNS },
    );
    await store.close();
  });
});

describe('fuzz: CSRF tokens', () => {
  it(`verifyCsrfToken never throws and accepts no modified or random token (${RUNS} runs)`, () => {
    const token = createCsrfToken('session-handle', SECRET);
    expect(verifyCsrfToken(token, 'session-handle', SECRET)).toBe(true);
    fc.assert(
      fc.property(
        fc.oneof(modified(token), fc.string({ maxLength: 120 }), fc.base64String()),
        (candidate) => {
          expect(verifyCsrfToken(candidate, 'session-handle', SECRET)).toBe(false);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it(`a token is bound to its session value (${RUNS} runs)`, () => {
    const token = createCsrfToken('session-a', SECRET);
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 64 }).filter((v) => v !== 'session-a'),
        (other) => {
          const verdict = (() => {
            try {
              return verifyCsrfToken(token, other, SECRET);
            } catch (error) {
              // A session value the API refuses is a TesseraError, never acceptance.
              expect((error as { code?: string }).code).toMatch(/^ERR_/);
              return false;
            }
          })();
          expect(verdict).toBe(false);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('fuzz: origin parsing and the CSRF guard', () => {
  const APP = 'https://app.example.com';
  const guard = createCsrfGuard();
  const originLike = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.webUrl().map((url) => url.replace(/\/$/, '')),
    fc.constantFrom(
      'null',
      `${APP}.evil.test`,
      `${APP}@evil.test`,
      'https://APP.example.com',
      'https://app.example.com:443',
      'https://app.example.com/',
      ' https://app.example.com',
      'http://app.example.com',
    ),
    fc.webUrl(),
  );
  const site = fc.constantFrom(undefined, 'cross-site', 'same-site', 'same-origin', 'none', 'x');

  it(`parseOriginHeader never throws; what it accepts is a plain scheme://host[:port] (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(originLike, (value) => {
        const origin = parseOriginHeader(value);
        if (origin !== null) expect(origin).toMatch(/^https?:\/\/[^/?#@\s]+$/);
      }),
      { numRuns: RUNS },
    );
  });

  it(`an unsafe request passes only from the app's own origin (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(
        fc.constantFrom('POST', 'PUT', 'DELETE', 'PATCH', 'post', ''),
        fc.option(originLike, { nil: undefined }),
        fc.option(originLike, { nil: undefined }),
        site,
        (method, origin, referer, fetchSite) => {
          const headers: Record<string, string | undefined> = {
            host: 'app.example.com',
            origin,
            referer,
            'sec-fetch-site': fetchSite,
          };
          const verdict = guard.check({ method, headers: (n) => headers[n], isSecure: true });
          if (!verdict.ok) return;
          // Let through: the browser said same-origin, or what it sent names the app itself
          // (header values lose surrounding whitespace, as every HTTP parser strips it).
          const o = origin?.trim();
          const r = referer?.trim();
          const own =
            fetchSite === 'same-origin' ||
            (o !== undefined && parseOriginHeader(o) === APP) ||
            (o === undefined && r !== undefined && r !== '' && originOfUrl(r) === APP) ||
            (fetchSite === 'none' && o === undefined && (r === undefined || r === ''));
          expect(own).toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
