/**
 * Strict JSON objects for JOSE headers and claim sets. `JSON.parse` keeps the last of two
 * equal member names, so `{"alg":"EdDSA","alg":"none"}` means different things to different
 * parsers (RFC 7515 §5.2 lets a verifier refuse it). Tessera refuses duplicate names at every
 * depth, after unescaping (`"a"` and `"\u0061"` are the same name).
 */
import { isUtf8 } from 'node:buffer';

/**
 * The object encoded as UTF-8 JSON in `bytes` (its first `length` bytes), or null when the bytes are not valid UTF-8,
 * not JSON, not a JSON object, or repeat a member name.
 * @example parseJsonObject(Buffer.from('{"a":1}')) // { a: 1 }
 */
export function parseJsonObject(
  bytes: Buffer,
  length = bytes.length,
): Record<string, unknown> | null {
  const text = bytes.toString('utf8', 0, length);
  // Invalid UTF-8 decodes to U+FFFD; only then is the (rarer) full check needed.
  if (text.includes('\uFFFD') && !isUtf8(bytes.subarray(0, length))) return null;
  // A cheap first-character check spares JSON.parse (and its exception) for most garbage.
  if (text.charCodeAt(0) !== 0x7b && text.trimStart().charCodeAt(0) !== 0x7b) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  return countNameSeparators(bytes, length) === countMembers(value)
    ? (value as Record<string, unknown>)
    : null;
}

/**
 * True when some object in `text` (valid JSON) names a member twice. Every `:` outside a
 * string separates one member name from its value, and `JSON.parse` keeps one member per
 * distinct name, so the text repeats a name exactly when it has more of those colons than
 * the parsed value (`parsed`, default `JSON.parse(text)`) has members. Linear in the text.
 * @example hasDuplicateNames('{"a":1,"a":2}') // true
 */
export function hasDuplicateNames(text: string, parsed: unknown = JSON.parse(text)): boolean {
  const bytes = Buffer.from(text, 'utf8');
  return countNameSeparators(bytes, bytes.length) !== countMembers(parsed);
}

function countMembers(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let count = 0;
  if (Array.isArray(value)) {
    for (const item of value) count += countMembers(item);
    return count;
  }
  for (const name in value) {
    count += 1 + countMembers((value as Record<string, unknown>)[name]);
  }
  return count;
}

/**
 * Colons outside strings in UTF-8 JSON bytes. Multi-byte UTF-8 sequences never contain the
 * ASCII bytes `"`, `\\` or `:`, so a byte scan is exact (and faster than a string scan).
 */
function countNameSeparators(bytes: Uint8Array, length: number): number {
  let count = 0;
  let inString = false;
  for (let i = 0; i < length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === 0x5c) i++;
      else if (b === 0x22) inString = false;
    } else if (b === 0x22) {
      inString = true;
    } else if (b === 0x3a) {
      count++;
    }
  }
  return count;
}
