/**
 * What the refresh-token module keeps in a store's key-value space, and strict readers for
 * it (a store returns `unknown`; anything malformed reads as absent, so it fails closed).
 *
 * - `refresh` / hash(token): a family member `{ s, f, g, k? }` — session key, family id,
 *   generation, and the DPoP key thumbprint the family is bound to (public clients). Present
 *   from issue until the family ends.
 * - `refresh-spent` / hash(token): the claim written, atomically and once, by the rotation
 *   that spends the token `{ at, nh, box }` — when, the successor's hash, and the successor
 *   sealed under a key derived from the spent token.
 * - `refresh-family` / session key: `{ fid, root }` — the family id every member must carry
 *   (a re-issue or a revocation changes or removes it, which invalidates every member at
 *   once) and the first member's hash (the start of the chain, for clean-up).
 */

export const NS_MEMBER = 'refresh';
export const NS_SPENT = 'refresh-spent';
export const NS_FAMILY = 'refresh-family';
/** One entry per retry a spent token was granted within the grace window (`<hash>.<n>`). */
export const NS_RETRY = 'refresh-retry';

export interface MemberEntry {
  /** Session (family) key. */
  s: string;
  /** Family id. */
  f: string;
  /** Generation: 0 for the token from `issue`, +1 per rotation. */
  g: number;
  /** DPoP key thumbprint (`jkt`) the family is bound to; absent for an unbound family. */
  k?: string;
}

export interface SpentEntry {
  /** When the token was spent (ms epoch). */
  at: number;
  /** Hash of the successor. */
  nh: string;
  /** The successor, sealed with `sealSuccessor`. */
  box: string;
}

export interface FamilyEntry {
  fid: string;
  root: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function readMember(value: unknown): MemberEntry | null {
  if (!isRecord(value)) return null;
  const { s, f, g, k } = value;
  if (typeof s !== 'string' || typeof f !== 'string' || typeof g !== 'number') return null;
  if (!Number.isSafeInteger(g) || g < 0) return null;
  if (k === undefined) return { s, f, g };
  return typeof k === 'string' && k !== '' ? { s, f, g, k } : null;
}

export function readSpent(value: unknown): SpentEntry | null {
  if (!isRecord(value)) return null;
  const { at, nh, box } = value;
  if (typeof at !== 'number' || typeof nh !== 'string' || typeof box !== 'string') return null;
  if (!Number.isFinite(at)) return null;
  return { at, nh, box };
}

export function readFamily(value: unknown): FamilyEntry | null {
  if (!isRecord(value)) return null;
  const { fid, root } = value;
  if (typeof fid !== 'string' || typeof root !== 'string') return null;
  return { fid, root };
}
