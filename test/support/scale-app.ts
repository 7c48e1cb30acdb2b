/**
 * The small Express 5 app that the scale-out test runs twice behind nginx: `tessera-session/express`
 * on a shared Redis or PostgreSQL store with the invalidated read cache. Run as a child
 * process (`node --import tsx test/support/scale-app.ts`), configured by environment:
 * `SCALE_APP_ID` (reported in `X-Instance`), `SCALE_STORE_URL` (`redis://…` or
 * `postgres://…`), `SCALE_SECRET`, `SCALE_CACHE_TTL_MS`. It listens on a free 127.0.0.1 port
 * and prints `{"port":N}` on stdout when ready; SIGTERM closes it.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import session, {
  type Session,
  type SessionControl,
} from '../../packages/session/src/adapters/express/index.js';
import { withReadCache } from '../../packages/session/src/stores/cache/index.js';
import {
  createPostgresInvalidation,
  createPostgresStore,
} from '../../packages/session/src/stores/postgres/index.js';
import {
  createRedisInvalidation,
  createRedisStore,
} from '../../packages/session/src/stores/redis/index.js';

type AppRequest = Request & {
  session: Session & { count?: number; user?: string };
  sessionControl: SessionControl;
};

const instance = process.env.SCALE_APP_ID ?? 'app';
const storeUrl = process.env.SCALE_STORE_URL ?? '';
const secret = process.env.SCALE_SECRET ?? '';
const ttlMs = Number(process.env.SCALE_CACHE_TTL_MS ?? 1000);

function openStore(): ReturnType<typeof withReadCache> {
  if (storeUrl.startsWith('postgres://')) {
    const pgStore = createPostgresStore({ connectionString: storeUrl });
    return withReadCache(pgStore, { invalidation: createPostgresInvalidation(pgStore), ttlMs });
  }
  const redis = createRedisStore({ url: storeUrl });
  return withReadCache(redis, { invalidation: createRedisInvalidation(redis), ttlMs });
}

const store = openStore();
const app = express();
// nginx runs on this machine: trust exactly one hop, from loopback.
app.set('trust proxy', 'loopback');
app.use((_req, res, next) => {
  res.setHeader('X-Instance', instance);
  res.setHeader('X-Cache-Hits', String(store.cacheStats().hits));
  next();
});
app.use(
  session({
    secret,
    name: 'tessera.sid',
    hostPrefix: true,
    store,
    resave: false,
    saveUninitialized: false,
    cookie: { secure: 'auto', sameSite: 'lax', path: '/', httpOnly: true },
  }),
);

app.post('/login', async (req, res) => {
  const user = String(req.query.user ?? '');
  const r = req as AppRequest;
  await r.sessionControl.login(user);
  r.session.user = user;
  res.json({ instance, user });
});

app.get('/count', (req, res) => {
  const r = req as AppRequest;
  r.session.count = (r.session.count ?? 0) + 1;
  res.json({ instance, count: r.session.count });
});

app.get('/me', (req, res) => {
  const r = req as AppRequest;
  if (typeof r.session.user !== 'string') {
    res.status(401).json({ instance, error: 'signed_out' });
    return;
  }
  res.json({ instance, user: r.session.user, count: r.session.count ?? 0 });
});

app.post('/logout/all', async (req, res) => {
  const ended = await (req as AppRequest).sessionControl.signOutEverywhere({ keepCurrent: false });
  res.json({ instance, ended });
});

app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
  const status = (error as { status?: number }).status ?? 500;
  res.status(status).json({ instance, error: String((error as Error).message ?? error) });
});

const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});

process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  store.close().finally(() => process.exit(0));
});
