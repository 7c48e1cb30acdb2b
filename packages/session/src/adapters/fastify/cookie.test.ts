import { serialize } from 'cookie';
import { describe, expect, it } from 'vitest';
import {
  type CookieInput,
  mergeCookieSettings,
  SessionCookie,
  serializeSessionCookie,
  serializeWithCookieLibrary,
} from './cookie.js';

const NOW = Date.UTC(2026, 0, 1);

function cookieOf(input: CookieInput): SessionCookie {
  return new SessionCookie(input, false, () => NOW);
}

/** Every combination of the attributes that change the Set-Cookie text. */
function* attributeSets(): Generator<CookieInput> {
  for (const domain of [undefined, 'app.test'])
    for (const path of [undefined, '/', '/admin'])
      for (const httpOnly of [true, false])
        for (const secure of [true, false])
          for (const sameSite of [undefined, false, true, 'lax', 'Strict', 'none'] as const)
            for (const extra of [{}, { partitioned: true }, { priority: 'high' as const }])
              for (const lifetime of [{}, { maxAge: 60_000 }, { expires: new Date(NOW + 5000) }])
                yield { domain, path, httpOnly, secure, sameSite, ...extra, ...lifetime };
}

describe('serializeSessionCookie', () => {
  it("writes what cookie's serialize writes, for every attribute set, in any order of use", () => {
    const sets = [...attributeSets()];
    // Twice, the second time backwards: the remembered attribute text never leaks across sets.
    for (const round of [sets, [...sets].reverse()]) {
      for (const input of round) {
        for (const defaultLax of [true, false]) {
          const cookie = cookieOf(input);
          for (const value of ['abc.DEF+/9', 'a b;c=d', 'ünï']) {
            expect(serializeSessionCookie('sessionId', value, cookie, defaultLax)).toBe(
              serializeWithCookieLibrary('sessionId', value, cookie, defaultLax),
            );
          }
        }
      }
    }
  });

  it('matches a hand-written line, and refuses what serialize refuses', () => {
    const cookie = cookieOf({ path: '/', httpOnly: true, secure: true, maxAge: 1000 });
    expect(serializeSessionCookie('sid', 'v.s', cookie, true)).toBe(
      serialize('sid', 'v.s', {
        path: '/',
        expires: new Date(NOW + 1000),
        httpOnly: true,
        secure: true,
        sameSite: 'lax',
      }),
    );
    expect(() => serializeSessionCookie('bad name', 'v', cookie, true)).toThrow(TypeError);
    const badDomain = cookieOf({ domain: 'bad domain;', path: '/' });
    expect(() => serializeSessionCookie('sid', 'v', badDomain, true)).toThrow(TypeError);
    const badDate = cookieOf({ path: '/' });
    badDate.expires = new Date(Number.NaN);
    expect(() => serializeSessionCookie('sid', 'v', badDate, true)).toThrow(TypeError);
  });
});

describe('mergeCookieSettings', () => {
  it('shares the settings of sessions with none stored, and never changes them', () => {
    const configured: CookieInput = { path: '/', secure: true, maxAge: 1000 };
    const first = mergeCookieSettings(configured, undefined, NOW);
    expect(mergeCookieSettings(configured, undefined, NOW + 10)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(first).toEqual({ path: '/', secure: true, maxAge: 1000 });
    // Stored settings still win over the configured ones, in a new object.
    const stored = mergeCookieSettings(configured, { originalMaxAge: 5000 }, NOW);
    expect(stored).toEqual({ path: '/', secure: true, maxAge: 5000 });
    expect(first).toEqual({ path: '/', secure: true, maxAge: 1000 });
  });
});
