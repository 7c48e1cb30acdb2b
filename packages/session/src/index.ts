/**
 * `tessera-session`: the session manager, the Store contract, errors, event types, and the
 * framework-neutral pieces adapters are built from.
 * @module tessera-session
 */

export type {
  AnomalyAction,
  SessionEventBase,
  SessionEventListener,
  SessionEventName,
  SessionEvents,
} from './core/events.js';
export { callStore } from './core/internal/store-call.js';
export type {
  CreateSessionOptions,
  LoginOptions,
  RequestFacts,
  SessionInfo,
  SessionManager,
  StepUpOptions,
} from './core/manager.js';
export { createSessionManager } from './core/manager.js';
export type { SessionManagerOptions } from './core/options.js';
export { Session } from './core/session.js';
export type {
  BoundCookieState,
  Dbsc,
  DbscAlgorithm,
  DbscAnswer,
  DbscOptions,
  DbscRequest,
  PublicJwk,
} from './http/dbsc.js';
export { createDbsc } from './http/dbsc.js';
export type {
  RecentAuthCheck,
  RecentAuthFacts,
  RecentAuthOptions,
  RecentAuthRefusalBody,
  RecentAuthResult,
} from './http/recent-auth.js';
export { createRecentAuthCheck } from './http/recent-auth.js';
export type {
  CommitDecision,
  CommitFacts,
  CookieLifetime,
  HttpExchange,
  LifecycleManager,
  RequestLoginOptions,
  RequestSession,
  RequestSessionInfo,
  RequestSessions,
  RequestSessionsOptions,
  SessionCookieFormat,
  SessionLogger,
} from './http/request-session.js';
export {
  codecCookieFormat,
  createRequestSessions,
  decideCommit,
} from './http/request-session.js';
export { HTTP_STATUS_BY_CODE, httpStatusOf, withHttpStatus } from './http/status.js';
export type {
  ClaimRequirement,
  TokenAuthResult,
  TokenCookieOptions,
  TokenCookies,
  TokenErrorName,
  TokenGuard,
  TokenGuardOptions,
  TokenRefusal,
  TokenRequest,
} from './http/token-guard.js';
export { createTokenCookies, createTokenGuard } from './http/token-guard.js';
export type { TesseraErrorCode } from './shared/errors.js';
export { ERROR_CODES, isTesseraError, TesseraError } from './shared/errors.js';
export {
  generateSessionId,
  hashSessionId,
  isValidHandle,
  isValidSessionId,
} from './shared/ids.js';
export type {
  CreateWithinLimitResult,
  KeyValueEntry,
  SessionData,
  SessionMeta,
  SessionPatch,
  SessionRecord,
  Store,
  StoreClockOptions,
  UserSessionLimit,
} from './stores/store.js';
export { OPTIONAL_STORE_METHODS, STORE_METHODS } from './stores/store.js';
