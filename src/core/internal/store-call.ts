/**
 * Every store call from the core goes through `callStore`: it bounds the call in time and
 * maps driver failures to `ERR_STORE_UNAVAILABLE`, so an outage is a clear error the
 * adapters turn into 503, never a hang or a crash.
 */
import { TesseraError } from '../errors.js';

export async function callStore<T>(
  operation: string,
  timeoutMs: number,
  call: () => Promise<T>,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pending = Promise.resolve().then(call);
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new TesseraError(
          'ERR_STORE_UNAVAILABLE',
          `session store did not answer ${operation} within ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
  });
  try {
    return await Promise.race([pending, timeout]);
  } catch (error) {
    // A store's own errors (closed, conflict, bad data, unavailable) keep their code.
    if (error instanceof TesseraError) throw error;
    throw new TesseraError('ERR_STORE_UNAVAILABLE', `session store failed during ${operation}`, {
      cause: error,
    });
  } finally {
    clearTimeout(timer);
    // A call that lost the race may still reject later; that must not be an unhandled rejection.
    pending.catch(() => {});
  }
}
