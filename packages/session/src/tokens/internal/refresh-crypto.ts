/**
 * Refresh-token cryptography: 256-bit opaque tokens, their SHA-256 store keys, and the
 * sealed successor box. The box lets a retry with the just-spent token get the SAME
 * successor back while the server keeps no raw token: the successor is encrypted
 * (AES-256-GCM) under a key derived (HKDF-SHA-256) from the spent token itself, so only a
 * holder of that token can open it.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { isValidSessionId } from '../../shared/ids.js';

const TOKEN_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HKDF_INFO = Buffer.from('tessera refresh successor v1');

/** A fresh refresh token: 32 CSPRNG bytes, base64url (43 characters). */
export function generateRefreshToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/** A family id: 128 random bits, base64url. */
export function generateFamilyId(): string {
  return randomBytes(16).toString('base64url');
}

/** True when `value` has the exact shape of a token this module issues. */
export function isRefreshTokenShape(value: unknown): value is string {
  // Same encoding as session IDs: 43 base64url characters with canonical trailing bits.
  return isValidSessionId(value);
}

/** The store key of a refresh token: SHA-256, base64url. */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** Constant-time equality of two base64url strings (hashes, ids). */
export function sameDigest(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  if (left.length !== right.length) return false;
  return timingSafeEqual(left, right);
}

function boxKey(spentToken: string, spentHash: string): Buffer {
  return Buffer.from(
    hkdfSync(
      'sha256',
      Buffer.from(spentToken, 'base64url'),
      Buffer.from(spentHash, 'base64url'),
      HKDF_INFO,
      32,
    ),
  );
}

/**
 * Encrypts `successor` so that only a holder of `spentToken` can read it back. The spent
 * token's hash is the associated data: a box moved to another slot does not open.
 */
export function sealSuccessor(successor: string, spentToken: string, spentHash: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', boxKey(spentToken, spentHash), iv);
  cipher.setAAD(Buffer.from(spentHash));
  const body = Buffer.concat([cipher.update(Buffer.from(successor, 'base64url')), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** Opens a box from `sealSuccessor`; null when it does not authenticate. */
export function openSuccessor(box: string, spentToken: string, spentHash: string): string | null {
  const raw = Buffer.from(box, 'base64url');
  if (raw.length !== IV_BYTES + TAG_BYTES + TOKEN_BYTES) return null;
  try {
    const decipher = createDecipheriv(
      'aes-256-gcm',
      boxKey(spentToken, spentHash),
      raw.subarray(0, IV_BYTES),
    );
    decipher.setAAD(Buffer.from(spentHash));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    const plain = Buffer.concat([
      decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)),
      decipher.final(),
    ]);
    return plain.toString('base64url');
  } catch {
    return null;
  }
}
