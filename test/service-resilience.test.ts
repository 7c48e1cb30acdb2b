/**
 * The service started in-process on a memory store: suspicious activity (a session used from
 * another browser family) is noted on the devices page, counted and logged; a store that goes
 * away yields 503 (health and requests), keeps the browser's cookie, and never a 500.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveServiceConfig } from '../packages/server/src/service/config.js';
import { type RunningService, startService } from '../packages/server/src/service/serve.js';
import { call } from './support/service.js';

const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';
let service: RunningService;
let logs = '';

beforeAll(async () => {
  const config = resolveServiceConfig(
    { port: '0', store: 'memory:', demo: true },
    { TESSERA_LOG_LEVEL: 'info', TESSERA_METRICS_TOKEN: METRICS_TOKEN },
  );
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs += chunk.toString('utf8');
      done();
    },
  });
  service = await startService(config, { logDestination: destination });
});

afterAll(async () => {
  await service.close();
});

async function login(userAgent: string): Promise<string> {
  const res = await call(`${service.url}/login`, {
    method: 'POST',
    headers: {
      origin: service.url,
      'content-type': 'application/x-www-form-urlencoded',
      'user-agent': userAgent,
    },
    body: 'username=alice&password=alice-password',
  });
  expect(res.status).toBe(303);
  return (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
}

describe('suspicious activity', () => {
  it('notes a session used from another browser family, counts and logs it', async () => {
    const cookie = await login('Mozilla/5.0 (X11) Chrome/130.0 Safari/537.36');
    const page = await call(`${service.url}/sessions`, {
      headers: { cookie, 'user-agent': 'Mozilla/5.0 (X11; rv:130.0) Gecko/20100101 Firefox/130.0' },
    });
    expect(page.status).toBe(200);
    const again = await call(`${service.url}/sessions`, {
      headers: { cookie, 'user-agent': 'Mozilla/5.0 (X11; rv:130.0) Gecko/20100101 Firefox/130.0' },
    });
    const html = await again.text();
    expect(html).toContain('Unusual activity');
    expect(html).toContain('user-agent changed from Chrome to Firefox');
    const metrics = await (
      await call(`${service.url}/metrics`, {
        headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      })
    ).text();
    expect(metrics).toMatch(/^tessera_anomalies_total\{kind="user-agent",action="note"\} 1$/m);
    expect(logs).toContain('"event":"anomaly"');
  });

  it('escapes what clients control', async () => {
    const cookie = await login('<script>alert(1)</script> Chrome/130.0');
    const html = await (
      await call(`${service.url}/sessions`, {
        headers: { cookie, 'user-agent': '<script>alert(1)</script> Chrome/130.0' },
      })
    ).text();
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
  });
});

describe('probing', () => {
  it('throttles a burst of unknown tokens from one address with 429 and logs it; valid credentials still pass', async () => {
    let probeLogs = '';
    const probed = await startService(
      resolveServiceConfig(
        { port: '0', store: 'memory:', demo: true },
        { TESSERA_LOG_LEVEL: 'warn' },
      ),
      {
        logDestination: new Writable({
          write(chunk: Buffer, _encoding, done) {
            probeLogs += chunk.toString('utf8');
            done();
          },
        }),
      },
    );
    try {
      // A browser session and a token client from the same address, signed in before the burst.
      const signIn = await call(`${probed.url}/login`, {
        method: 'POST',
        headers: { origin: probed.url, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'username=alice&password=alice-password',
      });
      const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      const pair = (await (
        await call(`${probed.url}/api/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'bob', password: 'bob-password' }),
        })
      ).json()) as { access_token: string };
      const statuses: number[] = [];
      for (let i = 0; i < 31; i++) {
        const res = await call(`${probed.url}/api/me`, {
          headers: { authorization: `Bearer guess.${i}.token` },
        });
        statuses.push(res.status);
        if (res.status === 429) expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      }
      expect(statuses.slice(0, 30).every((s) => s === 401)).toBe(true);
      expect(statuses[30]).toBe(429);
      // Only unknown credentials are refused: a valid session or token from the same address
      // (one NAT, one proxy) goes through, and so does a request without any credential.
      expect((await call(`${probed.url}/dashboard`, { headers: { cookie } })).status).toBe(200);
      const me = await call(`${probed.url}/api/me`, {
        headers: { authorization: `Bearer ${pair.access_token}` },
      });
      expect(me.status).toBe(200);
      expect((await call(`${probed.url}/dashboard`)).status).toBe(303);
      expect((await call(`${probed.url}/`)).status).toBe(200);
      const unknownCookie = await call(`${probed.url}/dashboard`, {
        headers: { cookie: 'tessera.sid=s%3Aunknown.sig' },
      });
      expect(unknownCookie.status).toBe(429);
      expect(probeLogs).toContain('"event":"probe_burst"');
      expect(probeLogs).not.toContain('guess.');
    } finally {
      await probed.close();
    }
  });
});

describe('store outage', () => {
  it('answers 503 and keeps the cookie when the store is gone', async () => {
    const cookie = await login('Mozilla/5.0 Chrome/130.0');
    await service.store.close();
    const health = await call(`${service.url}/healthz`);
    // The health answer is cached for up to a second.
    let status = health.status;
    for (let i = 0; i < 20 && status !== 503; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await call(`${service.url}/healthz`)).status;
    }
    expect(status).toBe(503);
    const me = await call(`${service.url}/api/me`, { headers: { cookie } });
    expect(me.status).toBe(503);
    expect(await me.json()).toMatchObject({ error: 'store_unavailable' });
    expect(me.headers.get('set-cookie')).toBeNull();
    const page = await call(`${service.url}/dashboard`, { headers: { cookie } });
    expect(page.status).toBe(503);
    expect(page.headers.get('set-cookie')).toBeNull();
    const token = await call(`${service.url}/api/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'alice-password' }),
    });
    expect(token.status).toBe(503);
  });
});
