/**
 * The Express middleware turns each request's `req` and `res` into V8 dictionary-mode
 * objects (docs/express.md "Why an Express app gets faster"): Express re-prototypes both,
 * after which every property added to them costs a new hidden class per request. What users
 * can see of it is nothing but the key order of `req.res` and `res.req`; what makes the app
 * faster is the mode itself, checked here with V8's own `%HasFastProperties` (so a Node, V8
 * or Express upgrade that defeats it fails this test instead of silently slowing apps down).
 */
import { setFlagsFromString } from 'node:v8';
import express, { type Express } from 'express';
import express4 from 'express4';
import { describe, expect, it } from 'vitest';
import session from '../../packages/session/src/adapters/express/index.js';
import { createMemoryStore } from '../../packages/session/src/stores/memory/index.js';
import { SECRET } from './support.js';

setFlagsFromString('--allow-natives-syntax');
const hasFastProperties = new Function('object', 'return %HasFastProperties(object)') as (
  object: object,
) => boolean;

const majors: Array<[string, () => Express]> = [
  ['Express 5', express],
  ['Express 4', express4 as unknown as () => Express],
];

interface Seen {
  reqFast: boolean;
  resFast: boolean;
  sameRes: boolean;
  sameReq: boolean;
  reqKeys: string[];
  resDescriptor: PropertyDescriptor | undefined;
}

async function seenBy(
  factory: () => Express,
  withSession: boolean,
  where: 'app' | 'sub-app' = 'app',
): Promise<Seen> {
  const app = factory();
  if (withSession) {
    app.use(
      session({
        secret: SECRET,
        resave: false,
        saveUninitialized: false,
        store: createMemoryStore({ purgeIntervalMs: 0 }),
      }),
    );
  }
  let seen: Seen | undefined;
  // A mounted sub-app gives req and res a prototype of its own once more.
  const routes = where === 'app' ? app : factory();
  if (routes !== app) app.use('/sub', routes);
  routes.get('/', (req, res) => {
    seen = {
      reqFast: hasFastProperties(req),
      resFast: hasFastProperties(res),
      sameRes: req.res === res,
      sameReq: res.req === req,
      reqKeys: Object.keys(req),
      resDescriptor: Object.getOwnPropertyDescriptor(req, 'res'),
    };
    res.json({ ok: true });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const { port } = server.address() as { port: number };
    const path = where === 'app' ? '/' : '/sub/';
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    expect(response.status).toBe(200);
  } finally {
    server.close();
  }
  if (seen === undefined) throw new Error('the route did not run');
  return seen;
}

describe.each(majors)('req and res shapes under %s', (_name, factory) => {
  it('without the middleware, Express leaves req and res in fast mode (the control)', async () => {
    const seen = await seenBy(factory, false);
    expect(seen.reqFast).toBe(true);
    expect(seen.resFast).toBe(true);
  });

  it('with it, both are dictionary-mode objects whose circular references are unchanged', async () => {
    const seen = await seenBy(factory, true);
    expect(seen.reqFast).toBe(false);
    expect(seen.resFast).toBe(false);
    expect(seen.sameRes).toBe(true);
    expect(seen.sameReq).toBe(true);
    expect(seen.reqKeys).toContain('res');
    expect(seen.resDescriptor).toMatchObject({
      writable: true,
      enumerable: true,
      configurable: true,
    });
  });

  it('a route in a mounted sub-app (re-prototyped again) still gets dictionary-mode objects', async () => {
    const seen = await seenBy(factory, true, 'sub-app');
    expect(seen.reqFast).toBe(false);
    expect(seen.resFast).toBe(false);
    expect(seen.sameRes).toBe(true);
    expect(seen.sameReq).toBe(true);
  });
});
