/**
 * Encoding helpers for the Redis store: session fields laid out as described in `scripts.ts`.
 */

import { parseJsonText } from '../../internal/json.js';
import type { SessionMeta, SessionRecord } from '../../store.js';

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

/** Sets an own property, also for names like `__proto__` that plain assignment treats specially. */
export function setOwn(target: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(target, name, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}
