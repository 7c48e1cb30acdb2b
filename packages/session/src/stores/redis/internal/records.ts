/**
 * Encoding helpers for the Redis store: session fields laid out as described in `scripts.ts`.
 */

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

/** The hash fields a patch writes (flat field/value pairs) and deletes. */
export interface PatchFields {
  pairs: string[];
  dels: string[];
}

/**
 * The field writes of a validated patch: data keys (`d:`), meta keys (`m:`), `_l` and `_a`.
 * `userId`, `expiresAt` and `absoluteExpiresAt` are left to the caller (they touch indexes).
 */
export function patchFields(patch: SessionPatch): PatchFields {
  const pairs: string[] = [];
  const dels: string[] = [];
  addEntries('d:', patch.set, pairs, dels);
  if (patch.unset) for (const name of patch.unset) dels.push(`d:${name}`);
  addEntries('m:', patch.meta, pairs, dels);
  if (patch.lastSeenAt !== undefined) pairs.push('_l', String(patch.lastSeenAt));
  if (patch.authAt === null) dels.push('_a');
  else if (patch.authAt !== undefined) pairs.push('_a', String(patch.authAt));
  return { pairs, dels };
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

/** The record held in a session hash (as HGETALL answers it), or null when it is empty. */
export function decodeRecord(key: string, fields: Record<string, string>): SessionRecord | null {
  const expires = fields._e;
  if (expires === undefined) return null;
  const data: Record<string, unknown> = {};
  const meta: SessionMeta = {};
  for (const field of Object.keys(fields)) {
    const text = fields[field] as string;
    if (field.startsWith('d:')) setOwn(data, field.slice(2), parseJsonText(text, 'session data'));
    else if (field.startsWith('m:'))
      setOwn(meta, field.slice(2), parseJsonText(text, 'session meta'));
  }
  return {
    key,
    handle: fields._h ?? '',
    userId: fields._u ?? null,
    data,
    meta,
    createdAt: Number(fields._c),
    lastSeenAt: Number(fields._l),
    authAt: fields._a === undefined ? null : Number(fields._a),
    expiresAt: Number(expires),
    absoluteExpiresAt: Number(fields._x),
  };
}
