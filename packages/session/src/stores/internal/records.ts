/**
 * Checks and transformations of session records shared by every store: validating what a
 * caller hands to `create`, `patch` and the key-value methods (once, before any backend
 * call), and applying a `SessionPatch` to a record or to its data. Every store validates
 * with these so all stores refuse the same inputs with the same codes:
 * `ERR_INVALID_ARGUMENT` for a malformed call, `ERR_STORE_DATA` for a value that is not JSON.
 */
import { TesseraError } from '../../shared/errors.js';
import type {
  SessionData,
  SessionMeta,
  SessionPatch,
  SessionRecord,
  UserSessionLimit,
} from '../store.js';
import { assertJsonValue, isPlainObject } from './json.js';

/** Longest key, handle, user ID, namespace or data key a store accepts. */
export const MAX_KEY_LENGTH = 1024;

/**
 * Throws `ERR_INVALID_ARGUMENT` unless `value` is a non-empty string of at most
 * `MAX_KEY_LENGTH` characters.
 * @param name the argument's name for the message (`key`, `handle`, `userId`, `ns`).
 * @example validateKey(key, 'key');
 */
export function validateKey(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_KEY_LENGTH) {
    throw new TesseraError(
      'ERR_INVALID_ARGUMENT',
      `\`${name}\` must be a non-empty string of at most ${MAX_KEY_LENGTH} characters.`,
    );
  }
}

/**
 * Throws `ERR_INVALID_ARGUMENT` unless `value` is a finite number of milliseconds.
 * @example validateTime(expiresAt, 'expiresAt');
 */
export function validateTime(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TesseraError(
      'ERR_INVALID_ARGUMENT',
      `\`${name}\` must be a finite number of milliseconds since the epoch.`,
    );
  }
}

/**
 * Throws unless `record` is a complete, well-typed `SessionRecord` whose `data` and `meta`
 * are JSON (`ERR_STORE_DATA` for those, `ERR_INVALID_ARGUMENT` for the rest).
 * @example validateRecord(record); // at the top of `create`
 */
export function validateRecord(record: unknown): asserts record is SessionRecord {
  if (typeof record !== 'object' || record === null) {
    throw new TesseraError('ERR_INVALID_ARGUMENT', '`record` must be a SessionRecord object.');
  }
  const r = record as Partial<SessionRecord>;
  validateKey(r.key, 'record.key');
  validateKey(r.handle, 'record.handle');
  if (r.userId !== null) validateKey(r.userId, 'record.userId (or null)');
  if (r.authAt !== null) validateTime(r.authAt, 'record.authAt (or null)');
  validateTime(r.createdAt, 'record.createdAt');
  validateTime(r.lastSeenAt, 'record.lastSeenAt');
  validateTime(r.expiresAt, 'record.expiresAt');
  validateTime(r.absoluteExpiresAt, 'record.absoluteExpiresAt');
  validateObject(r.data, 'record.data');
  validateObject(r.meta, 'record.meta');
  assertJsonValue(r.data, 'session data');
  assertJsonValue(r.meta, 'session meta');
}

/**
 * Throws unless `patch` is a well-formed `SessionPatch`: `set` a plain object of JSON values,
 * `unset` an array of keys none of which is also in `set`, top-level fields of the right type.
 * @example validatePatch({ set: { theme: 'dark' }, unset: ['flash'] });
 */
export function validatePatch(patch: unknown): asserts patch is SessionPatch {
  if (typeof patch !== 'object' || patch === null) {
    throw new TesseraError('ERR_INVALID_ARGUMENT', '`patch` must be a SessionPatch object.');
  }
  const p = patch as SessionPatch;
  if (p.set !== undefined) {
    validateObject(p.set, 'patch.set');
    assertJsonValue(p.set, 'session data');
  }
  if (p.unset !== undefined) {
    if (!Array.isArray(p.unset)) {
      throw new TesseraError('ERR_INVALID_ARGUMENT', '`patch.unset` must be an array of keys.');
    }
    for (const key of p.unset) {
      validateKey(key, 'patch.unset[]');
      if (p.set !== undefined && Object.hasOwn(p.set, key)) {
        throw new TesseraError(
          'ERR_INVALID_ARGUMENT',
          `Key "${key}" is both in \`patch.set\` and \`patch.unset\`; put it in one of them.`,
        );
      }
    }
  }
  if (p.userId !== undefined && p.userId !== null) validateKey(p.userId, 'patch.userId');
  if (p.authAt !== undefined && p.authAt !== null) validateTime(p.authAt, 'patch.authAt');
  if (p.lastSeenAt !== undefined) validateTime(p.lastSeenAt, 'patch.lastSeenAt');
  if (p.expiresAt !== undefined) validateTime(p.expiresAt, 'patch.expiresAt');
  if (p.absoluteExpiresAt !== undefined) {
    validateTime(p.absoluteExpiresAt, 'patch.absoluteExpiresAt');
  }
  if (p.meta !== undefined) {
    validateObject(p.meta, 'patch.meta');
    assertJsonValue(p.meta, 'session meta');
  }
}

/** True when the patch changes `data` (has a `set` or `unset` entry). */
export function patchTouchesData(patch: SessionPatch): boolean {
  return (
    (patch.set !== undefined && Object.keys(patch.set).length > 0) ||
    (patch.unset !== undefined && patch.unset.length > 0)
  );
}

/**
 * Applies `patch.set` and `patch.unset` to `data` in place and answers it. A `set` value of
 * `undefined` removes the key (as JSON would drop it). Keys such as `__proto__` are written
 * as own properties, never as a prototype change. Values are assigned as given: call this
 * on a fresh copy and serialise the result (or copy the values) before the caller can
 * mutate them.
 * @example const data = applyDataPatch(JSON.parse(row.data), patch);
 */
export function applyDataPatch(data: SessionData, patch: SessionPatch): SessionData {
  if (patch.set !== undefined) {
    for (const key of Object.keys(patch.set)) {
      const value = patch.set[key];
      if (value === undefined) delete data[key];
      else setOwn(data, key, value);
    }
  }
  if (patch.unset !== undefined) {
    for (const key of patch.unset) delete data[key];
  }
  return data;
}

/**
 * Merges `patch.meta` into `meta` in place, key by key (`undefined` removes a key).
 * @example const meta = applyMetaPatch(JSON.parse(row.meta), patch);
 */
export function applyMetaPatch(meta: SessionMeta, patch: SessionPatch): SessionMeta {
  if (patch.meta !== undefined) {
    for (const key of Object.keys(patch.meta)) {
      const value = patch.meta[key];
      if (value === undefined) delete meta[key];
      else setOwn(meta, key, value);
    }
  }
  return meta;
}

/**
 * Applies a whole patch to a record in place (data, meta and top-level fields) and answers
 * it: the read-modify-write step of stores that hold records as documents (file, memory).
 * The record should be a private copy (fresh from `JSON.parse`).
 * @example const next = applyPatch(current, patch); await write(next);
 */
export function applyPatch(record: SessionRecord, patch: SessionPatch): SessionRecord {
  applyDataPatch(record.data, patch);
  applyMetaPatch(record.meta, patch);
  if (patch.userId !== undefined) record.userId = patch.userId;
  if (patch.authAt !== undefined) record.authAt = patch.authAt;
  if (patch.lastSeenAt !== undefined) record.lastSeenAt = patch.lastSeenAt;
  if (patch.expiresAt !== undefined) record.expiresAt = patch.expiresAt;
  if (patch.absoluteExpiresAt !== undefined) record.absoluteExpiresAt = patch.absoluteExpiresAt;
  return record;
}

/**
 * True when a record (or key-value entry) with this expiry is gone at `now`: expiry is
 * inclusive, so a record is dead at exactly `expiresAt`. `null` never expires.
 * @example if (isExpired(row.expires_at, now())) return null;
 */
export function isExpired(expiresAt: number | null, now: number): boolean {
  return expiresAt !== null && expiresAt <= now;
}

/**
 * Throws `ERR_INVALID_ARGUMENT` unless `expiresAt` is null or a finite number (kvSet).
 * @example validateExpiry(expiresAt);
 */
export function validateExpiry(expiresAt: unknown): asserts expiresAt is number | null {
  if (expiresAt !== null) validateTime(expiresAt, 'expiresAt (or null for no expiry)');
}

/**
 * Throws unless `value` can be stored in the key-value space: JSON and not `undefined`
 * (`ERR_STORE_DATA`).
 * @example validateKvValue(value);
 */
export function validateKvValue(value: unknown): void {
  assertJsonValue(value, 'key-value value');
}

function validateObject(value: unknown, name: string): void {
  if (!isPlainObject(value)) {
    throw new TesseraError(
      'ERR_INVALID_ARGUMENT',
      `\`${name}\` must be a plain object (an object literal), not ${describe(value)}.`,
    );
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'a class instance' : `a ${typeof value}`;
}

/**
 * Sets an own property, also for `__proto__`, which plain assignment would turn into a
 * prototype change (other names, `constructor` included, assign as own data properties on a
 * fresh plain object, and plain assignment is much cheaper than `defineProperty`).
 * @example setOwn(data, key, value);
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    target[key] = value;
  }
}

/**
 * Throws `ERR_INVALID_ARGUMENT` unless `record` is signed in (`userId` set) and `limit` is a
 * whole `maxPerUser` of 1 or more with `onLimit` `refuse` or `evict-oldest`.
 * @example validateUserLimit(record, limit); // at the top of `createWithinLimit`
 */
export function validateUserLimit(
  record: SessionRecord,
  limit: unknown,
): asserts limit is UserSessionLimit {
  if (record.userId === null) {
    throw new TesseraError(
      'ERR_INVALID_ARGUMENT',
      '`createWithinLimit` needs a record with a userId.',
    );
  }
  const l = limit as Partial<UserSessionLimit> | null;
  if (
    typeof l !== 'object' ||
    l === null ||
    !Number.isInteger(l.maxPerUser) ||
    (l.maxPerUser as number) < 1 ||
    (l.onLimit !== 'refuse' && l.onLimit !== 'evict-oldest')
  ) {
    throw new TesseraError(
      'ERR_INVALID_ARGUMENT',
      "`limit` must be { maxPerUser: a whole number of 1 or more, onLimit: 'refuse' | 'evict-oldest' }.",
    );
  }
}
