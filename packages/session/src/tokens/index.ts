/**
 * `tessera-session/tokens`: keyring and JWKS, access-token issue and verify, rotating refresh tokens
 * with reuse detection, and the `jti` denylist.
 */
export type {
  AccessTokenClaims,
  AccessTokenDenylist,
  AccessTokenInput,
  AccessTokens,
  AccessTokensOptions,
} from './access-tokens.js';
export {
  createAccessTokens,
  DEFAULT_ACCESS_TTL,
  DEFAULT_CLOCK_TOLERANCE,
  MAX_CLOCK_TOLERANCE,
} from './access-tokens.js';
export type { Denylist, DenylistOptions } from './denylist.js';
export { createDenylist } from './denylist.js';
export type { JSONWebKeySet, JWK } from './jwk.js';
export type { KeyStorageOptions } from './key-storage.js';
export { KEY_NAMESPACE, loadKeyring, reloadKeyring, saveKeyring } from './key-storage.js';
export type {
  GenerateKeyOptions,
  KeyInfo,
  Keyring,
  KeyringOptions,
  TokenAlg,
} from './keyring.js';
export { createKeyring, generateKey, isKeyring } from './keyring.js';
export type {
  RefreshEvent,
  RefreshEventBase,
  RefreshRotation,
  RefreshTokens,
  RefreshTokensOptions,
} from './refresh.js';
export { createRefreshTokens, MAX_GRACE_RETRIES } from './refresh.js';
export { MAX_TOKEN_LENGTH } from './verify.js';
