/**
 * Splitting a long cookie value over `name.0`, `name.1`, … and putting it back together.
 * Reassembly is strict: indices must run 0..n-1 with no gap, no duplicate spelling and no
 * single-cookie form beside them; anything else is unusable (null).
 */
import { parse } from 'cookie';

const INDEX = /^(0|[1-9][0-9]{0,2})$/;

/** Cookies of one header by name; empty for anything unparsable. Never throws. */
export function parseHeader(cookieHeader: unknown): Record<string, string | undefined> {
  if (typeof cookieHeader !== 'string' || cookieHeader === '') return {};
  try {
    return parse(cookieHeader);
  } catch {
    return {};
  }
}

/** Names present in `cookies` that are `base` or a chunk `base.N`. */
export function presentNames(cookies: Record<string, string | undefined>, base: string): string[] {
  const chunkPrefix = `${base}.`;
  return Object.keys(cookies).filter(
    (name) =>
      name === base || (name.startsWith(chunkPrefix) && INDEX.test(name.slice(chunkPrefix.length))),
  );
}

/** The whole value under `base` (single or chunked), or null when absent or inconsistent. */
export function joinChunks(
  cookies: Record<string, string | undefined>,
  base: string,
  maxChunks: number,
): string | null {
  const names = presentNames(cookies, base);
  if (names.length === 0) return null;
  const single = cookies[base];
  if (names.length === 1 && single !== undefined) return single;
  if (single !== undefined || names.length > maxChunks) return null;
  let joined = '';
  for (let index = 0; index < names.length; index++) {
    const part = cookies[`${base}.${index}`];
    if (part === undefined || part === '') return null;
    joined += part;
  }
  return joined;
}
