/**
 * express-session's signed cookie format, byte for byte: `s:` + value + `.` + the
 * HMAC-SHA256 of the value in standard base64 without padding (the format of the
 * `cookie-signature` package). The Express adapter uses these to read and write cookies
 * that express-session also accepts. Written for Tessera; compared in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readCookie } from './codec.js';

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

/** How many whole Cookie headers an `ExpressValueVerifier` remembers before it starts over. */
export const EXPRESS_HEADER_CACHE_SIZE = 2_000;
/** Longer Cookie headers are parsed every time (the header cache holds at most ~2 MB). */
export const EXPRESS_HEADER_CACHE_MAX_LENGTH = 1_024;

/** `unsignExpressValue` with a bounded cache of what it verified. */
export interface ExpressValueVerifier {
  /** As `unsignExpressValue(signed, secrets)`; a value seen before costs a map lookup. */
  unsign(signed: unknown, secrets: ReadonlyArray<string | Buffer>): string | null;
  /**
   * The verified value of cookie `name` in a whole Cookie header (parsed by the `cookie`
   * package, URI-decoded), or null. A header seen before, unchanged to the byte, with a
   * valid cookie under `name`, costs a map lookup: no parsing, decoding or HMAC.
   */
  fromHeader(header: unknown, name: string, secrets: ReadonlyArray<string | Buffer>): string | null;
}

/**
 * A verifier that remembers signed values it accepted (keyed by the full signed value, so
 * any other signature misses and is checked in full), and whole Cookie headers that carried
 * one (keyed by the full header and the cookie name), both bounded in size, and forgets them
 * all when the secrets it is given differ from the last call's (rotation). Rejections are
 * not cached, and nothing is cached while a secret is not a string.
 * @example const verifier = createExpressValueVerifier(); verifier.unsign(value, secrets)
 */
export function createExpressValueVerifier(): ExpressValueVerifier {
  const verified = new Map<string, string>();
  /** Cookie name → whole header → the value it carried under that name (verified). */
  const headers = new Map<string, Map<string, string>>();
  let headerCount = 0;
  let known: ReadonlyArray<string | Buffer> = [];
  const sameSecrets = (secrets: ReadonlyArray<string | Buffer>): boolean => {
    if (secrets.length !== known.length) return false;
    for (let i = 0; i < secrets.length; i++) if (secrets[i] !== known[i]) return false;
    return true;
  };
  /** False while a secret is a Buffer (it can change in place unseen); forgets on rotation. */
  const cacheable = (secrets: ReadonlyArray<string | Buffer>): boolean => {
    for (const secret of secrets) if (typeof secret !== 'string') return false;
    if (!sameSecrets(secrets)) {
      verified.clear();
      headers.clear();
      headerCount = 0;
      known = [...secrets];
    }
    return true;
  };
  const unsign = (signed: unknown, secrets: ReadonlyArray<string | Buffer>): string | null => {
    if (typeof signed !== 'string') return null;
    if (!cacheable(secrets)) return unsignExpressValue(signed, secrets);
    const hit = verified.get(signed);
    if (hit !== undefined) return hit;
    const value = unsignExpressValue(signed, secrets);
    if (value !== null) {
      if (verified.size >= EXPRESS_VERIFIER_CACHE_SIZE) verified.clear();
      verified.set(signed, value);
    }
    return value;
  };
  return {
    unsign,
    fromHeader(header, name, secrets) {
      if (typeof header !== 'string' || header === '') return null;
      const useCache = header.length <= EXPRESS_HEADER_CACHE_MAX_LENGTH && cacheable(secrets);
      const byHeader = useCache ? headers.get(name) : undefined;
      const hit = byHeader?.get(header);
      if (hit !== undefined) return hit;
      const raw = readCookie(header, name);
      const value = raw === null ? null : unsign(raw, secrets);
      if (value !== null && useCache) {
        if (headerCount >= EXPRESS_HEADER_CACHE_SIZE) {
          headers.clear();
          headerCount = 0;
        }
        let forName = headers.get(name);
        if (forName === undefined) {
          forName = new Map();
          headers.set(name, forName);
        }
        forName.set(header, value);
        headerCount++;
      }
      return value;
    },
  };
}
