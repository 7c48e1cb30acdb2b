/**
 * Session identifiers: 32 bytes from the OS CSPRNG, base64url without padding (43
 * characters). Only their SHA-256 ever reaches a store, so a leaked store dump signs nobody
 * in. Syntax is checked before any store call.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

const ID_BYTES = 32;
const ID_LENGTH = 43;
// 43 base64url characters carry 258 bits; the last character's two low bits must be zero.
const ID_PATTERN = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/**
 * A fresh session ID.
 * @example const id = generateSessionId(); // 'pX3…' (43 characters)
 */
export function generateSessionId(): string {
  return randomBytes(ID_BYTES).toString('base64url');
}

/**
 * True when `value` has the exact shape of an ID Tessera issues (length, alphabet and
 * canonical trailing bits). Anything else is refused without a store call.
 * @example isValidSessionId('abc') // false
 */
export function isValidSessionId(value: unknown): value is string {
  return typeof value === 'string' && value.length === ID_LENGTH && ID_PATTERN.test(value);
}

/**
 * True for an ID an app's own generator may produce (express-session's `genid`): 1 to 256
 * visible ASCII characters (0x21-0x7E; the cookie layer URI-encodes what a cookie cannot
 * carry). Only its SHA-256 reaches a Tessera store, so its shape matters only for size.
 * @example isCustomSessionId('user-42:3f9a') // true
 */
export function isCustomSessionId(value: unknown): value is string {
  return typeof value === 'string' && CUSTOM_ID_PATTERN.test(value);
}

const CUSTOM_ID_PATTERN = /^[\x21-\x7e]{1,256}$/;

/**
 * The store key of a session ID: SHA-256, base64url.
 * @example store.get(hashSessionId(id))
 */
export function hashSessionId(id: string): string {
  // One-shot hash: no Hash object per call (this runs on every request).
  return hash('sha256', id, 'base64url');
}

/**
 * A public handle for a session (128 random bits, base64url): shown in device lists and
 * APIs, useless for signing in.
 * @example const handle = generateHandle();
 */
export function generateHandle(): string {
  return randomBytes(16).toString('base64url');
}

const HANDLE_PATTERN = /^[A-Za-z0-9_-]{21}[AQgw]$/;

/** True when `value` has the shape of a handle from `generateHandle`. */
export function isValidHandle(value: unknown): value is string {
  return typeof value === 'string' && value.length === 22 && HANDLE_PATTERN.test(value);
}

/**
 * Compares two strings in time that depends only on their lengths.
 * @example safeEqual(sent, expected)
 */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  if (left.length !== right.length) {
    // Compare against itself so the work done does not reveal where the strings differ.
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}
