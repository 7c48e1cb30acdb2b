/**
 * `tessera serve`: runs the reference service until SIGTERM or SIGINT, then shuts down
 * gracefully (in-flight requests finish, the store is closed).
 */
import { parseArgs } from 'node:util';
import { resolveServiceConfig } from '../../service/config.js';
import type { Command } from './shared.js';

export const SERVE_USAGE = `Usage: tessera serve [options]

Options:
  --port N               port to listen on (env PORT, default 3000; 0 picks a free one)
  --host ADDR            address to bind (env HOST, default 127.0.0.1)
  --store URL            sqlite:PATH | memory: | file:DIR | redis://… | rediss://…
                         | redis+cluster://h1:p1,h2:p2 | postgres://…
                         (env TESSERA_STORE, default sqlite:./data/tessera.db)
  --demo                 create demo users alice and bob (env TESSERA_DEMO=1); a start
                         without it removes them
  --secure-cookies V     auto | true | false (env TESSERA_SECURE_COOKIES, default auto)
  -h, --help             show this help

Environment: TESSERA_ORIGIN (the app's origin; required on a non-loopback host
without --demo), TESSERA_ACCESS_TTL, TESSERA_IDLE_TTL, TESSERA_ABSOLUTE_TTL,
TESSERA_CLOCK_TOLERANCE, TESSERA_REFRESH_GRACE, TESSERA_REAUTH_MAX_AGE,
TESSERA_MASTER_KEY or TESSERA_MASTER_KEY_FILE (default: a 0600 key file beside the
store), TESSERA_METRICS_TOKEN, TESSERA_METRICS_PORT, TESSERA_METRICS_HOST,
TESSERA_ANOMALY_ACTION (note | reauthenticate | revoke), TESSERA_LOG_LEVEL,
TESSERA_TRUST_PROXY, TESSERA_DBSC=1 (device-bound browser sessions, default off),
TESSERA_DBSC_COOKIE_TTL (seconds a bound cookie lives, default 600), TESSERA_REQUIRE_DPOP=1
(token clients must prove a key with DPoP, RFC 9449: unbound tokens are neither issued nor
accepted) and TESSERA_DPOP_NONCE=1 (DPoP proofs must carry a server nonce) (see docs/service.md).`;

/**
 * @example process.exitCode = await serveCommand(['--port', '3000'], process.env, console);
 */
export const serveCommand: Command = async (args, env, io) => {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      store: { type: 'string' },
      demo: { type: 'boolean' },
      'secure-cookies': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    io.out(SERVE_USAGE);
    return 0;
  }
  const config = resolveServiceConfig(values, env);
  // Imported on demand: admin commands never load Express, pino or prom-client.
  const { redact, startService } = await import('../../service/serve.js');
  const service = await startService(config);
  io.out(`tessera: listening on ${service.url} (store ${redact(config.store)})`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      service.close().then(resolve, resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  return 0;
};
