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

/** How many verified cookie values an `ExpressValueVerifier` remembers before it starts over. */
export const EXPRESS_VERIFIER_CACHE_SIZE = 10_000;

/** `unsignExpressValue` with a bounded cache of what it verified. */
export interface ExpressValueVerifier {
  /** As `unsignExpressValue(signed, secrets)`; a value seen before costs a map lookup. */
  unsign(signed: unknown, secrets: ReadonlyArray<string | Buffer>): string | null;
}

/**
 * A verifier that remembers signed values it accepted (keyed by the full signed value, so
 * any other signature misses and is checked in full), bounded in size, and forgets them all
 * when the secrets it is given differ from the last call's (rotation). Rejections are not
 * cached, and nothing is cached while a secret is not a string.
 * @example const verifier = createExpressValueVerifier(); verifier.unsign(value, secrets)
 */
export function createExpressValueVerifier(): ExpressValueVerifier {
  const verified = new Map<string, string>();
  let known: ReadonlyArray<string | Buffer> = [];
  const sameSecrets = (secrets: ReadonlyArray<string | Buffer>): boolean => {
    if (secrets.length !== known.length) return false;
    for (let i = 0; i < secrets.length; i++) if (secrets[i] !== known[i]) return false;
    return true;
  };
  return {
    unsign(signed, secrets) {
      if (typeof signed !== 'string') return null;
      // A Buffer secret can change in place unseen: such secrets are checked every time.
      if (secrets.some((secret) => typeof secret !== 'string')) {
        return unsignExpressValue(signed, secrets);
      }
      if (!sameSecrets(secrets)) {
        verified.clear();
        known = [...secrets];
      }
      const hit = verified.get(signed);
      if (hit !== undefined) return hit;
      const value = unsignExpressValue(signed, secrets);
      if (value !== null) {
        if (verified.size >= EXPRESS_VERIFIER_CACHE_SIZE) verified.clear();
        verified.set(signed, value);
      }
      return value;
    },
  };
}
