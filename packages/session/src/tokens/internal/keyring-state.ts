/**
 * The state behind a Keyring, kept out of its public type: the access-token signer and
 * verifier and the key storage read it here. `version` moves on every change so callers can
 * drop caches built from an older set of keys.
 */
import type { KeyEntry } from './keys.js';

/** A key in a ring, with the moment it became (or last became) the active signer. */
export interface RingKey {
  readonly entry: KeyEntry;
  /** Milliseconds since the epoch; the signer with the latest value is active. Null: never. */
  activatedAt: number | null;
}

export interface KeyringState {
  keys: Map<string, RingKey>;
  active: RingKey | null;
  /** Kids retired through this ring: key storage deletes them. */
  retired: Set<string>;
  version: number;
  now: () => number;
}

/** Keyring object → its state. */
export const KEYRING_STATE = new WeakMap<object, KeyringState>();

/**
 * The signer with the latest activation time (ties: the greater kid), or null.
 * @example state.active = pickActive(state.keys)
 */
export function pickActive(keys: Map<string, RingKey>): RingKey | null {
  let best: RingKey | null = null;
  for (const key of keys.values()) {
    if (key.entry.signKey === null || key.activatedAt === null) continue;
    if (
      best === null ||
      key.activatedAt > best.activatedAt! ||
      (key.activatedAt === best.activatedAt && key.entry.kid > best.entry.kid)
    ) {
      best = key;
    }
  }
  return best;
}
