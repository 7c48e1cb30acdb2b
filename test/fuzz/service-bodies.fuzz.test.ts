/**
 * The service's JSON and form bodies, fuzzed in-process: the Express app of `tessera serve`
 * (memory store, demo users) driven through light-my-request, no sockets. Whatever the body
 * or its content type, the answer is never a 5xx and nothing is logged as a server failure
 * (every throw is mapped: a TesseraError or a body-parser error, never an unexpected one);
 * a malformed body gets 400 or 415 with a machine code and a reason; and a modified copy of
 * a valid sign-in body never signs anyone in, unless the change is one the body's own
 * grammar does not see (JSON whitespace, an empty form field, the case or spaces of the
 * user name, which the service normalises).
 */
import type { RequestListener } from 'node:http';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { inject } from 'light-my-request';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveServiceConfig } from '../../packages/server/src/service/config.js';
import { type RunningService, startService } from '../../packages/server/src/service/serve.js';
import { modified, RUNS } from './support.js';

const ORIGIN = 'http://app.test';
// 10,000 requests through the whole app per property: more than the default 30 s on a busy
// machine (about 15 s each when the machine is idle).
const PROPERTY_TIMEOUT_MS = 240_000;
let service: RunningService;
let app: RequestListener;
const logLines: string[] = [];

// A fresh service per property: one property's failed sign-ins must not throttle the next.
beforeEach(async () => {
  logLines.length = 0;
  const config = resolveServiceConfig(
    { port: '0', store: 'memory:', demo: true },
    { TESSERA_LOG_LEVEL: 'error', TESSERA_ORIGIN: ORIGIN },
  );
  const logDestination = new Writable({
    write: (chunk, _e, done) => {
      logLines.push(String(chunk));
      done();
    },
  });
  service = await startService(config, { logDestination });
  app = service.server.listeners('request')[0] as RequestListener;
});

afterEach(async () => {
  await service?.close();
});

interface Answer {
  status: number;
  body: string;
  setCookie: string;
}

async function send(
  method: 'POST',
  url: string,
  contentType: string | null,
  payload: string,
): Promise<Answer> {
  const headers: Record<string, string> = { origin: ORIGIN };
  if (contentType !== null) headers['content-type'] = contentType;
  const res = await inject(app, { method, url, headers, payload });
  const cookie = res.headers['set-cookie'];
  return {
    status: res.statusCode,
    body: res.payload,
    setCookie: Array.isArray(cookie) ? cookie.join('\n') : (cookie ?? ''),
  };
}

/** No 5xx, and an API error always names its code and gives a reason. */
function expectHandled(answer: Answer, api: boolean): void {
  expect(answer.status, answer.body).toBeLessThan(500);
  if (answer.status >= 400 && api) {
    const json = JSON.parse(answer.body) as { error?: unknown; message?: unknown };
    expect(typeof json.error).toBe('string');
    expect(String(json.message).length).toBeGreaterThan(0);
  }
}

function expectNoServerFailure(): void {
  const failures = logLines.filter((line) => /"level":(50|60)/.test(line));
  expect(failures).toEqual([]);
}

/** Is `name` what the service reads as alice (it trims and lower-cases user names)? */
const isAlice = (name: unknown): boolean =>
  typeof name === 'string' && name.trim().toLowerCase().slice(0, 64) === 'alice';

const anyBody = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ maxLength: 200, unit: 'binary' }),
  fc.json({ maxDepth: 3 }),
  fc
    .dictionary(
      fc.constantFrom(
        'username',
        'password',
        'refresh_token',
        'refresh_cookie',
        '__proto__',
        'constructor',
      ),
      fc.jsonValue({ maxDepth: 2 }),
    )
    .map((value) => JSON.stringify(value)),
);

describe('the service’s JSON bodies', () => {
  it(
    'any body under any content type on /api/token and /api/token/refresh: never a 5xx; malformed is a coded 400/415 with a reason',
    async () => {
      const contentType = fc.oneof(
        { weight: 6, arbitrary: fc.constant('application/json') },
        {
          weight: 3,
          arbitrary: fc.constantFrom(
            'text/plain',
            'application/x-www-form-urlencoded',
            'multipart/form-data; boundary=x',
            'application/json; charset=latin1',
            'application/json; charset=utf-16',
            'application/jsonx',
            'application/json; charset="',
            '',
          ),
        },
        { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
      );
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('/api/token', '/api/token/refresh'),
          contentType,
          anyBody,
          async (url, type, body) => {
            const answer = await send('POST', url, type, body);
            expectHandled(answer, true);
            const essence = type.split(';')[0]?.trim().toLowerCase() ?? '';
            if (essence !== 'application/json' && !/\+json$/.test(essence)) {
              // Not JSON (or no body at all, which has no type): 415.
              expect(answer.status, type).toBe(415);
              return;
            }
            const charset = /charset\s*=\s*"?([^";]*)/i.exec(type)?.[1]?.toLowerCase();
            if (charset && charset !== 'utf-8' && charset !== 'utf8') {
              // A JSON type in a charset other than UTF-8 (or a broken parameter).
              expect([400, 415]).toContain(answer.status);
              return;
            }
            let parsed: unknown;
            try {
              parsed = JSON.parse(body);
            } catch {
              expect([400, 415, 413]).toContain(answer.status);
              if (answer.status === 415) expect(body).toBe('');
              return;
            }
            const fields = (parsed ?? {}) as Record<string, unknown>;
            if (answer.status === 200) {
              expect(url).toBe('/api/token');
              expect(isAlice(fields.username) || fields.username === 'bob').toBe(true);
            }
          },
        ),
        { numRuns: RUNS },
      );
      expectNoServerFailure();
    },
    PROPERTY_TIMEOUT_MS,
  );
});

describe('the service’s form bodies', () => {
  it(
    'any body on /login: never a 5xx, and a sign-in only for the right name and password',
    async () => {
      const formChars = fc.string({ maxLength: 120 });
      const fieldLike = fc
        .array(
          fc.tuple(
            fc.constantFrom(
              'username',
              'password',
              'remember',
              '_csrf',
              'username[]',
              'password[x]',
              '__proto__',
            ),
            fc.string({ maxLength: 20 }),
          ),
          { maxLength: 5 },
        )
        .map((pairs) => pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&'));
      await fc.assert(
        fc.asyncProperty(fc.oneof(formChars, fieldLike), async (body) => {
          const answer = await send('POST', '/login', 'application/x-www-form-urlencoded', body);
          expectHandled(answer, false);
          if (answer.status >= 400) expect(answer.body.length).toBeGreaterThan(0);
          if (answer.status === 303) {
            const fields = new URLSearchParams(body);
            expect(isAlice(fields.get('username')) || fields.get('username') === 'bob').toBe(true);
          }
        }),
        { numRuns: RUNS },
      );
      expectNoServerFailure();
    },
    PROPERTY_TIMEOUT_MS,
  );
});

describe('modified sign-in bodies', () => {
  // The unmodified bodies sign in first (the control); then no modified copy does, unless it
  // still says alice / alice-password (JSON) or bob / bob-password (form).
  it(
    'a modified JSON or form sign-in body never signs in',
    async () => {
      const json = JSON.stringify({ username: 'alice', password: 'alice-password' });
      const form = 'username=bob&password=bob-password';
      const FORM_TYPE = 'application/x-www-form-urlencoded';
      expect((await send('POST', '/api/token', 'application/json', json)).status).toBe(200);
      expect((await send('POST', '/login', FORM_TYPE, form)).status).toBe(303);
      const cases = fc.oneof(
        modified(json).map((body) => ({ kind: 'json' as const, body })),
        modified(form).map((body) => ({ kind: 'form' as const, body })),
      );
      await fc.assert(
        fc.asyncProperty(cases, async ({ kind, body }) => {
          if (kind === 'json') {
            const answer = await send('POST', '/api/token', 'application/json', body);
            expectHandled(answer, true);
            if (answer.status !== 200) return;
            const fields = JSON.parse(body) as Record<string, unknown>;
            expect(isAlice(fields.username) && fields.password === 'alice-password', body).toBe(
              true,
            );
            return;
          }
          const answer = await send('POST', '/login', FORM_TYPE, body);
          expectHandled(answer, false);
          if (answer.status !== 303 && !/tessera\.sid=[^;]/.test(answer.setCookie)) return;
          const fields = new URLSearchParams(body);
          expect(
            fields.get('username')?.trim().toLowerCase() === 'bob' &&
              fields.get('password') === 'bob-password',
            body,
          ).toBe(true);
        }),
        { numRuns: RUNS },
      );
      expectNoServerFailure();
    },
    PROPERTY_TIMEOUT_MS,
  );
});
