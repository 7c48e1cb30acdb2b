import { describe, expect, it } from 'vitest';
import { createCookieCodec } from '../cookies/index.js';
import { createSessionManager } from '../core/manager.js';
import { TesseraError } from '../shared/errors.js';
import { recordStoreCalls } from '../stores/conformance/index.js';
import { createMemoryStore } from '../stores/memory/index.js';
import {
  codecCookieFormat,
  createRequestSessions,
  decideCommit,
  type HttpExchange,
  httpStatusOf,
  type RequestSessionsOptions,
  withHttpStatus,
} from './request-session.js';

const SECRET = 'request-session-test-secret-32-chars!!';

function setup(options: Partial<RequestSessionsOptions> = {}, codecOptions = {}) {
  let time = 1_800_000_000_000;
  const now = () => time;
  const inner = createMemoryStore({ now, purgeIntervalMs: 0 });
  const { store, calls } = recordStoreCalls(inner);
  const manager = createSessionManager({ store, now });
  const warnings: string[] = [];
  const sessions = createRequestSessions({
    manager,
    cookie: codecCookieFormat(createCookieCodec({ secrets: [SECRET], ...codecOptions })),
    logger: { warn: (message) => warnings.push(message) },
    ...options,
  });
  /** A request: the exchange records the Set-Cookie headers it is given. */
  const exchange = (
    init: {
      method?: string;
      cookie?: string;
      headers?: Record<string, string>;
      secure?: boolean;
    } = {},
  ) => {
    const setCookies: string[] = [];
    const headers: Record<string, string> = { host: 'app.example', ...init.headers };
    if (init.cookie) headers.cookie = init.cookie;
    const value: HttpExchange & { setCookies: string[] } = {
      method: init.method ?? 'GET',
      path: '/',
      header: (name) => headers[name],
      isSecure: init.secure ?? false,
      ip: '192.0.2.1',
      userAgent: 'Mozilla/5.0 Firefox/120.0',
      appendSetCookie: (line) => setCookies.push(line),
      setCookies,
    };
    return value;
  };
  const cookieHeader = (setCookie: string | undefined) => setCookie?.split(';')[0];
  return {
    sessions,
    manager,
    store,
    inner,
    calls,
    warnings,
    exchange,
    cookieHeader,
    advance: (ms: number) => (time += ms),
  };
}

describe('decideCommit (end-of-request rules)', () => {
  const base = {
    idChanged: false,
    isNew: false,
    modified: false,
    persistent: false,
    touched: false,
    storeUnchangedNew: false,
    rewriteUnchanged: false,
    cookieOnEveryResponse: false,
  };

  it('stores a new session only when changed or with storeUnchangedNew, and then sets the cookie', () => {
    expect(decideCommit({ ...base, idChanged: true, isNew: true })).toEqual({
      save: false,
      touch: false,
      setCookie: false,
    });
    expect(decideCommit({ ...base, idChanged: true, isNew: true, modified: true }).setCookie).toBe(
      true,
    );
    expect(
      decideCommit({ ...base, idChanged: true, isNew: true, storeUnchangedNew: true }).save,
    ).toBe(true);
  });

  it('always sends the cookie for a new ID already stored (regenerate, login)', () => {
    expect(decideCommit({ ...base, idChanged: true, isNew: false })).toEqual({
      save: true,
      touch: false,
      setCookie: true,
    });
  });

  it('writes an unchanged stored session only with rewriteUnchanged, touches it when asked', () => {
    expect(decideCommit(base)).toEqual({ save: false, touch: false, setCookie: false });
    expect(decideCommit({ ...base, rewriteUnchanged: true }).save).toBe(true);
    expect(decideCommit({ ...base, touched: true })).toEqual({
      save: false,
      touch: true,
      setCookie: false,
    });
  });

  it('re-sends the cookie with cookieOnEveryResponse, or for a changed persistent session', () => {
    expect(decideCommit({ ...base, cookieOnEveryResponse: true }).setCookie).toBe(true);
    expect(decideCommit({ ...base, persistent: true }).setCookie).toBe(false);
    expect(decideCommit({ ...base, persistent: true, modified: true }).setCookie).toBe(true);
  });
});

describe('request lifecycle', () => {
  it('never touches the store for a request that does not ask for its session', async () => {
    const t = setup();
    const rs = t.sessions.begin(t.exchange());
    await rs.commit();
    expect(t.calls).toEqual([]);
  });

  it('creates a changed new session and sends its cookie; the next request finds it', async () => {
    const t = setup();
    const ex = t.exchange();
    const rs = t.sessions.begin(ex);
    (await rs.session()).set('theme', 'dark');
    await rs.commit();
    expect(ex.setCookies).toHaveLength(1);
    const next = t.sessions.begin(t.exchange({ cookie: t.cookieHeader(ex.setCookies[0]) }));
    expect((await next.load())?.get('theme')).toBe('dark');
  });

  it('patches only what changed and sends no cookie for a browser-session cookie', async () => {
    const t = setup();
    const ex = t.exchange();
    const rs = t.sessions.begin(ex);
    (await rs.session()).set('a', 1);
    await rs.commit();
    t.calls.length = 0;
    const ex2 = t.exchange({ cookie: t.cookieHeader(ex.setCookies[0]) });
    const rs2 = t.sessions.begin(ex2);
    (await rs2.session()).set('b', 2);
    await rs2.commit();
    expect(t.calls).toEqual(['get', 'patch']);
    expect(ex2.setCookies).toEqual([]);
  });

  it('clears the cookie when the session is destroyed', async () => {
    const t = setup();
    const ex = t.exchange();
    const rs = t.sessions.begin(ex);
    (await rs.session()).set('a', 1);
    await rs.commit();
    const ex2 = t.exchange({ cookie: t.cookieHeader(ex.setCookies[0]) });
    const rs2 = t.sessions.begin(ex2);
    await rs2.destroy();
    await rs2.commit();
    expect(ex2.setCookies[0]).toMatch(/Max-Age=0/);
    expect(
      await t.sessions.begin(t.exchange({ cookie: t.cookieHeader(ex.setCookies[0]) })).load(),
    ).toBeNull();
  });

  it('does not bring destroyed data back when the same request regenerates or logs in', async () => {
    const t = setup();
    const ex = t.exchange();
    const rs = t.sessions.begin(ex);
    (await rs.session()).set('secret', 'old user data');
    await rs.commit();
    for (const step of ['regenerate', 'login'] as const) {
      const rs2 = t.sessions.begin(t.exchange({ cookie: t.cookieHeader(ex.setCookies[0]) }));
      await rs2.load();
      await rs2.destroy();
      const next = step === 'regenerate' ? await rs2.regenerate() : await rs2.login('bob');
      expect(next.get('secret')).toBeUndefined();
    }
  });

  it('takes the app origin for the CSRF check from the exchange URL when given', async () => {
    const t = setup();
    const ex = t.exchange();
    const rs = t.sessions.begin(ex);
    (await rs.session()).set('a', 1);
    await rs.commit();
    const headers = { origin: 'https://app.example' };
    const post = (url?: string) => {
      const exchange = Object.assign(
        t.exchange({ method: 'POST', cookie: t.cookieHeader(ex.setCookies[0]), headers }),
        { url },
      );
      delete (exchange as { header: unknown }).header;
      return Object.assign(exchange, {
        header: (name: string) =>
          name === 'cookie'
            ? t.cookieHeader(ex.setCookies[0])
            : (headers as Record<string, string>)[name],
      });
    };
    // No Host header: without the URL the app origin is unknown and the POST is refused.
    expect(() => t.sessions.begin(post()).verifyCsrf()).toThrow(TesseraError);
    expect(() => t.sessions.begin(post('https://app.example/form')).verifyCsrf()).not.toThrow();
  });

  it('login issues a new ID and, with remember, a persistent cookie', async () => {
    const t = setup();
    const ex = t.exchange();
    const rs = t.sessions.begin(ex);
    const session = await rs.login('alice', { remember: true });
    await rs.commit();
    expect(session.userId).toBe('alice');
    expect(ex.setCookies[0]).toMatch(/Max-Age=\d+/);
    expect(ex.setCookies[0]).toContain(session.id);
  });

  it('flushCookie sends the cookie once, before the writes of commit', async () => {
    const t = setup();
    const ex = t.exchange();
    const rs = t.sessions.begin(ex);
    (await rs.session()).set('a', 1);
    rs.flushCookie();
    expect(ex.setCookies).toHaveLength(1);
    await rs.commit();
    expect(ex.setCookies).toHaveLength(1);
    expect(t.calls).toContain('create');
  });

  it('clears the cookie instead of failing when the session was revoked mid-request', async () => {
    const t = setup();
    const ex = t.exchange();
    const rs = t.sessions.begin(ex);
    (await rs.session()).set('a', 1);
    await rs.commit();
    const ex2 = t.exchange({ cookie: t.cookieHeader(ex.setCookies[0]) });
    const rs2 = t.sessions.begin(ex2);
    const loaded = await rs2.session();
    await t.manager.destroy(loaded);
    loaded.set('b', 2);
    await rs2.commit();
    expect(ex2.setCookies[0]).toMatch(/Max-Age=0/);
  });

  it('refuses unsafe cross-site requests that carry the cookie, lets others pass', async () => {
    const t = setup();
    const ex = t.exchange();
    const rs = t.sessions.begin(ex);
    (await rs.session()).set('a', 1);
    await rs.commit();
    const cookie = t.cookieHeader(ex.setCookies[0]);
    const cross = t.sessions.begin(
      t.exchange({ method: 'POST', cookie, headers: { 'sec-fetch-site': 'cross-site' } }),
    );
    expect(() => cross.verifyCsrf()).toThrow(expect.objectContaining({ code: 'ERR_CSRF' }));
    const same = t.sessions.begin(
      t.exchange({ method: 'POST', cookie, headers: { origin: 'http://app.example' } }),
    );
    expect(() => same.verifyCsrf()).not.toThrow();
    const noCookie = t.sessions.begin(
      t.exchange({ method: 'POST', headers: { 'sec-fetch-site': 'cross-site' } }),
    );
    expect(() => noCookie.verifyCsrf()).not.toThrow();
    const off = setup({ csrf: false });
    const offRs = off.sessions.begin(
      off.exchange({ method: 'POST', cookie, headers: { 'sec-fetch-site': 'cross-site' } }),
    );
    expect(() => offRs.verifyCsrf()).not.toThrow();
  });

  it('a Secure cookie on plain HTTP: warns once and stores nothing; strictCookies throws', async () => {
    const t = setup({}, { secure: true });
    for (let i = 0; i < 2; i++) {
      const ex = t.exchange();
      const rs = t.sessions.begin(ex);
      (await rs.session()).set('a', 1);
      await rs.commit();
      expect(ex.setCookies).toEqual([]);
    }
    expect(t.warnings).toHaveLength(1);
    expect(t.calls).not.toContain('create');
    const strict = setup({ strictCookies: true }, { secure: true });
    const rs = strict.sessions.begin(strict.exchange());
    (await rs.session()).set('a', 1);
    await expect(rs.commit()).rejects.toMatchObject({ code: 'ERR_CONFIG' });
  });

  it('maps errors to HTTP statuses adapters answer with', () => {
    expect(httpStatusOf(new TesseraError('ERR_CSRF', 'x'))).toBe(403);
    expect(httpStatusOf(new TesseraError('ERR_STORE_UNAVAILABLE', 'x'))).toBe(503);
    expect(httpStatusOf(new TesseraError('ERR_CONFIG', 'x'))).toBe(500);
    const error = withHttpStatus(new TesseraError('ERR_STORE_UNAVAILABLE', 'down'));
    expect(error).toMatchObject({ status: 503, statusCode: 503, expose: true });
  });

  it('refuses invalid options at construction', () => {
    const t = setup();
    expect(() =>
      createRequestSessions({
        manager: t.manager,
        cookie: codecCookieFormat(createCookieCodec()),
        cookieOnEveryResponse: 'yes' as never,
      }),
    ).toThrow(/cookieOnEveryResponse/);
    expect(() =>
      createRequestSessions({
        manager: t.manager,
        cookie: codecCookieFormat(createCookieCodec()),
        cookieMaxAge: -1,
      }),
    ).toThrow(/cookieMaxAge/);
  });
});
