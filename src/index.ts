/**
 * `tessera`: the session manager, the Store contract, errors and event types.
 */

export type { TesseraErrorCode } from './core/errors.js';
export { ERROR_CODES, isTesseraError, TesseraError } from './core/errors.js';
export {
  generateSessionId,
  hashSessionId,
  isValidSessionId,
} from './core/ids.js';
export type {
  KeyValueEntry,
  SessionData,
  SessionMeta,
  SessionPatch,
  SessionRecord,
  Store,
  StoreClockOptions,
} from './stores/store.js';
