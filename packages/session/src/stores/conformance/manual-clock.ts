/**
 * A clock that only moves when told to: the `now` every store and the session manager take,
 * so tests check expiry without sleeping.
 */
import { TesseraError } from '../../shared/errors.js';

/** A manual clock in milliseconds since the epoch. */
export interface ManualClock {
  /** The current time; pass as `now` (it is bound, so `{ now: clock.now }` works). */
  now(): number;
  /** Moves the clock forward by `ms` (negative values move it back). */
  advance(ms: number): void;
  /** Sets the clock to `ms`. */
  set(ms: number): void;
}

/**
 * Creates a manual clock starting at `startMs`.
 * @example
 * const clock = createManualClock(Date.UTC(2030, 0, 1));
 * const store = createMemoryStore({ now: clock.now });
 * clock.advance(60_000);
 */
export function createManualClock(startMs: number): ManualClock {
  if (!Number.isFinite(startMs)) {
    throw new TesseraError(
      'ERR_INVALID_ARGUMENT',
      '`startMs` must be a finite number of milliseconds since the epoch.',
    );
  }
  let current = startMs;
  return {
    now: () => current,
    advance: (ms: number) => {
      current += ms;
    },
    set: (ms: number) => {
      current = ms;
    },
  };
}
