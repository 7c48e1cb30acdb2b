/**
 * Two copies of tessera-session/express in one process (an app that loads the CommonJS build
 * and a dependency that loads the ESM one, or two versions): both install the shared
 * `req.sessionID`/`req.sessionStore` accessors on Express's base request object, and each
 * copy's requests must keep reading their own values, whichever copy came first. This file
 * runs in its own process, so each Express major starts with nothing installed.
 */
import express, { type Express } from 'express';
import express4 from 'express4';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import session from '../../packages/session/src/adapters/express/index.js';
import { createMemoryStore } from '../../packages/session/src/stores/memory/index.js';
import { type Loose, SECRET } from './support.js';

// The built package is another copy of the module: its own symbols, its own accessors.
const built = '../../packages/session/dist/adapters/express/index.js';
const { default: otherCopy } = (await import(built)) as { default: typeof session };

function appOf(factory: () => Express, copy: typeof session): { app: Express; store: unknown } {
  const store = createMemoryStore({ purgeIntervalMs: 0 });
  const app = factory();
  app.use(copy({ secret: SECRET, resave: false, saveUninitialized: false, store }));
  app.get('/', (req, res) => {
    const r = req as Loose;
    r.session.views = (r.session.views ?? 0) + 1;
    res.json({
      views: r.session.views,
      id: typeof r.sessionID === 'string' && r.sessionID === r.session.id,
      store: r.sessionStore === store,
    });
  });
  return { app, store };
}

const cases: Array<[string, () => Express, 'source first' | 'build first']> = [
  ['Express 5', express, 'build first'],
  ['Express 4', express4 as unknown as () => Express, 'source first'],
];

describe.each(cases)('%s, %s', (_name, factory, order) => {
  it('each copy reads its own requests’ sessionID and sessionStore', async () => {
    const first = appOf(factory, order === 'build first' ? otherCopy : session);
    const second = appOf(factory, order === 'build first' ? session : otherCopy);
    const a = request.agent(first.app);
    const b = request.agent(second.app);
    for (const views of [1, 2]) {
      expect((await a.get('/')).body).toEqual({ views, id: true, store: true });
      expect((await b.get('/')).body).toEqual({ views, id: true, store: true });
    }
  });
});
