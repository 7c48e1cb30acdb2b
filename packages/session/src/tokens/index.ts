/**
 * `tessera-session/tokens`: keyring and JWKS, access-token issue and verify, rotating refresh tokens
 * with reuse detection, the `jti` denylist, and DPoP (RFC 9449) proofs for sender-constrained tokens.
 * @module tessera-session/tokens
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
export type {
  DpopNonceOptions,
  DpopRequest,
  DpopVerifier,
  DpopVerifierOptions,
} from './dpop.js';
export { createDpopVerifier, DPOP_REPLAY_NAMESPACE } from './dpop.js';
export type { DpopAlg, DpopProof, DpopProofCheck } from './dpop-proof.js';
export {
  accessTokenHash,
  DEFAULT_DPOP_CLOCK_TOLERANCE,
  DEFAULT_DPOP_MAX_AGE,
  DPOP_ALGS,
  jwkThumbprint,
  MAX_DPOP_PROOF_LENGTH,
  normaliseHtu,
  verifyDpopProof,
} from './dpop-proof.js';
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
  RefreshBinding,
  RefreshEvent,
  RefreshEventBase,
  RefreshRotation,
  RefreshTokens,
  RefreshTokensOptions,
} from './refresh.js';
export { createRefreshTokens, MAX_GRACE_RETRIES } from './refresh.js';
export { MAX_TOKEN_LENGTH } from './verify.js';
