/**
 * Every store call from the core goes through `callStore`: it bounds the call in time and
 * maps driver failures to `ERR_STORE_UNAVAILABLE`, so an outage is a clear error the
 * adapters turn into 503, never a hang or a crash.
 */
import { withDeadline } from '../../shared/deadline.js';
import { TesseraError } from '../../shared/errors.js';

function toStoreError(operation: string, error: unknown): TesseraError {
  // A store's own errors (closed, conflict, bad data, unavailable) keep their code.
  if (error instanceof TesseraError) return error;
  return new TesseraError('ERR_STORE_UNAVAILABLE', `session store failed during ${operation}`, {
    cause: error,
  });
}

/**
 * `callStore` without the deadline, for stores that answer within the call (see
 * `stores/internal/prompt-stores.ts`): errors are mapped the same way.
 * @example callPromptStore('get', () => memoryStore.get(key));
 */
export async function callPromptStore<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toStoreError(operation, error);
  }
}

/**
 * A synchronous call of a prompt store's twin (`stores/internal/prompt-stores.ts`): its
 * answer as a value, or its error mapped as `callStore` maps it, as a rejected promise (the
 * caller never sees a synchronous throw).
 * @example const record = callPromptStoreNow('get', () => get(key));
 */
export function callPromptStoreNow<T>(operation: string, call: () => T): T | Promise<never> {
  try {
    return call();
  } catch (error) {
    return Promise.reject(toStoreError(operation, error));
  }
}

export function callStore<T>(
  operation: string,
  timeoutMs: number,
  call: () => Promise<T>,
): Promise<T> {
  let work: Promise<T>;
  try {
    work = Promise.resolve(call());
  } catch (error) {
    return Promise.reject(toStoreError(operation, error));
  }
  return withDeadline(
    work,
    timeoutMs,
    () =>
      new TesseraError(
        'ERR_STORE_UNAVAILABLE',
        `session store did not answer ${operation} within ${timeoutMs} ms`,
      ),
  ).catch((error: unknown) => {
    throw toStoreError(operation, error);
  });
}
