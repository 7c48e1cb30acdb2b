import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createSessionManager } from '../../core/manager.js';
import { createMemoryStore } from '../../stores/memory/index.js';
import { session } from './index.js';

describe('tessera-session/express with a shared session manager', () => {
  it('uses the given manager, exposes it, and its events see the middleware’s sessions', async () => {
    const manager = createSessionManager({ store: createMemoryStore() });
    const created: string[] = [];
    manager.on('created', (event) => created.push(event.handle));
    const middleware = session({ secret: 'x'.repeat(32), manager });
    expect(middleware.manager).toBe(manager);
    expect(middleware.store).toBe(manager.store);
    const app = express();
    app.use(middleware);
    app.get('/', (req, res) => {
      (req.session as unknown as Record<string, number>).views = 1;
      res.end('ok');
    });
    const res = await request(app).get('/');
    expect(res.headers['set-cookie']).toBeDefined();
    expect(created).toHaveLength(1);
  });

  it('exposes its own manager when it makes one over a Tessera store', () => {
    const middleware = session({ secret: 'x'.repeat(32), store: createMemoryStore() });
    expect(middleware.manager?.store).toBe(middleware.store);
  });
});

describe('tessera-session/express hostPrefix', () => {
  function app() {
    const application = express();
    application.set('trust proxy', 1);
    application.use(
      session({
        secret: 'x'.repeat(32),
        name: 'sid',
        hostPrefix: true,
        cookie: { secure: 'auto' },
      }),
    );
    application.get('/', (req, res) => {
      const data = req.session as unknown as Record<string, number>;
      data.views = (data.views ?? 0) + 1;
      res.json({ views: data.views });
    });
    return application;
  }

  it('names a Secure cookie __Host-<name> and reads only that name on HTTPS', async () => {
    const application = app();
    const first = await request(application).get('/').set('X-Forwarded-Proto', 'https');
    const cookie = String(first.headers['set-cookie']?.[0]);
    expect(cookie).toMatch(/^__Host-sid=s%3A/);
    expect(cookie).toContain('Secure');
    const pair = cookie.split(';')[0]!;
    const again = await request(application)
      .get('/')
      .set('X-Forwarded-Proto', 'https')
      .set('Cookie', pair);
    expect(again.body.views).toBe(2);
    // The same value under the plain name is not honoured on HTTPS.
    const tossed = await request(application)
      .get('/')
      .set('X-Forwarded-Proto', 'https')
      .set('Cookie', pair.replace('__Host-sid', 'sid'));
    expect(tossed.body.views).toBe(1);
  });

  it('keeps the plain name on plain HTTP and refuses a domain', async () => {
    const first = await request(app()).get('/');
    expect(String(first.headers['set-cookie']?.[0])).toMatch(/^sid=/);
    expect(() =>
      session({ secret: 'x'.repeat(32), hostPrefix: true, cookie: { domain: 'example.com' } }),
    ).toThrow(/hostPrefix/);
  });
});
