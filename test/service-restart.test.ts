/**
 * A restart of the service on the same SQLite file keeps every session (browser cookies and
 * token clients) and the signing keys; SIGTERM shuts the service down cleanly.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  call,
  postJson,
  type StartedService,
  startServiceProcess,
  tempDir,
} from './support/service.js';

const store = `sqlite:${join(tempDir(), 'tessera.db')}`;
let running: StartedService | undefined;

afterAll(async () => {
  await running?.stop();
});

describe('restart on SQLite', () => {
  it('keeps cookie sessions, token sessions and keys across a SIGTERM and a new start', async () => {
    running = await startServiceProcess(['--demo', '--store', store]);
    const first = running.url;
    const login = await call(`${first}/login`, {
      method: 'POST',
      headers: { origin: first, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=alice&password=alice-password&remember=1',
    });
    expect(login.status).toBe(303);
    const setCookie = login.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/Expires=/); // "remember me": a persistent cookie
    const cookie = setCookie.split(';')[0] ?? '';
    const pair = (await (
      await postJson(`${first}/api/token`, { username: 'bob', password: 'bob-password' })
    ).json()) as {
      access_token: string;
      refresh_token: string;
      session_id: string;
    };
    const jwks = await (await call(`${first}/.well-known/jwks.json`)).json();

    expect(await running.stop()).toBe(0);
    expect(running.output()).toContain('"event":"stopped"');

    // Restarted in demo mode again: without --demo the demo accounts and their sessions are
    // removed (issue 11, finding 8; see service-security.test.ts).
    running = await startServiceProcess(['--demo', '--store', store]);
    const second = running.url;
    expect(await (await call(`${second}/.well-known/jwks.json`)).json()).toEqual(jwks);
    const me = await call(`${second}/api/me`, { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ sub: 'alice', strategy: 'server' });
    const dashboard = await call(`${second}/dashboard`, { headers: { cookie } });
    expect(dashboard.status).toBe(200);
    expect(await dashboard.text()).toContain('Signed in as alice');
    const token = await call(`${second}/api/me`, {
      headers: { authorization: `Bearer ${pair.access_token}` },
    });
    expect(token.status).toBe(200);
    const refreshed = await postJson(`${second}/api/token/refresh`, {
      refresh_token: pair.refresh_token,
    });
    expect(refreshed.status).toBe(200);
    expect(await refreshed.json()).toMatchObject({ session_id: pair.session_id });
  });
});
