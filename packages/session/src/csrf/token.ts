/**
 * Synchronizer tokens for HTML forms: an HMAC-SHA256 of a per-session value (the session's
 * public handle or another secret that lives as long as the session), XOR-masked with fresh
 * random bytes on every issue so the token differs on every page (BREACH). Verification
 * unmasks and compares in constant time; every secret of a list verifies (rotation).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { decodeBase64urlStrict } from '../shared/base64url.js';
import { TesseraError } from '../shared/errors.js';
import { normalizeSecrets } from '../shared/secrets.js';

const MAC_BYTES = 32;
const LABEL = 'tessera.csrf.v1\0';

function expected(sessionValue: string, secret: string): Buffer {
  return createHmac('sha256', secret).update(LABEL).update(sessionValue).digest();
}

function checkSessionValue(sessionValue: unknown, fn: string): string {
  if (typeof sessionValue !== 'string' || sessionValue === '') {
    throw new TesseraError(
      'ERR_INVALID_ARGUMENT',
      `${fn}: sessionValue must be a non-empty string bound to the session (e.g. its public handle).`,
    );
  }
  return sessionValue;
}

/**
 * A fresh, masked CSRF token for a form in this session (86 characters, base64url).
 * `secret` (at least 32 characters; a list signs with its first) is an app secret.
 * @example
 * const token = createCsrfToken(session.handle, process.env.CSRF_SECRET!);
 * html`<input type="hidden" name="_csrf" value="${token}">`;
 */
export function createCsrfToken(sessionValue: string, secret: string | string[]): string {
  const value = checkSessionValue(sessionValue, 'createCsrfToken');
  const [signing] = normalizeSecrets(secret, 'createCsrfToken: secret');
  const mac = expected(value, signing);
  const mask = randomBytes(MAC_BYTES);
  const masked = Buffer.alloc(MAC_BYTES);
  for (let i = 0; i < MAC_BYTES; i++) masked[i] = (mac[i] as number) ^ (mask[i] as number);
  return Buffer.concat([mask, masked]).toString('base64url');
}

/**
 * True when `token` was issued by {@link createCsrfToken} for this session value with one
 * of `secret`. Never throws on a malformed token.
 * @example if (!verifyCsrfToken(req.body._csrf, session.handle, secrets)) return res.sendStatus(403);
 */
export function verifyCsrfToken(
  token: unknown,
  sessionValue: string,
  secret: string | string[],
): boolean {
  const value = checkSessionValue(sessionValue, 'verifyCsrfToken');
  const secrets = normalizeSecrets(secret, 'verifyCsrfToken: secret');
  if (typeof token !== 'string' || token.length !== 86) return false;
  const bytes = decodeBase64urlStrict(token);
  if (bytes === null || bytes.length !== 2 * MAC_BYTES) return false;
  const given = Buffer.alloc(MAC_BYTES);
  for (let i = 0; i < MAC_BYTES; i++)
    given[i] = (bytes[i] as number) ^ (bytes[i + MAC_BYTES] as number);
  let ok = false;
  for (const s of secrets) {
    if (timingSafeEqual(given, expected(value, s))) ok = true;
  }
  return ok;
}
