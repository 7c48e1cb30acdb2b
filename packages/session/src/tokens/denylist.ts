/**
 * The access-token denylist: revoked `jti` values, shared by every instance through the
 * store's key-value space (namespace `denylist`). An entry is kept only as long as the token
 * it names could still verify — its `exp` plus the largest clock tolerance a verifier may
 * allow — and then the store drops it, so the list never grows beyond the tokens alive.
 * The key is the `jti`, never the token's bytes. It also keeps a per-user not-before
 * (namespace `denylist-user`): `revokeUserTokens(sub)` ends every access token of that user
 * issued up to now, for the stateless `jwt` strategy where no session can be revoked.
 */
import { TesseraError } from '../shared/errors.js';
import type { Store } from '../stores/store.js';

const NS_DENYLIST = 'denylist';
const NS_USER = 'denylist-user';
/** Default for `maxTokenLifetime`: one day, in seconds. */
const DEFAULT_MAX_TOKEN_LIFETIME = 86_400;
const MAX_JTI_LENGTH = 256;
/** The largest `clockTolerance` `createAccessTokens` accepts, in seconds. */
const DEFAULT_LEEWAY = 60;

export interface DenylistOptions {
  /** Any Tessera Store; only its key-value methods are used. */
  store: Store;
  /**
   * Clock in milliseconds since the epoch.
   * @defaultValue Date.now
   */
  now?: () => number;
  /**
   * Seconds an entry outlives the token's `exp`, to cover verifiers that accept a token
   * a little after `exp` (clock tolerance).
   * @defaultValue 60 (seconds: the largest clock tolerance allowed)
   */
  leeway?: number;
  /**
   * Seconds a per-user not-before is kept: at least the longest access-token `ttl` your
   * verifiers accept (a token issued before it expires by then).
   * @defaultValue 86400 (one day)
   */
  maxTokenLifetime?: number;
}

export interface Denylist {
  /**
   * Revokes the token with this `jti` until `expSeconds` (its `exp` claim, seconds since
   * the epoch) has passed. Revoking a token that can no longer verify writes nothing.
   */
  revoke(jti: string, expSeconds: number): Promise<void>;
  /** True when a token with this `jti` was revoked and could still verify. */
  isRevoked(jti: string): Promise<boolean>;
  /**
   * Ends every access token of user `sub` issued up to now (its `iat` is at or before this
   * second): for disabling or deleting an account under the `jwt` strategy.
   */
  revokeUserTokens(sub: string): Promise<void>;
  /** The user's not-before (seconds since the epoch), or null when none is recorded. */
  userNotBefore(sub: string): Promise<number | null>;
}

function checkJti(where: string, jti: unknown): asserts jti is string {
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) {
    throw new TesseraError(
      'ERR_INVALID_ARGUMENT',
      `denylist.${where}: \`jti\` must be a non-empty string of at most ${MAX_JTI_LENGTH} characters (the token's jti claim)`,
    );
  }
}

function checkSub(where: string, sub: unknown): asserts sub is string {
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_JTI_LENGTH) {
    throw new TesseraError(
      'ERR_INVALID_ARGUMENT',
      `denylist.${where}: \`sub\` must be a non-empty string of at most ${MAX_JTI_LENGTH} characters (the user id)`,
    );
  }
}

/**
 * Creates a denylist over a store.
 * @example
 * const denylist = createDenylist({ store });
 * await denylist.revoke(claims.jti, claims.exp);   // at logout
 * await denylist.revokeUserTokens('alice');         // account disabled: all her tokens
 * const tokens = createAccessTokens({ keys, issuer, audience, denylist });
 */
export function createDenylist(options: DenylistOptions): Denylist {
  const store = options?.store;
  if (
    !store ||
    typeof store.kvGet !== 'function' ||
    typeof store.kvSet !== 'function' ||
    typeof store.kvDelete !== 'function'
  ) {
    throw new TesseraError(
      'ERR_CONFIG',
      'createDenylist: `store` must be a Tessera Store (for example createMemoryStore())',
    );
  }
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') {
    throw new TesseraError('ERR_CONFIG', 'createDenylist: `now` must be a function');
  }
  const leeway = options.leeway ?? DEFAULT_LEEWAY;
  if (typeof leeway !== 'number' || !Number.isFinite(leeway) || leeway < 0 || leeway > 3600) {
    throw new TesseraError(
      'ERR_CONFIG',
      'createDenylist: `leeway` must be a number of seconds from 0 to 3600 (default 60)',
    );
  }

  const lifetime = options.maxTokenLifetime ?? DEFAULT_MAX_TOKEN_LIFETIME;
  if (!Number.isSafeInteger(lifetime) || lifetime < 1) {
    throw new TesseraError(
      'ERR_CONFIG',
      'createDenylist: `maxTokenLifetime` must be a whole number of seconds, at least 1 (default 86400)',
    );
  }

  return {
    async revokeUserTokens(sub: string): Promise<void> {
      checkSub('revokeUserTokens', sub);
      const at = now();
      const until = at + (lifetime + leeway) * 1000;
      await store.kvSet(NS_USER, sub, Math.floor(at / 1000), until);
    },

    async userNotBefore(sub: string): Promise<number | null> {
      checkSub('userNotBefore', sub);
      const value = await store.kvGet(NS_USER, sub);
      return typeof value === 'number' ? value : null;
    },

    async revoke(jti: string, expSeconds: number): Promise<void> {
      checkJti('revoke', jti);
      if (typeof expSeconds !== 'number' || !Number.isFinite(expSeconds)) {
        throw new TesseraError(
          'ERR_INVALID_ARGUMENT',
          "denylist.revoke: `expSeconds` must be the token's exp claim (seconds since the epoch)",
        );
      }
      const until = Math.ceil((expSeconds + leeway) * 1000);
      // A token past exp + leeway fails verification anyway; nothing to remember.
      if (until <= now()) return;
      await store.kvSet(NS_DENYLIST, jti, 1, until);
    },

    async isRevoked(jti: string): Promise<boolean> {
      checkJti('isRevoked', jti);
      return (await store.kvGet(NS_DENYLIST, jti)) !== null;
    },
  };
}
