/**
 * `tessera serve`: opens the store, loads (or makes) the signing keys and secrets, and runs
 * the reference service (pages, JSON API, JWKS, health, metrics) on node:http. `close()` is
 * the graceful shutdown SIGTERM runs: stop accepting, let in-flight requests finish, close
 * the store.
 */
import { createServer, type Server } from 'node:http';
import { type DestinationStream, type Logger, pino } from 'pino';
import type { Store } from 'tessera-session';
import { callStore, createSessionManager } from 'tessera-session';
import { createAccessTokens, createRefreshTokens, reloadKeyring } from 'tessera-session/tokens';
import { createApp } from './app.js';
import type { ServiceConfig } from './config.js';
import { loadOrCreateKeyring, loadOrCreateSecret } from './keys.js';
import { createServiceMetrics, instrumentStore } from './metrics.js';
import { openStore, redact } from './open-store.js';
import { createThrottle } from './throttle.js';
import { createUserDirectory } from './users.js';

export interface RunningService {
  server: Server;
  store: Store;
  url: string;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Where logs go (default stdout). */
  logDestination?: DestinationStream;
  /** How often keys are re-read from the store, ms (default 2000; at most 5000). */
  keyReloadMs?: number;
}

/** The issuer and audience of the service's access tokens. */
export const TOKEN_ISSUER = 'urn:tessera:service';
export const TOKEN_AUDIENCE = 'urn:tessera:api';

/**
 * Opens the store and starts listening.
 * @example const service = await startService(resolveServiceConfig({ port: '0' }));
 */
export async function startService(
  config: ServiceConfig,
  options: StartOptions = {},
): Promise<RunningService> {
  const logger: Logger = pino(
    {
      level: config.logLevel,
      base: { service: 'tessera' },
      redact: {
        paths: ['password', 'token', 'refresh_token', 'access_token', 'cookie'],
        censor: '[redacted]',
      },
    },
    options.logDestination,
  );
  const metrics = createServiceMetrics();
  const raw = await openStore(config.store);
  const store: Store = instrumentStore(raw, metrics.storeLatency);

  try {
    const keyOptions = config.masterKey;
    const keyring = await loadOrCreateKeyring(store, keyOptions);
    const cookieSecret = await loadOrCreateSecret(store, 'cookie', keyOptions);
    const csrfSecret = await loadOrCreateSecret(store, 'csrf', keyOptions);
    const users = createUserDirectory(store);
    if (config.demo) {
      for (const [name, password] of [
        ['alice', 'alice-password'],
        ['bob', 'bob-password'],
      ] as const) {
        if (await users.addIfAbsent(name, password))
          logger.info({ event: 'demo_user', user: name }, 'demo user created');
      }
    }
    const manager = createSessionManager({
      store,
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

    let health: { at: number; ok: boolean } | null = null;
    const healthy = async (): Promise<boolean> => {
      if (health && Date.now() - health.at < 1000) return health.ok;
      const ok = await callStore('health check', 2000, () => raw.kvGet('health', 'ping')).then(
        () => true,
        () => false,
      );
      health = { at: Date.now(), ok };
      return ok;
    };

    metrics.countActive(async () => {
      let total = 0;
      for (const user of (await users.list()).slice(0, 10_000)) {
        total += (await store.listByUser(user.name)).length;
      }
      return total;
    });

    const app = createApp({
      config,
      store,
      manager,
      tokens,
      refresh,
      users,
      metrics,
      logger,
      cookieSecret,
      csrfSecret,
      loginThrottle: createThrottle({ limit: 5, windowSeconds: 900 }),
      addressThrottle: createThrottle({ limit: 50, windowSeconds: 900 }),
      probeThrottle: createThrottle({ limit: 30, windowSeconds: 60 }),
      healthy,
    });

    const server = createServer({ maxHeaderSize: 16_384, requestTimeout: 30_000 }, app);
    server.headersTimeout = 10_000;
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });

    const reloadMs = Math.min(options.keyReloadMs ?? 2000, 5000);
    const reloader = setInterval(() => {
      reloadKeyring(
        store,
        keyring,
        config.masterKey === undefined ? {} : { masterKey: config.masterKey },
      ).then(
        (changed) => {
          if (changed)
            logger.info(
              { event: 'keys_reloaded', active: keyring.activeKid },
              'signing keys reloaded',
            );
        },
        (error: unknown) =>
          logger.warn(
            { event: 'keys_reload_failed', reason: String(error) },
            'could not reload keys',
          ),
      );
    }, reloadMs);
    reloader.unref();

    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `http://${host}:${port}`;
    logger.info({ event: 'listening', url, store: redact(config.store) }, 'service started');
    let closing: Promise<void> | undefined;
    return {
      server,
      store,
      url,
      close() {
        closing ??= new Promise<void>((resolve) => {
          clearInterval(reloader);
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
  } catch (error) {
    await raw.close().catch(() => {});
    throw error;
  }
}

export { redact };
