/**
 * The periodic purge every store runs: an `unref()`ed interval (it never keeps the process
 * alive) that calls `purgeExpired()`, skips a tick while the previous run is still going and
 * swallows failures (a store that is down now is purged on a later tick).
 */

/**
 * Starts the timer; answers the function that stops it (call it from `close()`).
 * `intervalMs` of 0 (or less) starts nothing.
 * @example
 * const stopPurge = startPurgeTimer(60_000, () => store.purgeExpired());
 * // in close(): stopPurge();
 */
export function startPurgeTimer(intervalMs: number, purge: () => Promise<unknown>): () => void {
  if (!(intervalMs > 0)) return () => {};
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    purge()
      .catch(() => {
        // A failed purge is retried on the next tick; nothing to report to a caller here.
      })
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
