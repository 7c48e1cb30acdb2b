/**
 * What every session manager over a peer's callback store (express-session's, @fastify/session's)
 * shares: such a store has no user index and no handles, so the user-level operations refuse
 * with one clear `ERR_CONFIG`, and a record's own expiry is "never" (the store and the cookie
 * decide).
 */
import type { SessionInfo } from '../../core/manager.js';
import { TesseraError } from '../../shared/errors.js';

/** The expiry of a record kept in a callback store: the store's own TTL rules instead. */
export const FAR_FUTURE = 8.64e15;

/** The manager methods a callback store cannot serve. */
export interface UserLevelRefusals {
  login(): Promise<never>;
  listUserSessions(): Promise<SessionInfo[]>;
  revoke(): Promise<never>;
  revokeUserSessions(): Promise<never>;
}

/**
 * The user-level operations of a manager over a callback store, each refusing with
 * `ERR_CONFIG` naming the store kind and what to use instead.
 * @example const manager = { ...refuseUserLevel('an express-session store'), get, commit };
 */
export function refuseUserLevel(storeKind: string): UserLevelRefusals {
  const refuse = (what: string): Promise<never> =>
    Promise.reject(
      new TesseraError(
        'ERR_CONFIG',
        `${what} needs a Tessera store (user index and handles); ${storeKind} has neither. ` +
          "Use a Tessera store, e.g. createRedisStore from 'tessera-session/stores/redis'.",
      ),
    );
  return {
    login: () => refuse('login(userId)'),
    listUserSessions: () => refuse('sessions()'),
    revoke: () => refuse('revoke(handle)'),
    revokeUserSessions: () => refuse('signOutEverywhere()'),
  };
}
