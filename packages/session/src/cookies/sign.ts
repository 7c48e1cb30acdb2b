/**
 * HMAC-SHA256 signing of cookie values: `"<value>.<base64url mac>"`. The first secret of a
 * list signs; verification tries every secret (rotation) and compares in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const MAC_LENGTH = 43; // 32 bytes, base64url without padding

function mac(value: string, secret: string): string {
  return createHmac('sha256', secret).update(value).digest('base64url');
}

/**
 * Appends an HMAC-SHA256 signature to `value`.
 * @example signCookieValue('abc', secret) // 'abc.3vQx…' (value, '.', 43 characters)
 */
export function signCookieValue(value: string, secret: string): string {
  return `${value}.${mac(value, secret)}`;
}

/**
 * The value inside `signed` when one of `secrets` made its signature, else null. Never
 * throws on malformed input.
 * @example unsignCookieValue(cookie, [newSecret, oldSecret]) // 'abc' or null
 */
export function unsignCookieValue(signed: unknown, secrets: readonly string[]): string | null {
  if (typeof signed !== 'string') return null;
  const dot = signed.lastIndexOf('.');
  if (dot < 0 || signed.length - dot - 1 !== MAC_LENGTH) return null;
  const value = signed.slice(0, dot);
  const given = Buffer.from(signed.slice(dot + 1));
  let ok = false;
  // Every secret is tried, so the time taken does not tell which one matched.
  for (const secret of secrets) {
    const expected = Buffer.from(mac(value, secret));
    if (expected.length === given.length && timingSafeEqual(expected, given)) ok = true;
  }
  return ok ? value : null;
}
