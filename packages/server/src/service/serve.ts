/**
 * `tessera serve`: opens the store (its files private, its secrets sealed with the master
 * key), loads (or makes) the signing keys and secrets, and runs the reference service
 * (pages, JSON API, JWKS, health, metrics) on node:http. `close()` is the graceful shutdown
 * SIGTERM runs: stop accepting, let in-flight requests finish, close the store.
 */
import { createServer, type Server } from 'node:http';
import { type DestinationStream, type Logger, pino } from 'pino';
import type { SessionManager, Store } from 'tessera-session';
import { callStore, createSessionManager } from 'tessera-session';
import {
  type AccessTokens,
  createAccessTokens,
  createDpopVerifier,
  createRefreshTokens,
  type DpopVerifier,
  type Keyring,
  type RefreshTokens,
  reloadKeyring,
} from 'tessera-session/tokens';
import { createApp } from './app.js';
import type { ServiceConfig } from './config.js';
import { syncDemoUsers } from './demo-users.js';
import { loadOrCreateKeyring, loadOrCreateSecret, sealPlaintextKeys } from './keys.js';
import { createLoginThrottle } from './login-throttle.js';
import { resolveMasterKey } from './master-key.js';
import { createServiceMetrics, instrumentStore, type ServiceMetrics } from './metrics.js';
import { openStore, redact } from './open-store.js';
import { startMetricsListener } from './routes/metrics-route.js';
import { prepareStoreFiles, tightenStoreFiles } from './store-files.js';
import { createThrottle } from './throttle.js';
import { createUserDirectory, type UserDirectory } from './users.js';

export interface RunningService {
  server: Server;
  /** The separate metrics listener (TESSERA_METRICS_PORT), when configured. */
  metricsServer?: Server;
  store: Store;
  url: string;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Where logs go (default stdout). */
  logDestination?: DestinationStream;
  /** How often keys are re-read from the store, ms (default 2000; at most 5000). */
  keyReloadMs?: number;
  /** The sessions' clock (tests). Default `Date.now`. */
  now?: () => number;
}

/** The issuer and audience of the service's access tokens. */
export const TOKEN_ISSUER = 'urn:tessera:service';
export const TOKEN_AUDIENCE = 'urn:tessera:api';

function createLogger(config: ServiceConfig, destination?: DestinationStream): Logger {
  return pino(
    {
      level: config.logLevel,
      base: { service: 'tessera' },
      redact: {
        paths: ['password', 'token', 'refresh_token', 'access_token', 'cookie', 'authorization'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/** The store's secrets: sealed with the master key (re-sealed when found in plaintext). */
interface Secrets {
  masterKey: string | undefined;
  keyring: Keyring;
  cookieSecret: string;
  csrfSecret: string;
  /** Signs DPoP nonces, shared by every instance on the store (only with TESSERA_DPOP_NONCE). */
  dpopNonceSecret: string | undefined;
}

async function loadSecrets(store: Store, config: ServiceConfig, logger: Logger): Promise<Secrets> {
  const env = {
    TESSERA_MASTER_KEY: config.masterKey,
    TESSERA_MASTER_KEY_FILE: config.masterKeyFile,
  };
  const master = resolveMasterKey(config.store, env);
  for (const warning of master.warnings) logger.warn({ event: 'master_key' }, warning);
  if (master.source === 'created') {
    logger.warn(
      { event: 'master_key_created', file: master.file },
      'generated a master key file: back it up; without it the stored secrets cannot be read',
    );
  }
  const masterKey = master.key;
  const resealed = await sealPlaintextKeys(store, masterKey);
  if (resealed > 0)
    logger.warn({ event: 'keys_sealed', count: resealed }, 'sealed plaintext signing keys');
  return {
    masterKey,
    keyring: await loadOrCreateKeyring(store, masterKey),
    cookieSecret: await loadOrCreateSecret(store, 'cookie', masterKey),
    csrfSecret: await loadOrCreateSecret(store, 'csrf', masterKey),
    dpopNonceSecret: config.dpopNonce
      ? await loadOrCreateSecret(store, 'dpop-nonce', masterKey)
      : undefined,
  };
}

function createManager(
  store: Store,
  config: ServiceConfig,
  metrics: ServiceMetrics,
  logger: Logger,
  now: () => number,
): SessionManager {
  const manager = createSessionManager({
    store,
    now,
    idleTimeout: config.idleTtl,
    absoluteTimeout: config.absoluteTtl,
    onAnomaly: config.anomalyAction,
  });
  manager.on('anomaly', (event) => {
    metrics.anomalies.inc({ kind: event.kind, action: event.action });
    logger.warn(
      {
        event: 'anomaly',
        user: event.userId,
        handle: event.handle,
        kind: event.kind,
        action: event.action,
      },
      'suspicious session activity',
    );
  });
  return manager;
}

function createTokens(
  store: Store,
  keyring: Keyring,
  config: ServiceConfig,
  metrics: ServiceMetrics,
  logger: Logger,
): { tokens: AccessTokens; refresh: RefreshTokens } {
  const tokens = createAccessTokens({
    keys: keyring,
    issuer: TOKEN_ISSUER,
    audience: TOKEN_AUDIENCE,
    ttl: config.accessTtl,
    clockTolerance: config.clockTolerance,
  });
  const refresh = createRefreshTokens({
    store,
    idleTtl: config.idleTtl,
    grace: config.refreshGrace,
    onEvent(event) {
      if (event.type === 'refresh_rotated') metrics.refreshRotations.inc();
      if (event.type === 'refresh_reuse') {
        metrics.refreshReuse.inc();
        logger.warn(
          {
            event: 'refresh_reuse',
            user: event.userId,
            handle: event.handle,
            generation: event.generation,
          },
          'refresh token reuse: session revoked',
        );
      }
      if (event.type === 'refresh_family_revoked' && event.reason === 'reuse') {
        metrics.sessionsRevoked.inc({ reason: 'refresh-reuse' });
      }
    },
  });
  return { tokens, refresh };
}

/** DPoP proofs (RFC 9449): the jti replay cache in the store, nonces when configured. */
function createDpop(store: Store, config: ServiceConfig, secrets: Secrets): DpopVerifier {
  return createDpopVerifier({
    store,
    clockTolerance: config.clockTolerance,
    nonce: secrets.dpopNonceSecret === undefined ? false : { secret: secrets.dpopNonceSecret },
  });
}

function healthCheck(raw: Store): () => Promise<boolean> {
  let health: { at: number; ok: boolean } | null = null;
  return async () => {
    if (health && Date.now() - health.at < 1000) return health.ok;
    const ok = await callStore('health check', 2000, () => raw.kvGet('health', 'ping')).then(
      () => true,
      () => false,
    );
    health = { at: Date.now(), ok };
    return ok;
  };
}

function countActiveSessions(store: Store, users: UserDirectory): () => Promise<number> {
  return async () => {
    let total = 0;
    for (const user of (await users.list()).slice(0, 10_000)) {
      total += (await store.listByUser(user.name)).length;
    }
    return total;
  };
}

async function listen(server: Server, port: number, host: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function startKeyReloader(
  store: Store,
  secrets: Secrets,
  logger: Logger,
  ms: number,
): NodeJS.Timeout {
  const options = secrets.masterKey === undefined ? {} : { masterKey: secrets.masterKey };
  const reloader = setInterval(
    () => {
      reloadKeyring(store, secrets.keyring, options).then(
        (changed) => {
          if (changed) {
            logger.info(
              { event: 'keys_reloaded', active: secrets.keyring.activeKid },
              'signing keys reloaded',
            );
          }
        },
        (error: unknown) =>
          logger.warn(
            { event: 'keys_reload_failed', reason: String(error) },
            'could not reload keys',
          ),
      );
    },
    Math.min(ms, 5000),
  );
  reloader.unref();
  return reloader;
}

function urlOf(server: Server, config: ServiceConfig, host = config.host): string {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * Opens the store and starts listening.
 * @example const service = await startService(resolveServiceConfig({ port: '0' }));
 */
export async function startService(
  config: ServiceConfig,
  options: StartOptions = {},
): Promise<RunningService> {
  const logger = createLogger(config, options.logDestination);
  const metrics = createServiceMetrics();
  prepareStoreFiles(config.store);
  const raw = await openStore(config.store);
  try {
    tightenStoreFiles(config.store);
    const store: Store = instrumentStore(raw, metrics.storeLatency);
    const secrets = await loadSecrets(store, config, logger);
    const users = createUserDirectory(store);
    const now = options.now ?? Date.now;
    const manager = createManager(store, config, metrics, logger, now);
    await syncDemoUsers(users, manager, config.demo, logger);
    const { tokens, refresh } = createTokens(store, secrets.keyring, config, metrics, logger);
    metrics.countActive(countActiveSessions(store, users));
    const app = createApp({
      config,
      store,
      manager,
      tokens,
      refresh,
      dpop: createDpop(store, config, secrets),
      users,
      metrics,
      logger,
      cookieSecret: secrets.cookieSecret,
      csrfSecret: secrets.csrfSecret,
      loginThrottle: createLoginThrottle(),
      probeThrottle: createThrottle({ limit: 30, windowSeconds: 60 }),
      healthy: healthCheck(raw),
      now,
    });
    const server = createServer({ maxHeaderSize: 16_384, requestTimeout: 30_000 }, app);
    server.headersTimeout = 10_000;
    server.keepAliveTimeout = 5_000;
    await listen(server, config.port, config.host);
    const metricsServer =
      config.metricsPort === undefined
        ? undefined
        : await startMetricsListener(
            metrics,
            config.metricsPort,
            config.metricsHost,
            config.metricsToken,
          );
    tightenStoreFiles(config.store);
    const reloader = startKeyReloader(store, secrets, logger, options.keyReloadMs ?? 2000);
    const url = urlOf(server, config);
    logger.info(
      {
        event: 'listening',
        url,
        store: redact(config.store),
        metrics: metricsServer ? urlOf(metricsServer, config, config.metricsHost) : undefined,
      },
      'service started',
    );
    return running(server, metricsServer, store, raw, url, reloader, logger);
  } catch (error) {
    await raw.close().catch(() => {});
    throw error;
  }
}

function running(
  server: Server,
  metricsServer: Server | undefined,
  store: Store,
  raw: Store,
  url: string,
  reloader: NodeJS.Timeout,
  logger: Logger,
): RunningService {
  let closing: Promise<void> | undefined;
  const service: RunningService = {
    server,
    store,
    url,
    close() {
      closing ??= new Promise<void>((resolve) => {
        clearInterval(reloader);
        metricsServer?.close();
        metricsServer?.closeAllConnections();
        server.close(() => resolve());
        server.closeIdleConnections();
        // In-flight requests get a moment to finish; then the rest are cut.
        setTimeout(() => server.closeAllConnections(), 10_000).unref();
      }).then(async () => {
        await raw.close();
        logger.info({ event: 'stopped' }, 'service stopped');
        logger.flush?.();
      });
      return closing;
    },
  };
  if (metricsServer) service.metricsServer = metricsServer;
  return service;
}

export { redact };
