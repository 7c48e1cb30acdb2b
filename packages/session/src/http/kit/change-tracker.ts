/**
 * Change tracking for adapters whose session data are plain properties (express-session's
 * `req.session.views = 1`, in-place mutation of nested objects): a JSON snapshot per
 * top-level key taken at load, compared at the end, gives the patch of what the request
 * changed, so concurrent requests changing different keys do not overwrite each other.
 * A session with no data snapshots nothing, and an unchanged one is answered without
 * allocating (the common read-only request).
 */

/** What changed since the snapshot. */
export interface DataChanges {
  set: Record<string, unknown>;
  unset: string[];
}

/** No change: one frozen answer shared by every unchanged request. */
const NO_CHANGES: DataChanges = Object.freeze({
  set: Object.freeze({}) as Record<string, unknown>,
  unset: Object.freeze([]) as unknown as string[],
});

/**
 * Snapshots plain-object data and reports what changed.
 * @example
 * const tracker = new ChangeTracker();
 * tracker.reset({ views: 1 });
 * tracker.changes({ views: 2 }) // { set: { views: 2 }, unset: [] }
 */
export class ChangeTracker {
  /** Key → JSON of its value at the last snapshot; null while there are none. */
  #snapshot: Map<string, string> | null = null;

  /** Takes the snapshot the next `changes` compares against (of `data` minus `skip`). */
  reset(data: Readonly<Record<string, unknown>>, skip: readonly string[] = []): void {
    let snapshot: Map<string, string> | null = null;
    for (const key in data) {
      if (!Object.hasOwn(data, key) || skip.includes(key)) continue;
      const json = JSON.stringify(data[key]);
      if (json === undefined) continue;
      if (snapshot === null) snapshot = new Map();
      snapshot.set(key, json);
    }
    this.#snapshot = snapshot;
  }

  /** True when `data` (minus `skip`) differs from the snapshot; allocates nothing. */
  #changed(data: Record<string, unknown>, skip: readonly string[]): boolean {
    const snapshot = this.#snapshot;
    let seen = 0;
    for (const key in data) {
      if (!Object.hasOwn(data, key) || skip.includes(key)) continue;
      const json = JSON.stringify(data[key]);
      if (json === undefined) {
        if (snapshot?.has(key)) return true;
        continue;
      }
      if (snapshot === null || json !== snapshot.get(key)) return true;
      seen++;
    }
    return seen !== (snapshot?.size ?? 0);
  }

  /**
   * The keys of `data` (minus `skip`) that differ from the snapshot, which then moves on to
   * `data`. Values are copied through JSON, as a store would keep them. The answer for no
   * change is shared and frozen.
   */
  changes(data: Record<string, unknown>, skip: readonly string[] = []): DataChanges {
    if (!this.#changed(data, skip)) return NO_CHANGES;
    const snapshot = this.#snapshot ?? new Map<string, string>();
    this.#snapshot = snapshot;
    const set: Record<string, unknown> = {};
    const unset: string[] = [];
    // Keys gone from `data` first (a Map may lose entries while it is iterated).
    for (const key of snapshot.keys()) {
      if (Object.hasOwn(data, key) && !skip.includes(key)) continue;
      unset.push(key);
      snapshot.delete(key);
    }
    for (const key in data) {
      if (!Object.hasOwn(data, key) || skip.includes(key)) continue;
      const json = JSON.stringify(data[key]);
      if (json === snapshot.get(key)) continue;
      if (json === undefined) {
        unset.push(key);
        snapshot.delete(key);
      } else {
        set[key] = copyOf(data[key], json);
        snapshot.set(key, json);
      }
    }
    return { set, unset };
  }
}

/**
 * `value` as a store would give it back: a string, a boolean or an ordinary number is itself;
 * anything else goes through its JSON (`NaN` becomes null, `-0` becomes 0, objects are copied).
 */
function copyOf(value: unknown, json: string): unknown {
  const type = typeof value;
  if (type === 'string' || type === 'boolean') return value;
  if (type === 'number' && Number.isFinite(value) && !Object.is(value, -0)) return value;
  return JSON.parse(json);
}
