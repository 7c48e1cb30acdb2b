/**
 * `tessera`: the session manager, the Store contract, errors, event types, and the
 * framework-neutral pieces adapters are built from.
 */

export type { TesseraErrorCode } from './core/errors.js';
export { ERROR_CODES, isTesseraError, TesseraError } from './core/errors.js';
export type {
  AnomalyAction,
  SessionEventListener,
  SessionEventName,
  SessionEvents,
} from './core/events.js';
export {
  generateSessionId,
  hashSessionId,
  isValidSessionId,
} from './core/ids.js';
export type {
  CreateSessionOptions,
  LoginOptions,
  RequestFacts,
  SessionInfo,
  SessionManager,
} from './core/manager.js';
export { createSessionManager } from './core/manager.js';
export type { SessionManagerOptions } from './core/options.js';
export type {
  CookieLifetime,
  HttpExchange,
  LifecycleManager,
  RequestSession,
  RequestSessionInfo,
  RequestSessions,
  RequestSessionsOptions,
  SessionCookieFormat,
  SessionLogger,
} from './core/request-session.js';
export {
  codecCookieFormat,
  createRequestSessions,
  decideCommit,
  httpStatusOf,
  withHttpStatus,
} from './core/request-session.js';
export { Session } from './core/session.js';
export type {
  ClaimRequirement,
  TokenAuthResult,
  TokenCookieOptions,
  TokenCookies,
  TokenGuard,
  TokenGuardOptions,
  TokenRequest,
} from './core/token-guard.js';
export { createTokenCookies, createTokenGuard } from './core/token-guard.js';
export type {
  KeyValueEntry,
  SessionData,
  SessionMeta,
  SessionPatch,
  SessionRecord,
  Store,
  StoreClockOptions,
} from './stores/store.js';
export { STORE_METHODS } from './stores/store.js';
