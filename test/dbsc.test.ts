/**
 * Device-bound sessions (DBSC) end to end in every adapter, with a scripted client that
 * speaks the draft's protocol exactly (node:crypto keys): registration at sign-in, refresh
 * through a challenge, bound-cookie renewal, and the stolen-credential attacks: a bound
 * cookie past its lifetime, a session cookie without the key, another key's signature, a
 * replayed challenge, a private key in the registration JWT, malformed headers and JWTs,
 * and refresh after revocation. The clock moves through the manager's `now` option.
 */
import Fastify from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import expressSession from '../packages/session/src/adapters/express/index.js';
import fastifySession, {
  MemoryStore as FastifyMemoryStore,
} from '../packages/session/src/adapters/fastify/index.js';
import {
  createFetchSessions,
  type FetchSessions,
} from '../packages/session/src/adapters/fetch/index.js';
import { createDbsc, type DbscOptions } from '../packages/session/src/http/dbsc.js';
import { isTesseraError } from '../packages/session/src/shared/errors.js';
import { createMemoryStore } from '../packages/session/src/stores/memory/index.js';
import type { Store } from '../packages/session/src/stores/store.js';
import {
  ADAPTERS,
  type AdapterHarness,
  type ControlledStore,
  createControlledStore,
  type HarnessResponse,
} from './support/adapter-harness.js';
import {
  type DbscKey,
  hs256Proof,
  makeKey,
  parseChallenge,
  parseRegistration,
  refreshProof,
  registrationProof,
  sf,
  signJwt,
} from './support/dbsc-client.js';

const REGISTER = '/.tessera/dbsc/register';
const REFRESH = '/.tessera/dbsc/refresh';
const BOUND = 'tessera.bound';

/** A minimal cookie jar: name → value, updated from Set-Cookie (Max-Age=0 deletes). */
class Jar {
  readonly cookies = new Map<string, string>();

  take(response: HarnessResponse): void {
    for (const line of response.setCookies) {
      const [pair, ...attributes] = line.split(';').map((s) => s.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const gone = attributes.some(
        (a) => /^max-age=0$/i.test(a) || /^expires=thu, 01 jan 1970/i.test(a),
      );
      if (gone) this.cookies.delete(name);
      else this.cookies.set(name, pair!.slice(eq + 1));
    }
  }

  header(only?: string[]): string {
    return [...this.cookies]
      .filter(([name]) => only === undefined || only.includes(name))
      .map(([name, value]) => `${name}=${value}`)
      .join('; ');
  }

  copy(only?: string[]): Jar {
    const jar = new Jar();
    for (const [name, value] of this.cookies) {
      if (only === undefined || only.includes(name)) jar.cookies.set(name, value);
    }
    return jar;
  }
}

describe.each(ADAPTERS)('device-bound sessions (DBSC): $name', (kind) => {
  let clock: number;
  let store: Store;
  let app: AdapterHarness;

  beforeEach(async () => {
    clock = Date.UTC(2026, 11, 2, 12, 0, 0);
    const now = (): number => clock;
    store = createMemoryStore({ purgeIntervalMs: 0, now });
    app = await kind.create({ store, now, dbsc: true });
  });

  afterEach(async () => {
    await app.close();
  });

  async function send(
    jar: Jar,
    method: 'GET' | 'POST',
    path: string,
    headers: Record<string, string> = {},
  ): Promise<HarnessResponse> {
    const cookie = jar.header();
    const response = await app.request({
      method,
      path,
      headers: { ...(cookie === '' ? {} : { cookie }), ...headers },
    });
    jar.take(response);
    return response;
  }

  async function signedInUser(jar: Jar): Promise<unknown> {
    const response = await send(jar.copy(), 'GET', '/data');
    expect(response.status).toBe(200);
    return (response.body as { data: Record<string, unknown> }).data.user;
  }

  /** Signs in and registers a key: the jar then holds the session and the bound cookie. */
  async function signInBound(key: DbscKey): Promise<{ jar: Jar; id: string }> {
    const jar = new Jar();
    const login = await send(jar, 'POST', '/login?user=alice');
    expect(login.status).toBe(200);
    const offer = parseRegistration(login.headers['secure-session-registration']);
    const registered = await send(jar, 'POST', offer.path, {
      'secure-session-response': sf(registrationProof(key, offer.challenge)),
    });
    expect(registered.status).toBe(200);
    const config = registered.body as { session_identifier: string };
    return { jar, id: config.session_identifier };
  }

  /** The browser's refresh: ask, get a challenge (403), sign it. */
  async function refresh(jar: Jar, id: string, key: DbscKey): Promise<HarnessResponse> {
    const asked = await send(jar, 'POST', REFRESH, { 'sec-secure-session-id': sf(id) });
    expect(asked.status).toBe(403);
    const { challenge } = parseChallenge(asked.headers['secure-session-challenge']);
    return send(jar, 'POST', REFRESH, {
      'sec-secure-session-id': sf(id),
      'secure-session-response': sf(refreshProof(key, challenge)),
    });
  }

  it('offers registration at sign-in, binds the key, and renews the bound cookie through a challenge', async () => {
    const key = makeKey();
    const jar = new Jar();
    const login = await send(jar, 'POST', '/login?user=alice');
    const offer = parseRegistration(login.headers['secure-session-registration']);
    expect(offer.algorithms).toEqual(['ES256', 'RS256']);
    expect(offer.path).toBe(REGISTER);
    expect(offer.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Before registration the session is an ordinary one.
    expect(await signedInUser(jar)).toBe('alice');

    const registered = await send(jar, 'POST', offer.path, {
      'secure-session-response': sf(registrationProof(key, offer.challenge)),
    });
    expect(registered.status).toBe(200);
    expect(registered.headers['cache-control']).toBe('no-store');
    const config = registered.body as Record<string, unknown>;
    expect(config).toEqual({
      session_identifier: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      refresh_url: REFRESH,
      scope: { include_site: false, scope_specification: [] },
      credentials: [{ type: 'cookie', name: BOUND, attributes: 'Path=/; HttpOnly; SameSite=Lax' }],
    });
    const bound = registered.setCookies.find((c) => c.startsWith(`${BOUND}=`));
    expect(bound).toMatch(
      /^tessera\.bound=[A-Za-z0-9_-]{43}; Max-Age=600; Path=\/; HttpOnly; SameSite=Lax$/,
    );
    expect(await signedInUser(jar)).toBe('alice');

    const id = config.session_identifier as string;
    const asked = await send(jar, 'POST', REFRESH, { 'sec-secure-session-id': sf(id) });
    expect(asked.status).toBe(403);
    const challenge = parseChallenge(asked.headers['secure-session-challenge']);
    expect(challenge.id).toBe(id);
    const before = jar.cookies.get(BOUND);
    const renewed = await send(jar, 'POST', REFRESH, {
      'sec-secure-session-id': sf(id),
      'secure-session-response': sf(refreshProof(key, challenge.challenge)),
    });
    expect(renewed.status).toBe(200);
    expect((renewed.body as Record<string, unknown>).session_identifier).toBe(id);
    expect(jar.cookies.get(BOUND)).not.toBe(before);
    expect(await signedInUser(jar)).toBe('alice');
  });

  it('a stolen bound cookie stops working after its lifetime; the key holder renews it', async () => {
    const key = makeKey();
    const { jar, id } = await signInBound(key);
    const thief = jar.copy();
    expect(await signedInUser(thief)).toBe('alice');

    clock += 601_000;
    const late = await send(thief, 'GET', '/data');
    expect((late.body as { data: Record<string, unknown> }).data.user).toBeUndefined();
    // The stale bound cookie is deleted, so a real browser refreshes before its next request.
    expect(late.setCookies).toContain(`${BOUND}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax`);

    expect((await refresh(jar, id, key)).status).toBe(200);
    expect(await signedInUser(jar)).toBe('alice');
  });

  it('a stolen session cookie alone cannot renew: the refresh needs the key', async () => {
    const key = makeKey();
    const { jar, id } = await signInBound(key);
    const sessionOnly = jar.copy().cookies;
    sessionOnly.delete(BOUND);
    const thief = new Jar();
    for (const [name, value] of sessionOnly) thief.cookies.set(name, value);

    expect(await signedInUser(thief)).toBeUndefined();
    const asked = await send(thief, 'POST', REFRESH, { 'sec-secure-session-id': sf(id) });
    expect(asked.status).toBe(403);
    const { challenge } = parseChallenge(asked.headers['secure-session-challenge']);
    const forged = await send(thief, 'POST', REFRESH, {
      'sec-secure-session-id': sf(id),
      'secure-session-response': sf(refreshProof(makeKey(), challenge)),
    });
    expect(forged.status).toBe(401);
    expect((forged.body as { error: string }).error).toBe('dbsc_invalid_proof');
    expect(forged.setCookies).toEqual([]);
    expect(await signedInUser(thief)).toBeUndefined();
    // Nor can it register a key of its own over the bound session.
    const other = makeKey();
    const rebind = await send(thief, 'POST', REGISTER, {
      'secure-session-response': sf(registrationProof(other, challenge)),
    });
    expect(rebind.status).toBe(403);
    // The challenge the thief could not sign is still the key holder's to use.
    const renewed = await send(jar, 'POST', REFRESH, {
      'sec-secure-session-id': sf(id),
      'secure-session-response': sf(refreshProof(key, challenge)),
    });
    expect(renewed.status).toBe(200);
  });

  it('a replayed refresh proof gets a new challenge and no cookie', async () => {
    const key = makeKey();
    const { jar, id } = await signInBound(key);
    const asked = await send(jar, 'POST', REFRESH, { 'sec-secure-session-id': sf(id) });
    const { challenge } = parseChallenge(asked.headers['secure-session-challenge']);
    const headers = {
      'sec-secure-session-id': sf(id),
      'secure-session-response': sf(refreshProof(key, challenge)),
    };
    expect((await send(jar, 'POST', REFRESH, headers)).status).toBe(200);
    const replay = await send(jar.copy([]), 'POST', REFRESH, {
      ...headers,
      cookie: jar.header(),
    });
    expect(replay.status).toBe(403);
    expect((replay.body as { error: string }).error).toBe('dbsc_challenge');
    expect(parseChallenge(replay.headers['secure-session-challenge']).challenge).not.toBe(
      challenge,
    );
    expect(replay.setCookies).toEqual([]);
  });

  it('refuses a private key, a wrong algorithm or typ, and malformed proofs, changing nothing', async () => {
    const key = makeKey();
    const jar = new Jar();
    const login = await send(jar, 'POST', '/login?user=alice');
    const { challenge } = parseRegistration(login.headers['secure-session-registration']);
    const attempts: [string, string, number, string][] = [
      [
        'private key in jwk',
        sf(
          signJwt(key, { alg: 'ES256', typ: 'dbsc+jwt', jwk: key.privateJwk }, { jti: challenge }),
        ),
        401,
        'dbsc_invalid_proof',
      ],
      ['HS256', sf(hs256Proof(challenge)), 401, 'dbsc_invalid_proof'],
      [
        'alg none',
        sf(
          `${Buffer.from('{"alg":"none","typ":"dbsc+jwt"}').toString('base64url')}.${Buffer.from(`{"jti":"${challenge}"}`).toString('base64url')}.`,
        ),
        400,
        'dbsc_malformed',
      ],
      [
        'typ JWT',
        sf(signJwt(key, { alg: 'ES256', typ: 'JWT', jwk: key.publicJwk }, { jti: challenge })),
        401,
        'dbsc_invalid_proof',
      ],
      [
        'another URL as aud',
        sf(registrationProof(key, challenge, { aud: 'https://evil.test/.tessera/dbsc/register' })),
        401,
        'dbsc_invalid_proof',
      ],
      ['two-part JWT', sf('eyJhbGciOiJFUzI1NiJ9.eyJqdGkiOiJ4In0'), 400, 'dbsc_malformed'],
      ['unterminated string', `"${registrationProof(key, challenge)}`, 400, 'dbsc_malformed'],
      ['no header', '', 400, 'dbsc_malformed'],
      [
        'no jwk',
        sf(signJwt(key, { alg: 'ES256', typ: 'dbsc+jwt' }, { jti: challenge })),
        400,
        'dbsc_malformed',
      ],
      [
        'signature by another key',
        sf(
          signJwt(
            makeKey(),
            { alg: 'ES256', typ: 'dbsc+jwt', jwk: key.publicJwk },
            { jti: challenge },
          ),
        ),
        401,
        'dbsc_invalid_proof',
      ],
    ];
    for (const [what, header, status, error] of attempts) {
      const response = await send(jar.copy(), 'POST', REGISTER, {
        ...(header === '' ? {} : { 'secure-session-response': header }),
      });
      expect({
        what,
        status: response.status,
        error: (response.body as { error?: string }).error,
      }).toEqual({
        what,
        status,
        error,
      });
      expect(response.setCookies).toEqual([]);
    }
    // Nothing was bound and the challenge was not spent: the session still works without a
    // bound cookie, and the real registration goes through.
    expect(await signedInUser(jar)).toBe('alice');
    const registered = await send(jar, 'POST', REGISTER, {
      'secure-session-response': sf(registrationProof(key, challenge)),
    });
    expect(registered.status).toBe(200);
  });

  it('refuses a replayed or stale registration challenge and registration without a sign-in', async () => {
    const key = makeKey();
    const jar = new Jar();
    const login = await send(jar, 'POST', '/login?user=alice');
    const { challenge } = parseRegistration(login.headers['secure-session-registration']);
    const anonymous = await send(new Jar(), 'POST', REGISTER, {
      'secure-session-response': sf(registrationProof(key, challenge)),
    });
    expect(anonymous.status).toBe(401);

    clock += 61_000;
    const stale = await send(jar, 'POST', REGISTER, {
      'secure-session-response': sf(registrationProof(key, challenge)),
    });
    expect(stale.status).toBe(403);
    expect((stale.body as { error: string }).error).toBe('dbsc_challenge');
    expect(await signedInUser(jar)).toBe('alice');
  });

  it('ends the device-bound session at sign-out: refresh answers continue:false', async () => {
    const key = makeKey();
    const { jar, id } = await signInBound(key);
    const copy = jar.copy();
    const logout = await send(jar, 'POST', '/logout');
    expect(logout.status).toBe(200);
    expect(jar.cookies.has(BOUND)).toBe(false);

    const asked = await send(copy, 'POST', REFRESH, { 'sec-secure-session-id': sf(id) });
    expect(asked.status).toBe(200);
    expect(asked.body).toEqual({ continue: false });
    expect(asked.headers['secure-session-challenge']).toBeUndefined();
    expect(copy.cookies.has(BOUND)).toBe(false);
  });

  it('refuses a refresh without Sec-Secure-Session-Id, and ends one for another session id', async () => {
    const key = makeKey();
    const { jar } = await signInBound(key);
    const missing = await send(jar.copy(), 'POST', REFRESH);
    expect(missing.status).toBe(400);
    expect((missing.body as { error: string }).error).toBe('dbsc_malformed');
    const other = await send(jar.copy(), 'POST', REFRESH, {
      'sec-secure-session-id': sf('not-this-one'),
    });
    expect(other.body).toEqual({ continue: false });
    expect(await signedInUser(jar)).toBe('alice');
  });
});

describe('device-bound sessions (DBSC): options, key types, HTTPS, revocation, outages', () => {
  const HOST_URL = 'https://app.test';
  let clock: number;
  let store: ControlledStore;
  let sessions: FetchSessions;
  let handler: (request: Request) => Promise<Response>;

  beforeEach(() => {
    clock = Date.UTC(2026, 11, 2, 12, 0, 0);
    store = createControlledStore(() => clock);
    sessions = createFetchSessions({ store, now: () => clock, dbsc: { cookieSeconds: 60 } });
    handler = sessions.wrap(async (request, { session }) => {
      if (new URL(request.url).pathname === '/login') {
        await session.login('alice');
        return Response.json({ ok: true });
      }
      return Response.json({ user: session.userId });
    });
  });

  function cookiesOf(response: Response, jar: Map<string, string>): void {
    for (const line of response.headers.getSetCookie()) {
      const pair = line.split(';')[0]!;
      const eq = pair.indexOf('=');
      if (/;\s*max-age=0/i.test(line)) jar.delete(pair.slice(0, eq));
      else jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
  }

  async function post(
    jar: Map<string, string>,
    path: string,
    headers: Record<string, string> = {},
  ) {
    const cookie = [...jar].map(([n, v]) => `${n}=${v}`).join('; ');
    const response = await handler(
      new Request(`${HOST_URL}${path}`, {
        method: 'POST',
        headers: {
          origin: HOST_URL,
          'sec-fetch-site': 'same-origin',
          ...(cookie ? { cookie } : {}),
          ...headers,
        },
      }),
    );
    cookiesOf(response, jar);
    return response;
  }

  async function user(jar: Map<string, string>): Promise<unknown> {
    const cookie = [...jar].map(([n, v]) => `${n}=${v}`).join('; ');
    const response = await handler(new Request(`${HOST_URL}/me`, { headers: { cookie } }));
    return ((await response.json()) as { user: unknown }).user;
  }

  async function bind(
    key: DbscKey,
  ): Promise<{ jar: Map<string, string>; id: string; registered: Response }> {
    const jar = new Map<string, string>();
    const login = await post(jar, '/login');
    const offer = parseRegistration(login.headers.get('secure-session-registration') ?? undefined);
    const registered = await post(jar, offer.path, {
      'secure-session-response': sf(registrationProof(key, offer.challenge)),
    });
    expect(registered.status).toBe(200);
    const { session_identifier: id } = (await registered.clone().json()) as {
      session_identifier: string;
    };
    return { jar, id, registered };
  }

  it('uses __Host- and Secure over HTTPS, and lists the attributes it sets', async () => {
    const { jar, registered } = await bind(makeKey());
    const setCookie = registered.headers
      .getSetCookie()
      .find((c) => c.startsWith('__Host-tessera.bound='));
    expect(setCookie).toMatch(/; Max-Age=60; Path=\/; Secure; HttpOnly; SameSite=Lax$/);
    const config = (await registered.json()) as { credentials: unknown[] };
    expect(config.credentials).toEqual([
      {
        type: 'cookie',
        name: '__Host-tessera.bound',
        attributes: 'Path=/; Secure; HttpOnly; SameSite=Lax',
      },
    ]);
    expect(await user(jar)).toBe('alice');
  });

  it('binds an RS256 key and refreshes with it; an ES256 proof for that session is refused', async () => {
    const key = makeKey('RS256');
    const { jar, id } = await bind(key);
    clock += 61_000;
    expect(await user(jar)).toBeNull();
    const asked = await post(jar, REFRESH, { 'sec-secure-session-id': sf(id) });
    const { challenge } = parseChallenge(
      asked.headers.get('secure-session-challenge') ?? undefined,
    );
    const wrongAlg = await post(jar, REFRESH, {
      'sec-secure-session-id': sf(id),
      'secure-session-response': sf(refreshProof(makeKey('ES256'), challenge)),
    });
    expect(wrongAlg.status).toBe(401);
    const renewed = await post(jar, REFRESH, {
      'sec-secure-session-id': sf(id),
      'secure-session-response': sf(refreshProof(key, challenge)),
    });
    expect(renewed.status).toBe(200);
    expect(await user(jar)).toBe('alice');
  });

  it('revocation on the server ends refresh, with continue:false and no cookie', async () => {
    const key = makeKey();
    const { jar, id } = await bind(key);
    expect(await sessions.manager.revokeUserSessions('alice')).toBe(1);
    expect(await user(jar)).toBeNull();
    const asked = await post(jar, REFRESH, { 'sec-secure-session-id': sf(id) });
    expect(asked.status).toBe(200);
    expect(await asked.json()).toEqual({ continue: false });
    expect(asked.headers.get('secure-session-challenge')).toBeNull();
  });

  it('answers 503 while the store is down, and works again after', async () => {
    const key = makeKey();
    const { jar, id } = await bind(key);
    store.mode = 'reject';
    const down = await post(jar, REFRESH, { 'sec-secure-session-id': sf(id) });
    expect(down.status).toBe(503);
    store.mode = 'up';
    const asked = await post(jar, REFRESH, { 'sec-secure-session-id': sf(id) });
    expect(asked.status).toBe(403);
  });

  it('refuses bad options at construction with ERR_CONFIG naming them', () => {
    const bad: [unknown, RegExp][] = [
      [{ cookieSeconds: 10 }, /cookieSeconds/],
      [{ challengeSeconds: 0 }, /challengeSeconds/],
      [{ algorithms: ['HS256'] }, /algorithms/],
      [{ registrationPath: 'register' }, /registrationPath/],
      [{ refreshPath: '/.tessera/dbsc/register' }, /must differ/],
      [{ cookieName: 'a b' }, /cookieName/],
      [{ lifetime: 5 }, /unknown option lifetime/],
    ];
    for (const [options, message] of bad) {
      expect(() => createDbsc(createMemoryStore(), options as DbscOptions)).toThrow(message);
      try {
        createDbsc(createMemoryStore(), options as DbscOptions);
      } catch (error) {
        expect(isTesseraError(error, 'ERR_CONFIG')).toBe(true);
      }
    }
  });

  it('a new sign-in drops the old binding and offers a new one', async () => {
    const { jar } = await bind(makeKey());
    const again = await post(jar, '/login');
    const offer = parseRegistration(again.headers.get('secure-session-registration') ?? undefined);
    // The new session is not bound yet: its cookie alone signs in, even without a bound cookie.
    const sessionOnly = new Map([...jar].filter(([name]) => !name.includes('bound')));
    expect(await user(sessionOnly)).toBe('alice');
    const registered = await post(jar, offer.path, {
      'secure-session-response': sf(registrationProof(makeKey(), offer.challenge)),
    });
    expect(registered.status).toBe(200);
    expect(await user(sessionOnly)).toBeNull();
    expect(await user(jar)).toBe('alice');
  });

  it('needs the session cookie on every path', () => {
    expect(() =>
      createFetchSessions({ store: createMemoryStore(), cookie: { path: '/app' }, dbsc: true }),
    ).toThrow(/dbsc needs cookie.path '\/'/);
  });

  it('needs a Tessera store: an express-session or @fastify/session store is refused', async () => {
    expect(() =>
      expressSession({
        secret: 'x'.repeat(32),
        store: new expressSession.MemoryStore(),
        dbsc: true,
      }),
    ).toThrow(/dbsc needs a Tessera store/);
    const app = Fastify();
    await expect(
      app.register(fastifySession, {
        secret: 'x'.repeat(32),
        store: new FastifyMemoryStore(),
        dbsc: true,
      }),
    ).rejects.toThrow(/dbsc needs a Tessera store/);
  });
});
