/**
 * `tessera-session/client`: the browser helper for the token strategies. No Node imports.
 * @module tessera-session/client
 */

export type {
  ClientOptions,
  SignOutReason,
  TesseraClient,
  TokenSet,
} from './client.js';
export { createClient } from './client.js';
export type { StorageLike, TokenStorage } from './storage.js';
