/**
 * Validation of HMAC secret lists (the `secrets` options of cookies and CSRF tokens): the
 * first secret signs, every secret verifies, and each must be at least 32 characters.
 */
import { TesseraError } from './errors.js';

/** Minimum length of an HMAC secret, in characters. */
export const MIN_SECRET_LENGTH = 32;

/** The secrets as a non-empty list, or a TesseraError naming `option`. */
export function normalizeSecrets(secrets: unknown, option: string): [string, ...string[]] {
  const list = typeof secrets === 'string' ? [secrets] : secrets;
  if (!Array.isArray(list) || list.length === 0) {
    throw new TesseraError(
      'ERR_CONFIG',
      `${option} must be a secret string or a non-empty array of them (the first signs, all verify).`,
    );
  }
  for (const secret of list) {
    if (typeof secret !== 'string') {
      throw new TesseraError('ERR_CONFIG', `${option} must contain only strings.`);
    }
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
