/**
 * express-session's signed cookie format, byte for byte: `s:` + value + `.` + the
 * HMAC-SHA256 of the value in standard base64 without padding (the format of the
 * `cookie-signature` package). The Express adapter uses these to read and write cookies
 * that express-session also accepts. Written for Tessera; compared in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

function mac(value: string, secret: string | Buffer): string {
  // 32 bytes are 44 base64 characters ending in one '=', which the format leaves out.
  return createHmac('sha256', secret).update(value).digest('base64').slice(0, 43);
}

/**
 * Signs `value` the way express-session does (before URI encoding of the cookie).
 * @example signExpressValue('sid123', 'keyboard cat') // 's:sid123.<43 base64 chars>'
 */
export function signExpressValue(value: string, secret: string | Buffer): string {
  return `s:${value}.${mac(value, secret)}`;
}

/**
 * The value inside an express-session signed cookie value (already URI-decoded) when one
 * of `secrets` signed it, else null (no `s:` prefix, no signature, wrong signature).
 * Secrets are not length-checked here: existing express-session deployments may use short
 * ones; the adapter decides what it accepts.
 * @example unsignExpressValue('s:sid123.abc…', ['keyboard cat']) // 'sid123' or null
 */
export function unsignExpressValue(
  signed: unknown,
  secrets: readonly (string | Buffer)[],
): string | null {
  if (typeof signed !== 'string' || !signed.startsWith('s:')) return null;
  const body = signed.slice(2);
  const dot = body.lastIndexOf('.');
  if (dot < 0) return null;
  const value = body.slice(0, dot);
  const given = Buffer.from(body.slice(dot + 1));
  let ok = false;
  for (const secret of secrets) {
    const usable =
      (typeof secret === 'string' && secret !== '') ||
      (Buffer.isBuffer(secret) && secret.byteLength > 0);
    if (!usable) continue;
    const expected = Buffer.from(mac(value, secret));
    if (expected.length === given.length && timingSafeEqual(expected, given)) ok = true;
  }
  return ok ? value : null;
}
