/**
 * Login throttling that an attacker cannot turn against a user. Failures are counted per
 * (user, address) and per address; past a few failures that key waits, and each further
 * failure doubles the wait (up to a cap). A user's right password from an address that has
 * not failed is never refused. Across all addresses, a per-user ceiling slows a distributed
 * guess instead: past it, that user's password checks are spaced out (queued, not refused).
 * Counters live in this process and are bounded in number.
 */

export interface LoginThrottleOptions {
  /** Failures of one user from one address before it waits. Default 5. */
  pairLimit?: number;
  /** Failures from one address (any users) before it waits. Default 20. */
  addressLimit?: number;
  /** First wait in seconds, doubled by each further failure. Default 30. */
  baseDelaySeconds?: number;
  /** Longest wait in seconds. Default 900. */
  maxDelaySeconds?: number;
  /** Failures are forgotten this long after the last one (seconds). Default 900. */
  windowSeconds?: number;
  /** Failures of one user from all addresses before checks are spaced out. Default 20. */
  userCeiling?: number;
  /** Spacing of a user's checks past the ceiling, ms. Default 1000. */
  userSpacingMs?: number;
  /** Longest queueing delay past the ceiling, ms. Default 10 000. */
  maxQueueMs?: number;
  /** Most keys tracked at once (oldest dropped first). Default 50 000. */
  maxKeys?: number;
  now?: () => number;
}

/** What to do with a sign-in attempt before checking its password. */
export interface LoginVerdict {
  /** Seconds to wait: answer 429 with Retry-After. 0: go on. */
  retryAfter: number;
  /** Milliseconds to hold the attempt before checking (the per-user ceiling). */
  delayMs: number;
}

export interface LoginThrottle {
  check(user: string, address: string): LoginVerdict;
  fail(user: string, address: string): void;
  /** A right password: forgets this (user, address)'s failures. */
  succeed(user: string, address: string): void;
}

interface Counter {
  failures: number;
  last: number;
  blockedUntil: number;
}

/**
 * @example
 * const throttle = createLoginThrottle();
 * const { retryAfter, delayMs } = throttle.check('alice', addressKey(ip));
 */
export function createLoginThrottle(options: LoginThrottleOptions = {}): LoginThrottle {
  const o = {
    pairLimit: 5,
    addressLimit: 20,
    baseDelaySeconds: 30,
    maxDelaySeconds: 900,
    windowSeconds: 900,
    userCeiling: 20,
    userSpacingMs: 1000,
    maxQueueMs: 10_000,
    maxKeys: 50_000,
    now: Date.now,
    ...options,
  };
  const counters = new Map<string, Counter>();
  const nextSlot = new Map<string, number>();

  function live(key: string, at: number): Counter | undefined {
    const counter = counters.get(key);
    if (counter && at - counter.last > o.windowSeconds * 1000 && counter.blockedUntil <= at) {
      counters.delete(key);
      return undefined;
    }
    return counter;
  }

  function count(key: string, limit: number, at: number): void {
    let counter = live(key, at);
    if (!counter) {
      if (counters.size >= o.maxKeys) {
        const oldest = counters.keys().next().value;
        if (oldest !== undefined) counters.delete(oldest);
      }
      counter = { failures: 0, last: at, blockedUntil: 0 };
      counters.set(key, counter);
    }
    counter.failures++;
    counter.last = at;
    if (counter.failures >= limit) {
      const seconds = Math.min(
        o.maxDelaySeconds,
        o.baseDelaySeconds * 2 ** (counter.failures - limit),
      );
      counter.blockedUntil = at + seconds * 1000;
    }
  }

  function wait(key: string, at: number): number {
    const counter = live(key, at);
    return counter && counter.blockedUntil > at ? Math.ceil((counter.blockedUntil - at) / 1000) : 0;
  }

  function queueDelay(user: string, at: number): number {
    const failures = live(`user:${user}`, at)?.failures ?? 0;
    if (failures < o.userCeiling) return 0;
    const slot = Math.max(at, nextSlot.get(user) ?? 0);
    const delay = Math.min(slot - at, o.maxQueueMs);
    nextSlot.set(user, at + delay + o.userSpacingMs);
    if (nextSlot.size > o.maxKeys) nextSlot.delete(nextSlot.keys().next().value as string);
    return delay;
  }

  return {
    check(user, address) {
      const at = o.now();
      const retryAfter = Math.max(wait(`pair:${user}\0${address}`, at), wait(`ip:${address}`, at));
      return { retryAfter, delayMs: retryAfter > 0 ? 0 : queueDelay(user, at) };
    },
    fail(user, address) {
      const at = o.now();
      count(`pair:${user}\0${address}`, o.pairLimit, at);
      count(`ip:${address}`, o.addressLimit, at);
      // The per-user count never blocks; it only spaces checks out past the ceiling.
      count(`user:${user}`, Number.POSITIVE_INFINITY, at);
    },
    succeed(user, address) {
      counters.delete(`pair:${user}\0${address}`);
    },
  };
}
