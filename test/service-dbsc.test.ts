/**
 * The reference service with TESSERA_DBSC=1, for real over HTTP: a browser sign-in offers a
 * device-bound session, the scripted client registers a key, `/api/me` then needs the bound
 * cookie, the cookie dies after TESSERA_DBSC_COOKIE_TTL and comes back through a signed
 * challenge, and sign-out ends refresh. Without the setting nothing is offered.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveServiceConfig } from '../packages/server/src/service/config.js';
import { type RunningService, startService } from '../packages/server/src/service/serve.js';
import {
  makeKey,
  parseChallenge,
  parseRegistration,
  refreshProof,
  registrationProof,
  sf,
} from './support/dbsc-client.js';
import { call } from './support/service.js';

const running: RunningService[] = [];
const quiet = new Writable({ write: (_c, _e, done) => done() });
let clock = Date.now();

async function start(env: Record<string, string>): Promise<RunningService> {
  const config = resolveServiceConfig(
    { port: '0', store: 'memory:', demo: true },
    { TESSERA_LOG_LEVEL: 'silent', ...env },
  );
  const service = await startService(config, { logDestination: quiet, now: () => clock });
  running.push(service);
  return service;
}

afterEach(async () => {
  for (const service of running.splice(0)) await service.close();
});

/** `name=value` pairs of a response's Set-Cookie headers, merged into `jar`. */
function keep(jar: Map<string, string>, response: Response): void {
  for (const line of response.headers.getSetCookie()) {
    const pair = line.split(';')[0]!;
    const eq = pair.indexOf('=');
    if (/;\s*max-age=0/i.test(line)) jar.delete(pair.slice(0, eq));
    else jar.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
}

function cookieHeader(jar: Map<string, string>, only?: string[]): string {
  return [...jar]
    .filter(([name]) => only === undefined || only.includes(name))
    .map(([n, v]) => `${n}=${v}`)
    .join('; ');
}

describe('tessera serve with TESSERA_DBSC=1', () => {
  it('binds a browser sign-in to a key; /api/me needs the bound cookie, renewed only with the key', async () => {
    clock = Date.now();
    const service = await start({ TESSERA_DBSC: '1', TESSERA_DBSC_COOKIE_TTL: '120' });
    const url = service.url;
    const jar = new Map<string, string>();
    const post = async (path: string, headers: Record<string, string> = {}): Promise<Response> => {
      const response = await call(`${url}${path}`, {
        method: 'POST',
        headers: { origin: url, cookie: cookieHeader(jar), ...headers },
      });
      keep(jar, response);
      return response;
    };
    const me = async (only?: string[]): Promise<number> =>
      (await call(`${url}/api/me`, { headers: { cookie: cookieHeader(jar, only) } })).status;

    const login = await call(`${url}/login`, {
      method: 'POST',
      headers: { origin: url, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=alice&password=alice-password',
    });
    expect(login.status).toBe(303);
    keep(jar, login);
    const offer = parseRegistration(login.headers.get('secure-session-registration') ?? undefined);
    expect(offer.path).toBe('/.tessera/dbsc/register');
    expect(await me()).toBe(200);

    const key = makeKey();
    const registered = await post(offer.path, {
      'secure-session-response': sf(registrationProof(key, offer.challenge)),
    });
    expect(registered.status).toBe(200);
    const { session_identifier: id } = (await registered.json()) as { session_identifier: string };
    expect(jar.has('tessera.bound')).toBe(true);
    expect(await me()).toBe(200);
    // The session cookie alone is not a signed-in request any more.
    expect(await me(['tessera.sid'])).toBe(401);

    clock += 121_000;
    expect(await me()).toBe(401);
    const asked = await post('/.tessera/dbsc/refresh', { 'sec-secure-session-id': sf(id) });
    expect(asked.status).toBe(403);
    const { challenge } = parseChallenge(
      asked.headers.get('secure-session-challenge') ?? undefined,
    );
    const renewed = await post('/.tessera/dbsc/refresh', {
      'sec-secure-session-id': sf(id),
      'secure-session-response': sf(refreshProof(key, challenge)),
    });
    expect(renewed.status).toBe(200);
    expect(renewed.headers.get('set-cookie')).toMatch(/^tessera\.bound=[^;]+; Max-Age=120;/);
    expect(await me()).toBe(200);

    const saved = new Map(jar);
    expect((await post('/api/logout')).status).toBe(204);
    jar.clear();
    for (const [n, v] of saved) jar.set(n, v);
    const ended = await post('/.tessera/dbsc/refresh', { 'sec-secure-session-id': sf(id) });
    expect(ended.status).toBe(200);
    expect(await ended.json()).toEqual({ continue: false });
  });

  it('offers nothing without the setting', async () => {
    const service = await start({});
    const login = await call(`${service.url}/login`, {
      method: 'POST',
      headers: { origin: service.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=alice&password=alice-password',
    });
    expect(login.status).toBe(303);
    expect(login.headers.get('secure-session-registration')).toBeNull();
    const refresh = await call(`${service.url}/.tessera/dbsc/refresh`, {
      method: 'POST',
      headers: { origin: service.url, 'sec-secure-session-id': sf('x') },
    });
    expect(refresh.status).toBe(404);
  });

  it('refuses a bad TESSERA_DBSC value at start', () => {
    expect(() =>
      resolveServiceConfig({ port: '0', store: 'memory:' }, { TESSERA_DBSC: 'maybe' }),
    ).toThrow(/TESSERA_DBSC must be 1 or 0/);
    expect(() =>
      resolveServiceConfig({ port: '0', store: 'memory:' }, { TESSERA_DBSC_COOKIE_TTL: '5' }),
    ).toThrow(/TESSERA_DBSC_COOKIE_TTL/);
  });
});
