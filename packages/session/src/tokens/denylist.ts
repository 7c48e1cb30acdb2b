/**
 * The access-token denylist: revoked `jti` values, shared by every instance through the
 * store's key-value space (namespace `denylist`). An entry is kept only as long as the token
 * it names could still verify — its `exp` plus the largest clock tolerance a verifier may
 * allow — and then the store drops it, so the list never grows beyond the tokens alive.
 * The key is the `jti`, never the token's bytes.
 */
import { TesseraError } from '../shared/errors.js';
import type { Store } from '../stores/store.js';

const NS_DENYLIST = 'denylist';
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
}

export interface Denylist {
  /**
   * Revokes the token with this `jti` until `expSeconds` (its `exp` claim, seconds since
   * the epoch) has passed. Revoking a token that can no longer verify writes nothing.
   */
  revoke(jti: string, expSeconds: number): Promise<void>;
  /** True when a token with this `jti` was revoked and could still verify. */
  isRevoked(jti: string): Promise<boolean>;
}

function checkJti(where: string, jti: unknown): asserts jti is string {
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) {
    throw new TesseraError(
      'ERR_INVALID_ARGUMENT',
      `denylist.${where}: \`jti\` must be a non-empty string of at most ${MAX_JTI_LENGTH} characters (the token's jti claim)`,
    );
  }
}

/**
 * Creates a denylist over a store.
 * @example
 * const denylist = createDenylist({ store });
 * await denylist.revoke(claims.jti, claims.exp);   // at logout
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

  return {
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
