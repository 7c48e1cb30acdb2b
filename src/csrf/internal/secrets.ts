/**
 * Secret handling for CSRF tokens: validation of secret lists and strict base64url decoding
 * (kept here rather than borrowed from `cookies/internal`, so the two modules stay apart).
 */
import { TesseraError } from '../../core/errors.js';

const MIN_SECRET_LENGTH = 32;
const ALPHABET = /^[A-Za-z0-9_-]*$/;

/** The secrets as a non-empty list of strings of 32+ characters, else a TesseraError. */
export function normalizeSecrets(secrets: unknown, option: string): [string, ...string[]] {
  const list = typeof secrets === 'string' ? [secrets] : secrets;
  if (!Array.isArray(list) || list.length === 0) {
    throw new TesseraError(
      'ERR_CONFIG',
      `${option} must be a secret string or a non-empty array of them.`,
    );
  }
  for (const secret of list) {
    if (typeof secret !== 'string')
      throw new TesseraError('ERR_CONFIG', `${option} must contain only strings.`);
    if (secret.length < MIN_SECRET_LENGTH) {
      throw new TesseraError(
        'ERR_KEY_WEAK',
        `${option}: every secret needs at least ${MIN_SECRET_LENGTH} characters; generate one with ` +
          `\`node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"\`.`,
      );
    }
  }
  return list as [string, ...string[]];
}

/** The bytes of a canonical, unpadded base64url string, or null for anything else. */
export function decodeBase64urlStrict(value: string): Buffer | null {
  if (!ALPHABET.test(value) || value.length % 4 === 1) return null;
  const bytes = Buffer.from(value, 'base64url');
  return bytes.toString('base64url') === value ? bytes : null;
}
