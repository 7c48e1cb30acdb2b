/**
 * Prometheus metrics of the service (prom-client, one registry per service so several can
 * run in one process): session and token events, CSRF blocks, login failures, anomalies,
 * throttling, and a latency histogram of every store call (through `instrumentStore`).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { STORE_METHODS, type Store } from 'tessera-session';

/** How old the active-sessions sample may be before a scrape asks for a new one. */
export const ACTIVE_SAMPLE_MS = 60_000;

export interface ServiceMetrics {
  readonly registry: Registry;
  sessionsCreated: Counter<'strategy'>;
  sessionsRevoked: Counter<'reason'>;
  refreshRotations: Counter;
  refreshReuse: Counter;
  csrfBlocks: Counter;
  loginFailures: Counter<'reason'>;
  anomalies: Counter<'kind' | 'action'>;
  throttled: Counter<'kind'>;
  storeLatency: Histogram<'operation' | 'outcome'>;
  /** Sets how the active-sessions gauge counts (sampled at most once a minute, one call at a time). */
  countActive(counter: () => Promise<number>): void;
}

/**
 * The service's metrics in a fresh registry.
 * @example const metrics = createServiceMetrics(); res.end(await metrics.registry.metrics());
 */
export function createServiceMetrics(): ServiceMetrics {
  const registry = new Registry();
  let counter: (() => Promise<number>) | null = null;
  const registers = [registry];
  const metrics: ServiceMetrics = {
    registry,
    sessionsCreated: new Counter({
      name: 'tessera_sessions_created_total',
      help: 'Sessions created, by strategy (server: browser cookie, hybrid: token client)',
      labelNames: ['strategy'],
      registers,
    }),
    sessionsRevoked: new Counter({
      name: 'tessera_sessions_revoked_total',
      help: 'Sessions ended before their time, by reason',
      labelNames: ['reason'],
      registers,
    }),
    refreshRotations: new Counter({
      name: 'tessera_refresh_rotations_total',
      help: 'Refresh tokens rotated',
      registers,
    }),
    refreshReuse: new Counter({
      name: 'tessera_refresh_reuse_detections_total',
      help: 'Spent refresh tokens presented again (the session was revoked)',
      registers,
    }),
    csrfBlocks: new Counter({
      name: 'tessera_csrf_blocks_total',
      help: 'State-changing requests refused by the CSRF checks',
      registers,
    }),
    loginFailures: new Counter({
      name: 'tessera_login_failures_total',
      help: 'Failed sign-ins, by reason (credentials or throttled)',
      labelNames: ['reason'],
      registers,
    }),
    anomalies: new Counter({
      name: 'tessera_anomalies_total',
      help: 'Signed-in sessions used from a new browser family or network',
      labelNames: ['kind', 'action'],
      registers,
    }),
    throttled: new Counter({
      name: 'tessera_throttled_requests_total',
      help: 'Requests throttled, by kind (login: 429, login-slowed: delayed past the per-user ceiling, unknown-credentials: 429)',
      labelNames: ['kind'],
      registers,
    }),
    storeLatency: new Histogram({
      name: 'tessera_store_latency_seconds',
      help: 'Latency of store calls',
      labelNames: ['operation', 'outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    countActive(next) {
      counter = next;
    },
  };
  // The count is sampled at most once a minute, by one call at a time, whatever the number
  // of scrapes: a scrape reads the last sample (O(1)); only the first one waits for it.
  let sample: { at: number; value: number } | null = null;
  let inFlight: Promise<void> | null = null;
  const refresh = (): Promise<void> => {
    inFlight ??= (async () => {
      try {
        if (counter) sample = { at: Date.now(), value: await counter() };
      } catch {
        // Store down: keep the last value; /healthz reports the outage.
      } finally {
        inFlight = null;
      }
    })();
    return inFlight;
  };
  new Gauge({
    name: 'tessera_sessions_active',
    help: 'Live signed-in sessions (sampled at most once a minute)',
    registers,
    async collect() {
      if (counter === null) return;
      if (sample === null) await refresh();
      else if (Date.now() - sample.at >= ACTIVE_SAMPLE_MS) void refresh();
      if (sample !== null) this.set(sample.value);
    },
  });
  return metrics;
}

const TIMED = STORE_METHODS;

/**
 * The same store with every call timed into `histogram`.
 * @example const store = instrumentStore(await openStore(url), metrics.storeLatency);
 */
export function instrumentStore(
  store: Store,
  histogram: Histogram<'operation' | 'outcome'>,
): Store {
  const timed: Record<string, unknown> = {};
  for (const name of TIMED) {
    const method = (store[name] as (...args: unknown[]) => Promise<unknown>).bind(store);
    timed[name] = async (...args: unknown[]) => {
      const end = histogram.startTimer({ operation: name });
      try {
        const result = await method(...args);
        end({ outcome: 'ok' });
        return result;
      } catch (error) {
        end({ outcome: 'error' });
        throw error;
      }
    };
  }
  return Object.assign(Object.create(store) as Store, timed, {
    kind: store.kind,
    close: () => store.close(),
  });
}
