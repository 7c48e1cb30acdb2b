/**
 * The apps `tarball.test.ts` installs the packed library into, written as a user would write
 * them. Each server app answers `GET /` with the session's view count and, once listening on
 * 127.0.0.1, makes two requests to itself (the second with the first's cookie) and prints what
 * it saw as one JSON line. The TypeScript files use `@ts-expect-error` on a wrongly typed read,
 * so a declaration that degrades to `any` fails the compile too.
 */

const SECRET = 'a-secret-of-at-least-32-characters-long';

const CLIENT = `
async function twoRequests(port) {
  const url = 'http://127.0.0.1:' + port + '/';
  const a = await fetch(url);
  const setCookie = a.headers.get('set-cookie');
  const first = (await a.json()).views === 1 ? 'ok' : 'first request saw another count';
  const b = await fetch(url, { headers: { cookie: String(setCookie).split(';')[0] } });
  return { first, second: await b.json(), cookie: setCookie !== null };
}
`;

const EXPRESS_ROUTES = `
const app = express();
app.use(session({ secret: '${SECRET}', resave: false, saveUninitialized: false }));
app.get('/', (req, res) => {
  req.session.views = (req.session.views || 0) + 1;
  res.json({ views: req.session.views });
});
const server = app.listen(0, '127.0.0.1', async () => {
  console.log(JSON.stringify(await twoRequests(server.address().port)));
  server.close();
});
`;

const FASTIFY_ROUTES = `
app.get('/', async (request) => {
  request.session.views = (request.session.views || 0) + 1;
  return { views: request.session.views };
});
app.listen({ port: 0, host: '127.0.0.1' }).then(async () => {
  console.log(JSON.stringify(await twoRequests(app.server.address().port)));
  await app.close();
});
`;

const SHAPE = `
const session = require('tessera-session/express');
const out = {
  express: [session, session.Store, session.MemoryStore, session.Session, session.Cookie, session.requireToken].map((x) => typeof x),
};
const subpaths = ['', '/fetch', '/tokens', '/client', '/cookies', '/csrf', '/stores/memory', '/stores/file', '/stores/cache'];
const empty = subpaths.filter((s) => Object.keys(require('tessera-session' + s)).length === 0);
out.subpaths = empty.length === 0 ? 'all loaded' : 'empty: ' + empty.join(', ');
const fastify = require('tessera-session/fastify');
out.fastify = [typeof fastify, typeof fastify.default];
import('tessera-session/express').then((esm) => {
  out.sameAsImport = esm.default === session && esm.Store === session.Store && esm.requireToken === session.requireToken;
  console.log(JSON.stringify({ express: out.express, sameAsImport: out.sameAsImport, subpaths: out.subpaths, fastify: out.fastify }));
});
`;

const TS_OPTIONS = {
  strict: true,
  exactOptionalPropertyTypes: true,
  skipLibCheck: false,
  noEmit: true,
  target: 'es2022',
  types: [],
};

function tsconfig(options: Record<string, unknown>, files: string[]): string {
  return JSON.stringify({ compilerOptions: { ...TS_OPTIONS, ...options }, files });
}

const TS_AUGMENT = `
declare module 'tessera-session/express' {
  interface SessionData {
    views?: number;
  }
}
`;

/** Express handlers typed through `SessionData`, for any module syntax. */
const TS_EXPRESS_BODY = `
const app = express();
app.use(session({ secret: '${SECRET}', store: new session.MemoryStore(), cookie: { maxAge: 86_400_000 } }));
app.get('/', (req, res) => {
  req.session.views = (req.session.views ?? 0) + 1;
  // @ts-expect-error views is a number, so this read is caught
  const wrong: string | undefined = req.session.views;
  res.json({ wrong, views: req.session.views, id: req.sessionID, sub: req.auth?.sub });
});
app.post('/login', async (req, res) => {
  await req.session.login('user-1', { remember: true });
  req.session.regenerate((error) => res.status(error ? 500 : 204).end());
});
app.get('/api/me', requireToken(guard), (req, res) => {
  res.json({ sub: req.auth?.sub });
});
`;

const TS_FASTIFY_BODY = `
const app = Fastify();
await app.register(tessera, { store: createMemoryStore() });
app.decorateRequest('auth', null);
app.get('/', async (request) => {
  request.session.views = ((request.session.views as number | undefined) ?? 0) + 1;
  return { views: request.session.views, sub: request.auth?.sub ?? null };
});
app.get('/api/me', { preHandler: requireToken(guard) }, async (request) => ({ sub: request.auth?.sub }));
`;

const TS_TOKENS = `
const jwk: JWK = await generateKey('EdDSA');
const tokens = createAccessTokens({ keys: [jwk], issuer: 'https://issuer.test', audience: 'api' });
const jwks: JSONWebKeySet = tokens.jwks();
const guard = createTokenGuard({ tokens });
void jwks;
`;

const TS_ESM_IMPORTS = `
import { createTokenGuard } from 'tessera-session';
import { createAccessTokens, generateKey, type JSONWebKeySet, type JWK } from 'tessera-session/tokens';
import { createMemoryStore } from 'tessera-session/stores/memory';
import type { PostgresStoreOptions } from 'tessera-session/stores/postgres';
import type { SqliteStoreOptions } from 'tessera-session/stores/sqlite';
import { createFileStore } from 'tessera-session/stores/file';
import { withReadCache } from 'tessera-session/stores/cache';
import { withSession } from 'tessera-session/fetch';
import { createClient } from 'tessera-session/client';
import { createCookieSealer } from 'tessera-session/cookies';
import { createCsrfGuard } from 'tessera-session/csrf';
void [createMemoryStore, createFileStore, withReadCache, withSession, createClient, createCookieSealer, createCsrfGuard];
export type Unused = [PostgresStoreOptions, SqliteStoreOptions];
`;

/** Files of the three apps, by app. */
export function consumerFiles(): Record<'express' | 'fastify' | 'types', Record<string, string>> {
  return {
    express: {
      'server.cjs': `const express = require('express');\nconst session = require('tessera-session/express');\n${CLIENT}${EXPRESS_ROUTES}`,
      'server.mjs': `import express from 'express';\nimport session, { Store } from 'tessera-session/express';\nif (Store !== session.Store) throw new Error('two Store classes');\n${CLIENT}${EXPRESS_ROUTES}`,
      'shape.cjs': SHAPE,
    },
    fastify: {
      'server.cjs': `const Fastify = require('fastify');\nconst app = Fastify();\napp.register(require('tessera-session/fastify'));\n${CLIENT}${FASTIFY_ROUTES}`,
      'server.mjs': `import Fastify from 'fastify';\nimport tessera from 'tessera-session/fastify';\nconst app = Fastify();\nawait app.register(tessera);\n${CLIENT}${FASTIFY_ROUTES}`,
    },
    types: {
      'express-esm.mts': `import express from 'express';\nimport session, { requireToken } from 'tessera-session/express';\n${TS_ESM_IMPORTS}${TS_AUGMENT}${TS_TOKENS}${TS_EXPRESS_BODY}`,
      'fastify-esm.mts': `import Fastify from 'fastify';\nimport tessera, { requireToken } from 'tessera-session/fastify';\n${TS_ESM_IMPORTS}${TS_TOKENS}${TS_FASTIFY_BODY}`,
      'express-cjs.cts': `import express = require('express');\nimport session = require('tessera-session/express');\nimport { createTokenGuard } from 'tessera-session';\nimport { createAccessTokens, generateKey, type JSONWebKeySet, type JWK } from 'tessera-session/tokens';\nconst requireToken = session.requireToken;\n${TS_AUGMENT}async function main(): Promise<void> {\n${TS_TOKENS}${TS_EXPRESS_BODY}}\nvoid main;\n`,
      'fastify-cjs.cts': `import Fastify = require('fastify');\nimport tessera = require('tessera-session/fastify');\nimport { createTokenGuard } from 'tessera-session';\nimport { createMemoryStore } from 'tessera-session/stores/memory';\nimport { createAccessTokens, generateKey, type JSONWebKeySet, type JWK } from 'tessera-session/tokens';\nconst requireToken = tessera.requireToken;\nasync function main(): Promise<void> {\n${TS_TOKENS}${TS_FASTIFY_BODY}}\nvoid main;\n`,
      'node10.ts': `import express = require('express');\nimport session = require('tessera-session/express');\nimport { createTokenGuard } from 'tessera-session';\nimport { createAccessTokens, generateKey, type JSONWebKeySet, type JWK } from 'tessera-session/tokens';\nimport { createMemoryStore } from 'tessera-session/stores/memory';\nconst requireToken = session.requireToken;\nvoid createMemoryStore;\n${TS_AUGMENT}async function main(): Promise<void> {\n${TS_TOKENS}${TS_EXPRESS_BODY}}\nvoid main;\n`,
      'bundler.ts': `import express from 'express';\nimport session, { requireToken } from 'tessera-session/express';\n${TS_ESM_IMPORTS}${TS_AUGMENT}${TS_TOKENS}${TS_EXPRESS_BODY}`,
      'coexist.mts': `import express from 'express';\nimport 'express-session';\nimport session from 'tessera-session/express';\n
declare module 'express-session' {
  interface SessionData {
    user?: string;
  }
}
declare module 'tessera-session/express' {
  interface SessionData {
    views?: number;
  }
}
const app = express();
app.use(session({ secret: '${SECRET}' }));
app.get('/', (req, res) => {
  req.session.user = 'alice';
  // @ts-expect-error express-session's typing is in force: user is a string
  req.session.user = 1;
  req.session.regenerate(() => res.send(req.sessionID));
});
`,
      'tsconfig.nodenext.json': tsconfig({ module: 'nodenext', moduleResolution: 'nodenext' }, [
        'express-esm.mts',
        'fastify-esm.mts',
      ]),
      'tsconfig.nodenext-cjs.json': tsconfig({ module: 'nodenext', moduleResolution: 'nodenext' }, [
        'express-cjs.cts',
        'fastify-cjs.cts',
      ]),
      'tsconfig.node10.json': tsconfig(
        { module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true },
        ['node10.ts'],
      ),
      'tsconfig.bundler.json': tsconfig({ module: 'esnext', moduleResolution: 'bundler' }, [
        'bundler.ts',
      ]),
      'tsconfig.coexist.json': tsconfig({ module: 'nodenext', moduleResolution: 'nodenext' }, [
        'coexist.mts',
      ]),
    },
  };
}
