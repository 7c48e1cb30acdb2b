/**
 * Change tracking for adapters whose session data are plain properties (express-session's
 * `req.session.views = 1`, in-place mutation of nested objects): a JSON snapshot per
 * top-level key taken at load, compared at the end, gives the patch of what the request
 * changed, so concurrent requests changing different keys do not overwrite each other.
 */

/** What changed since the snapshot. */
export interface DataChanges {
  set: Record<string, unknown>;
  unset: string[];
}

/**
 * Snapshots plain-object data and reports what changed.
 * @example
 * const tracker = new ChangeTracker();
 * tracker.reset({ views: 1 });
 * tracker.changes({ views: 2 }) // { set: { views: 2 }, unset: [] }
 */
export class ChangeTracker {
  #snapshot = new Map<string, string>();

  /** Takes the snapshot the next `changes` compares against. */
  reset(data: Record<string, unknown>): void {
    this.#snapshot = new Map();
    for (const [key, value] of Object.entries(data)) {
      const json = JSON.stringify(value);
      if (json !== undefined) this.#snapshot.set(key, json);
    }
  }

  /**
   * The keys of `data` (minus `skip`) that differ from the snapshot, which then moves on to
   * `data`. Values are copied through JSON, as a store would keep them.
   */
  changes(data: Record<string, unknown>, skip: readonly string[] = []): DataChanges {
    const set: Record<string, unknown> = {};
    const unset: string[] = [];
    const seen = new Set<string>();
    for (const key of Object.keys(data)) {
      if (skip.includes(key)) continue;
      seen.add(key);
      const json = JSON.stringify(data[key]);
      if (json === this.#snapshot.get(key)) continue;
      if (json === undefined) {
        unset.push(key);
        this.#snapshot.delete(key);
      } else {
        set[key] = JSON.parse(json);
        this.#snapshot.set(key, json);
      }
    }
    for (const key of [...this.#snapshot.keys()]) {
      if (seen.has(key)) continue;
      unset.push(key);
      this.#snapshot.delete(key);
    }
    return { set, unset };
  }
}
