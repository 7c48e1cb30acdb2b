/**
 * `tessera-session/cookies`: the cookie codec (secure defaults, signing, size limit), the
 * express-session signed-value format, and sealed (encrypted) cookies with chunking.
 * @module tessera-session/cookies
 */

export type { CookieCodec, CookieCodecOptions, CookieSerializeOptions } from './codec.js';
export { createCookieCodec, readCookie } from './codec.js';
export { signExpressValue, unsignExpressValue } from './express-signature.js';
export type {
  CookieAttributeOptions,
  CookiePrefix,
  CookieRequestContext,
  SameSite,
} from './internal/attributes.js';
export { MAX_COOKIE_BYTES } from './internal/attributes.js';
export type {
  CookieSealer,
  CookieSealerOptions,
  SealedSession,
  SealerKey,
  SealOptions,
  SealWriteOptions,
} from './seal.js';
export { createCookieSealer } from './seal.js';
export { signCookieValue, unsignCookieValue } from './sign.js';
