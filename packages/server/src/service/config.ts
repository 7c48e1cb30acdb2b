/**
 * Configuration of `tessera serve`: flags win over environment variables, which win over the
 * defaults in CONTRACTS.md. Every value is checked here, once, with a message naming it.
 */

import type { AnomalyAction } from 'tessera-session';
import { TesseraError } from 'tessera-session';
import { DEFAULT_STORE_URL } from './open-store.js';

export interface ServiceConfig {
  port: number;
  host: string;
  store: string;
  demo: boolean;
  secureCookies: 'auto' | boolean;
  accessTtl: number;
  idleTtl: number;
  absoluteTtl: number;
  clockTolerance: number;
  refreshGrace: number;
  masterKey: string | undefined;
  /** Where the master key is kept when TESSERA_MASTER_KEY is not set (default: beside the store). */
  masterKeyFile: string | undefined;
  /** Bearer token that `/metrics` requires on the main port; unset: no `/metrics` there (404). */
  metricsToken: string | undefined;
  /** A separate listener that serves only `/metrics` (unset: none). */
  metricsPort: number | undefined;
  /** Address of the metrics listener (default 127.0.0.1). */
  metricsHost: string;
  /** The origin browsers use (`https://auth.example.com`): what the CSRF checks compare with. */
  origin: string | undefined;
  /** Seconds a sign-in counts as recent for sensitive actions (step-up). */
  reauthMaxAge: number;
  /** Development: `--demo` or a loopback host; the CSRF checks may then fall back to Host. */
  development: boolean;
  /** What to do when a signed-in session shows up from another browser family or network. */
  anomalyAction: AnomalyAction;
  /** pino level: fatal, error, warn, info (default), debug, trace or silent. */
  logLevel: string;
  /** Express 'trust proxy' hops (0: trust no proxy header). */
  trustProxy: number;
  /** Device-bound sessions (DBSC) for browser sign-ins (TESSERA_DBSC, default off). */
  dbsc: boolean;
  /** Lifetime in seconds of the short-lived bound cookie (TESSERA_DBSC_COOKIE_TTL, default 600). */
  dbscCookieTtl: number;
  /** Refuse token issuance and API calls without a DPoP proof (TESSERA_REQUIRE_DPOP=1). */
  requireDpop: boolean;
  /** DPoP proofs must carry a server nonce (`DPoP-Nonce`, TESSERA_DPOP_NONCE=1). */
  dpopNonce: boolean;
}

export interface ServeFlags {
  port?: string;
  host?: string;
  store?: string;
  demo?: boolean;
  'secure-cookies'?: string;
}

type Env = Record<string, string | undefined>;

/**
 * The service configuration from flags and environment.
 * @example const config = resolveServiceConfig({ port: '0', store: 'memory:' });
 */
export function resolveServiceConfig(flags: ServeFlags, env: Env = process.env): ServiceConfig {
  const port = integer('--port / PORT', flags.port ?? env.PORT, 3000, 0, 65_535);
  const host = (flags.host ?? env.HOST ?? '127.0.0.1').trim();
  if (!host) throw new TesseraError('ERR_CONFIG', '--host / HOST must not be empty');
  const idleTtl = integer('TESSERA_IDLE_TTL', env.TESSERA_IDLE_TTL, 1800, 1);
  const absoluteTtl = integer('TESSERA_ABSOLUTE_TTL', env.TESSERA_ABSOLUTE_TTL, 43_200, 1);
  if (idleTtl > absoluteTtl) {
    throw new TesseraError(
      'ERR_CONFIG',
      `TESSERA_IDLE_TTL (${idleTtl}) must not exceed TESSERA_ABSOLUTE_TTL (${absoluteTtl})`,
    );
  }
  const demo = flags.demo === true || isOn(env.TESSERA_DEMO);
  const origin = appOrigin(env.TESSERA_ORIGIN);
  const development = demo || isLoopback(host);
  if (!development && origin === undefined) {
    throw new TesseraError(
      'ERR_CONFIG',
      `TESSERA_ORIGIN is required when the service listens on ${host} (not a loopback address) without --demo: set it to the URL browsers use, e.g. TESSERA_ORIGIN=https://auth.example.com`,
    );
  }
  return {
    port,
    host,
    store: (flags.store ?? env.TESSERA_STORE ?? DEFAULT_STORE_URL).trim() || DEFAULT_STORE_URL,
    demo,
    secureCookies: secureCookies(flags['secure-cookies'] ?? env.TESSERA_SECURE_COOKIES),
    accessTtl: integer('TESSERA_ACCESS_TTL', env.TESSERA_ACCESS_TTL, 300, 1, 86_400),
    idleTtl,
    absoluteTtl,
    clockTolerance: integer('TESSERA_CLOCK_TOLERANCE', env.TESSERA_CLOCK_TOLERANCE, 5, 0, 60),
    refreshGrace: integer('TESSERA_REFRESH_GRACE', env.TESSERA_REFRESH_GRACE, 10, 0, 60),
    masterKey: env.TESSERA_MASTER_KEY || undefined,
    masterKeyFile: env.TESSERA_MASTER_KEY_FILE || undefined,
    metricsToken: metricsToken(env.TESSERA_METRICS_TOKEN),
    metricsPort:
      env.TESSERA_METRICS_PORT === undefined || env.TESSERA_METRICS_PORT === ''
        ? undefined
        : integer('TESSERA_METRICS_PORT', env.TESSERA_METRICS_PORT, 0, 0, 65_535),
    metricsHost: (env.TESSERA_METRICS_HOST ?? '').trim() || '127.0.0.1',
    origin,
    development,
    reauthMaxAge: integer('TESSERA_REAUTH_MAX_AGE', env.TESSERA_REAUTH_MAX_AGE, 300, 1, 86_400),
    anomalyAction: anomalyAction(env.TESSERA_ANOMALY_ACTION),
    logLevel: logLevel(env.TESSERA_LOG_LEVEL),
    trustProxy: integer('TESSERA_TRUST_PROXY', env.TESSERA_TRUST_PROXY, 0, 0, 10),
    dbsc: flag('TESSERA_DBSC', env.TESSERA_DBSC),
    dbscCookieTtl: integer('TESSERA_DBSC_COOKIE_TTL', env.TESSERA_DBSC_COOKIE_TTL, 600, 30, 3600),
    requireDpop: flag('TESSERA_REQUIRE_DPOP', env.TESSERA_REQUIRE_DPOP),
    dpopNonce: flag('TESSERA_DPOP_NONCE', env.TESSERA_DPOP_NONCE),
  };
}

function integer(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new TesseraError(
      'ERR_CONFIG',
      `${name} must be a whole number from ${min} to ${max} (got "${raw}")`,
    );
  }
  return value;
}

/** An on/off setting: 1/true/yes/on or 0/false/no/off (unset: off); anything else is refused. */
function flag(name: string, value: string | undefined): boolean {
  if (value === undefined || value.trim() === '') return false;
  if (/^(1|true|yes|on)$/i.test(value.trim())) return true;
  if (/^(0|false|no|off)$/i.test(value.trim())) return false;
  throw new TesseraError('ERR_CONFIG', `${name} must be 1 or 0 (got "${value}")`);
}

function isOn(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes|on)$/i.test(value.trim());
}

function secureCookies(value: string | undefined): 'auto' | boolean {
  if (value === undefined || value === '' || value === 'auto') return 'auto';
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new TesseraError(
    'ERR_CONFIG',
    `--secure-cookies / TESSERA_SECURE_COOKIES must be auto, true or false (got "${value}")`,
  );
}

function anomalyAction(value: string | undefined): AnomalyAction {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '') return 'note';
  if (v === 'note' || v === 'reauthenticate' || v === 'revoke') return v;
  throw new TesseraError(
    'ERR_CONFIG',
    `TESSERA_ANOMALY_ACTION must be note, reauthenticate or revoke (got "${value}")`,
  );
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function logLevel(value: string | undefined): string {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '') return 'info';
  if (LEVELS.includes(v)) return v;
  throw new TesseraError(
    'ERR_CONFIG',
    `TESSERA_LOG_LEVEL must be one of ${LEVELS.join(', ')} (got "${value}")`,
  );
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

function appOrigin(value: string | undefined): string | undefined {
  const v = (value ?? '').trim();
  if (v === '') return undefined;
  let url: URL | null = null;
  try {
    url = new URL(v);
  } catch {
    url = null;
  }
  if (
    url === null ||
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    url.username !== '' ||
    url.password !== '' ||
    (url.pathname !== '/' && url.pathname !== '') ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    throw new TesseraError(
      'ERR_CONFIG',
      `TESSERA_ORIGIN must be an origin like https://auth.example.com (scheme, host, optional port; got "${v}")`,
    );
  }
  return url.origin;
}

function metricsToken(value: string | undefined): string | undefined {
  const v = (value ?? '').trim();
  if (v === '') return undefined;
  if (v.length < 16) {
    throw new TesseraError(
      'ERR_CONFIG',
      'TESSERA_METRICS_TOKEN must be at least 16 characters (e.g. openssl rand -base64 24)',
    );
  }
  return v;
}
