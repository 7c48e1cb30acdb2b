/**
 * Validation of `createSessionManager` options: once, at construction, with messages that name
 * the option and say what to write instead.
 */

import { TesseraError } from '../shared/errors.js';
import type { Store } from '../stores/store.js';
import type { AnomalyAction } from './events.js';

export interface SessionManagerOptions {
  /** Where sessions live. */
  store: Store;
  /** Idle timeout in seconds (sliding). Default 1800 (30 minutes). */
  idleTimeout?: number;
  /** Absolute lifetime in seconds from authentication; never extended. Default 43200 (12 h). */
  absoluteTimeout?: number;
  /**
   * Least time in seconds between two writes that slide the idle timeout, so a read-only
   * request does not write every time. Default: a tenth of the idle timeout, at most 60.
   */
  touchInterval?: number;
  /** Most sessions one user may hold at once. Default: no limit. */
  maxSessionsPerUser?: number;
  /** At the limit: end the oldest session (default) or refuse the new login (`ERR_SESSION_LIMIT`). */
  onSessionLimit?: 'evict-oldest' | 'refuse';
  /** Most milliseconds a store call may take before `ERR_STORE_UNAVAILABLE`. Default 2000. */
  storeTimeout?: number;
  /**
   * What to do when a signed-in session is used from another browser family or network:
   * `note` (default: emit `anomaly`, record it), `reauthenticate` (sign the user out of this
   * session, keep the session), `revoke` (end the session).
   */
  onAnomaly?: AnomalyAction;
  /** Clock in milliseconds since the epoch; injected by tests. Default `Date.now`. */
  now?: () => number;
  /**
   * Accept session IDs an app's own generator made (express-session's `genid`; `draft({ id })`):
   * 1 to 256 visible ASCII characters, stored hashed like any other. Default false: only
   * IDs Tessera issued (256 random bits) are looked up.
   */
  customIds?: boolean;
}

export interface ResolvedOptions {
  store: Store;
  idleMs: number;
  absoluteMs: number;
  touchMs: number;
  maxSessionsPerUser: number;
  onSessionLimit: 'evict-oldest' | 'refuse';
  storeTimeout: number;
  onAnomaly: AnomalyAction;
  now: () => number;
  customIds: boolean;
}

function positiveNumber(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TesseraError(
      'ERR_CONFIG',
      `${name} must be a positive number of seconds (got ${String(value)})`,
    );
  }
  return value;
}

export function resolveOptions(options: SessionManagerOptions): ResolvedOptions {
  if (!options || typeof options !== 'object') {
    throw new TesseraError(
      'ERR_CONFIG',
      'createSessionManager needs an options object with a store',
    );
  }
  const { store } = options;
  if (!store || typeof store.get !== 'function' || typeof store.patch !== 'function') {
    throw new TesseraError(
      'ERR_CONFIG',
      'store must be a Tessera store, e.g. createMemoryStore() from tessera-session/stores/memory',
    );
  }
  const idle = positiveNumber('idleTimeout', options.idleTimeout, 1800);
  const absolute = positiveNumber('absoluteTimeout', options.absoluteTimeout, 43_200);
  if (idle > absolute) {
    throw new TesseraError(
      'ERR_CONFIG',
      `idleTimeout (${idle}) must not exceed absoluteTimeout (${absolute})`,
    );
  }
  const touch = positiveNumber('touchInterval', options.touchInterval, Math.min(60, idle / 10));
  if (touch >= idle) {
    throw new TesseraError(
      'ERR_CONFIG',
      `touchInterval (${touch}) must be below idleTimeout (${idle})`,
    );
  }
  const max = options.maxSessionsPerUser;
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) {
    throw new TesseraError('ERR_CONFIG', 'maxSessionsPerUser must be a whole number of 1 or more');
  }
  const onLimit = options.onSessionLimit ?? 'evict-oldest';
  if (onLimit !== 'evict-oldest' && onLimit !== 'refuse') {
    throw new TesseraError('ERR_CONFIG', "onSessionLimit must be 'evict-oldest' or 'refuse'");
  }
  const onAnomaly = options.onAnomaly ?? 'note';
  if (onAnomaly !== 'note' && onAnomaly !== 'reauthenticate' && onAnomaly !== 'revoke') {
    throw new TesseraError('ERR_CONFIG', "onAnomaly must be 'note', 'reauthenticate' or 'revoke'");
  }
  const storeTimeout = options.storeTimeout ?? 2000;
  if (!Number.isFinite(storeTimeout) || storeTimeout <= 0) {
    throw new TesseraError('ERR_CONFIG', 'storeTimeout must be a positive number of milliseconds');
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new TesseraError('ERR_CONFIG', 'now must be a function returning milliseconds');
  }
  return {
    store,
    idleMs: idle * 1000,
    absoluteMs: absolute * 1000,
    touchMs: touch * 1000,
    maxSessionsPerUser: max ?? Number.POSITIVE_INFINITY,
    onSessionLimit: onLimit,
    storeTimeout,
    onAnomaly,
    now: options.now ?? Date.now,
    customIds: options.customIds === true,
  };
}
