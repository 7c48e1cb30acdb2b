/**
 * Fixed-window failure counters: login failures per user and per client address, and
 * unknown session IDs or tokens per address. Only failures are counted, so a user who signs
 * in successfully is never slowed by earlier successes. Counters live in the process (one
 * instance's view); they are bounded in number so a flood of addresses cannot exhaust memory.
 */

export interface ThrottleOptions {
  /** Failures allowed per key within one window. */
  limit: number;
  /** Window length in seconds. */
  windowSeconds: number;
  /** Most keys tracked at once (oldest windows dropped first). Default 50 000. */
  maxKeys?: number;
  now?: () => number;
}

export interface Throttle {
  /** Seconds until `key` may try again, or 0 when it is not blocked. */
  retryAfter(key: string): number;
  /** Counts one failure; answers the seconds to wait when this failure reached the limit. */
  fail(key: string): number;
  /** Forgets `key`'s failures (after a success). */
  reset(key: string): void;
}

interface Window {
  start: number;
  count: number;
}

/**
 * A failure counter.
 * @example
 * const logins = createThrottle({ limit: 5, windowSeconds: 900 });
 * if (logins.retryAfter(`user:${name}`) > 0) return tooMany();
 */
export function createThrottle(options: ThrottleOptions): Throttle {
  const windowMs = options.windowSeconds * 1000;
  const maxKeys = options.maxKeys ?? 50_000;
  const now = options.now ?? Date.now;
  const windows = new Map<string, Window>();

  function live(key: string, at: number): Window | undefined {
    const window = windows.get(key);
    if (window && at - window.start >= windowMs) {
      windows.delete(key);
      return undefined;
    }
    return window;
  }

  function wait(window: Window, at: number): number {
    return Math.max(1, Math.ceil((window.start + windowMs - at) / 1000));
  }

  return {
    retryAfter(key) {
      const at = now();
      const window = live(key, at);
      return window && window.count >= options.limit ? wait(window, at) : 0;
    },
    fail(key) {
      const at = now();
      let window = live(key, at);
      if (!window) {
        if (windows.size >= maxKeys) {
          const oldest = windows.keys().next().value;
          if (oldest !== undefined) windows.delete(oldest);
        }
        window = { start: at, count: 0 };
        windows.set(key, window);
      }
      window.count++;
      return window.count >= options.limit ? wait(window, at) : 0;
    },
    reset(key) {
      windows.delete(key);
    },
  };
}
