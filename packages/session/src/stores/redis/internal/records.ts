/**
 * Encoding helpers for the Redis store: session fields laid out as described in `scripts.ts`.
 */

import { TesseraError } from '../../../shared/errors.js';
import { parseJsonText } from '../../internal/json.js';
import { setOwn } from '../../internal/records.js';
import type { SessionMeta, SessionPatch, SessionRecord } from '../../store.js';

/** Field/value pairs of plain-object entries under a prefix, JSON-encoded; undefined skipped. */
export function encodeEntries(prefix: string, values: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const name of Object.keys(values)) {
    const value = values[name];
    if (value === undefined) continue;
    out.push(prefix + name, JSON.stringify(value));
  }
  return out;
}

/**
 * The packed fixed fields (`_p`, see `scripts.ts`):
 * `<expiresAt>|<lastSeenAt>|<createdAt>|<absoluteExpiresAt>|<bound>|<handle>`.
 */
export function packFixed(record: SessionRecord, bound: number): string {
  return `${record.expiresAt}|${record.lastSeenAt}|${record.createdAt}|${record.absoluteExpiresAt}|${bound}|${record.handle}`;
}

/**
 * A new session's meta in the packed layout: one `_m` field holding the whole object as JSON,
 * or no field when the meta is empty. Later meta patches write `m:<name>` (a value) and
 * `x:<name>` (a removal) over it; see `decodeRecord`.
 */
export function packMeta(meta: SessionMeta): string[] {
  const text = JSON.stringify(meta);
  return text === '{}' ? [] : ['_m', text];
}

/** The fixed fields as text, from either layout. */
export interface FixedFields {
  expires: string | undefined;
  lastSeen: string | undefined;
  created: string | undefined;
  absolute: string | undefined;
  handle: string | undefined;
}

/** The fixed fields in a packed `_p` value, or null when it is malformed. */
export function unpackFixed(packed: string): FixedFields | null {
  const parts = packed.split('|');
  if (parts.length < 6) return null;
  const [expires, lastSeen, created, absolute] = parts;
  // The handle is last: whatever follows the fifth separator.
  return { expires, lastSeen, created, absolute, handle: parts.slice(5).join('|') };
}

/** The fixed fields as separate hash fields (the layout before `_p`; `layout: 'separate'`). */
export function separateFixed(record: SessionRecord, bound: number): string[] {
  return [
    '_h',
    record.handle,
    '_c',
    String(record.createdAt),
    '_l',
    String(record.lastSeenAt),
    '_e',
    String(record.expiresAt),
    '_x',
    String(record.absoluteExpiresAt),
    '_b',
    String(bound),
  ];
}

/** The hash fields a patch writes (flat field/value pairs) and deletes. */
export interface PatchFields {
  pairs: string[];
  dels: string[];
  /** The new `lastSeenAt` as text, '' when unchanged (it lives in the packed `_p`). */
  lastSeenAt: string;
}

/**
 * The field writes of a validated patch: data keys (`d:`), meta keys (`m:`, and `x:` for a
 * removed one) and `_a`, and `lastSeenAt`. `userId`, `expiresAt` and `absoluteExpiresAt` are
 * left to the caller (they touch indexes).
 */
export function patchFields(patch: SessionPatch): PatchFields {
  const pairs: string[] = [];
  const dels: string[] = [];
  addEntries('d:', patch.set, pairs, dels);
  if (patch.unset) for (const name of patch.unset) dels.push(`d:${name}`);
  if (patch.meta) {
    for (const name of Object.keys(patch.meta)) {
      const value = patch.meta[name];
      // A removal leaves a mark: the key may also be inside the packed `_m`, which no patch
      // rewrites (that would need a read, or JSON in Lua).
      if (value === undefined) {
        pairs.push(`x:${name}`, '1');
        dels.push(`m:${name}`);
      } else {
        pairs.push(`m:${name}`, JSON.stringify(value));
      }
    }
  }
  if (patch.authAt === null) dels.push('_a');
  else if (patch.authAt !== undefined) pairs.push('_a', String(patch.authAt));
  const lastSeenAt = patch.lastSeenAt === undefined ? '' : String(patch.lastSeenAt);
  return { pairs, dels, lastSeenAt };
}

function addEntries(
  prefix: string,
  values: Record<string, unknown> | undefined,
  pairs: string[],
  dels: string[],
): void {
  if (!values) return;
  for (const name of Object.keys(values)) {
    const value = values[name];
    if (value === undefined) dels.push(prefix + name);
    else pairs.push(prefix + name, JSON.stringify(value));
  }
}

/**
 * The record held in a session hash (as HGETALL answers it), or null when it holds none (empty,
 * or a malformed `_p`). Reads the packed layout and the separate fields written before it.
 * Meta is the packed `_m` (written at creation), less each `x:<name>` removal, overridden by
 * each `m:<name>` value (a value set after a removal clears nothing, so `m:` wins over `x:`).
 */
export function decodeRecord(key: string, fields: Record<string, string>): SessionRecord | null {
  const fixed: FixedFields | null =
    fields._p === undefined
      ? {
          expires: fields._e,
          lastSeen: fields._l,
          created: fields._c,
          absolute: fields._x,
          handle: fields._h,
        }
      : unpackFixed(fields._p);
  if (fixed === null || fixed.expires === undefined || fixed.expires === '') return null;
  const { expires, lastSeen, created, absolute, handle } = fixed;
  const data: Record<string, unknown> = {};
  const meta = fields._m === undefined ? {} : packedMeta(fields._m);
  for (const field of Object.keys(fields)) {
    const text = fields[field] as string;
    if (field.startsWith('d:')) setOwn(data, field.slice(2), parseJsonText(text, 'session data'));
    else if (field.startsWith('m:'))
      setOwn(meta, field.slice(2), parseJsonText(text, 'session meta'));
    else if (field.startsWith('x:') && fields[`m:${field.slice(2)}`] === undefined)
      delete meta[field.slice(2)];
  }
  return {
    key,
    handle: handle ?? '',
    userId: fields._u ?? null,
    data,
    meta,
    createdAt: Number(created),
    lastSeenAt: Number(lastSeen),
    authAt: fields._a === undefined ? null : Number(fields._a),
    expiresAt: Number(expires),
    absoluteExpiresAt: Number(absolute),
  };
}

/** The meta object packed in `_m`; throws ERR_STORE_DATA when it is not a JSON object. */
function packedMeta(text: string): SessionMeta {
  const value = parseJsonText(text, 'session meta');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TesseraError(
      'ERR_STORE_DATA',
      'The stored session meta is not a JSON object; the backend holds a corrupted entry (delete it).',
    );
  }
  return value as SessionMeta;
}
