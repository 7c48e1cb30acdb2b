/**
 * Every store call from the core goes through `callStore`: it bounds the call in time and
 * maps driver failures to `ERR_STORE_UNAVAILABLE`, so an outage is a clear error the
 * adapters turn into 503, never a hang or a crash.
 *
 * Deadlines share one coarse timer instead of a `setTimeout` per call: a hot request path
 * makes one or two store calls, and arming and clearing a timer for each costs more than
 * the call itself on an in-process store. A call is failed between its deadline and one
 * tick (`TICK_MS`) later.
 */
import { TesseraError } from '../errors.js';

const TICK_MS = 50;

interface Pending {
  deadline: number;
  operation: string;
  timeoutMs: number;
  reject: (error: TesseraError) => void;
}

const pending = new Set<Pending>();
let timer: ReturnType<typeof setInterval> | null = null;

function sweep(): void {
  const now = Date.now();
  for (const entry of pending) {
    if (entry.deadline <= now) {
      pending.delete(entry);
      entry.reject(
        new TesseraError(
          'ERR_STORE_UNAVAILABLE',
          `session store did not answer ${entry.operation} within ${entry.timeoutMs} ms`,
        ),
      );
    }
  }
  if (pending.size === 0 && timer !== null) {
    clearInterval(timer);
    timer = null;
  }
}

function toStoreError(operation: string, error: unknown): TesseraError {
  // A store's own errors (closed, conflict, bad data, unavailable) keep their code.
  if (error instanceof TesseraError) return error;
  return new TesseraError('ERR_STORE_UNAVAILABLE', `session store failed during ${operation}`, {
    cause: error,
  });
}

export function callStore<T>(
  operation: string,
  timeoutMs: number,
  call: () => Promise<T>,
): Promise<T> {
  let result: Promise<T>;
  try {
    result = call();
  } catch (error) {
    return Promise.reject(toStoreError(operation, error));
  }
  return new Promise<T>((resolve, reject) => {
    const entry: Pending = {
      deadline: Date.now() + timeoutMs,
      operation,
      timeoutMs,
      reject,
    };
    pending.add(entry);
    if (timer === null) {
      timer = setInterval(sweep, Math.min(TICK_MS, timeoutMs));
      // Pending store calls keep their own handles open; the sweep alone must not.
      timer.unref();
    }
    Promise.resolve(result).then(
      (value) => {
        pending.delete(entry);
        resolve(value);
      },
      (error: unknown) => {
        pending.delete(entry);
        reject(toStoreError(operation, error));
      },
    );
  });
}
