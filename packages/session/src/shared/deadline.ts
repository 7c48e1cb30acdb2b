/**
 * Deadlines for I/O calls without a timer per call. The hot request path makes one or two
 * store calls, and arming and clearing a `setTimeout` for each costs more than the call itself
 * on an in-process store; here every pending deadline is checked by one shared coarse timer,
 * which runs only while something is pending. A call is failed between its deadline and one
 * tick (`TICK_MS`) later.
 */

const TICK_MS = 50;

interface Pending {
  deadline: number;
  fail: () => void;
}

const pending = new Set<Pending>();
let timer: ReturnType<typeof setInterval> | null = null;

function sweep(): void {
  const now = Date.now();
  for (const entry of pending) {
    if (entry.deadline <= now) {
      pending.delete(entry);
      entry.fail();
    }
  }
  if (pending.size === 0 && timer !== null) {
    clearInterval(timer);
    timer = null;
  }
}

/**
 * `work`, or a rejection with `onTimeout()` when it has not settled within `timeoutMs`. A
 * rejection of `work` after the deadline is swallowed (it was already reported).
 * @example await withDeadline(client.get(key), 2000, () => new TesseraError('ERR_STORE_UNAVAILABLE', '…'));
 */
export function withDeadline<T>(
  work: Promise<T>,
  timeoutMs: number,
  onTimeout: () => unknown,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const entry: Pending = {
      deadline: Date.now() + timeoutMs,
      fail: () => reject(onTimeout()),
    };
    pending.add(entry);
    if (timer === null) {
      timer = setInterval(sweep, Math.min(TICK_MS, Math.max(1, timeoutMs)));
      // Pending calls keep their own handles (sockets) open; the sweep alone must not.
      timer.unref();
    }
    work.then(
      (value) => {
        pending.delete(entry);
        resolve(value);
      },
      (error: unknown) => {
        pending.delete(entry);
        reject(error);
      },
    );
  });
}
