/**
 * The errors every store throws for the same situations, so messages and codes match across
 * backends: a call after `close()`, a key or handle already taken, a backend that failed.
 */
import { TesseraError } from '../../shared/errors.js';

/**
 * `ERR_STORE_CLOSED` for a call made after `close()`.
 * @example if (closed) throw storeClosedError('sqlite');
 */
export function storeClosedError(kind: string): TesseraError {
  return new TesseraError(
    'ERR_STORE_CLOSED',
    `The ${kind} store is closed; create a new store instead of reusing a closed one.`,
  );
}

/**
 * `ERR_STORE_CONFLICT` for a `create` whose key or handle belongs to a live record.
 * @example throw storeConflictError('memory', 'handle');
 */
export function storeConflictError(kind: string, what: 'key' | 'handle'): TesseraError {
  return new TesseraError(
    'ERR_STORE_CONFLICT',
    `The ${kind} store already holds a live session with this ${what}; generate a new one.`,
  );
}

/**
 * `ERR_STORE_UNAVAILABLE` wrapping a backend failure (`cause` keeps the original error).
 * @example catch (error) { throw storeUnavailableError('sqlite', 'patch', error); }
 */
export function storeUnavailableError(
  kind: string,
  operation: string,
  cause: unknown,
): TesseraError {
  const reason = cause instanceof Error ? `: ${cause.message}` : '';
  return new TesseraError(
    'ERR_STORE_UNAVAILABLE',
    `The ${kind} store failed during ${operation}${reason}. Check that the backend is reachable ` +
      'and writable; the call can be retried.',
    { cause },
  );
}
