/**
 * Bridges between callbacks and promises, both ways: a promise settling a Node-style
 * callback (express-session's `req.session.save(cb)`), and a callback-style store method
 * (connect-redis, connect-pg-simple, …) as a promise that settles once, whichever of its
 * callback or returned promise comes first.
 */

/** A Node-style callback: the error, if any, first. */
export type NodeCallback = (error?: unknown) => void;

/**
 * Calls `callback` when `work` settles (with the error, if any); without a callback the
 * rejection is left to the caller of `work`.
 * @example settleCallback(controller.save(), callback);
 */
export function settleCallback(work: Promise<unknown>, callback: NodeCallback | undefined): void {
  if (callback === undefined) {
    work.catch(() => {});
    return;
  }
  work.then(
    () => callback(),
    (error: unknown) => callback(error),
  );
}

/**
 * Runs a callback-style call as a promise. `invoke` gets the callback; a promise it returns
 * (stores that do both) counts too. An error whose `code` is in `ignoreCodes` (express-session
 * treats `ENOENT` from `get` as "not found") resolves with undefined.
 * @example const value = await callbackCall((done) => store.get(sid, done));
 */
export function callbackCall<T>(
  invoke: (done: (error: unknown, value?: T) => void) => unknown,
  ignoreCodes: readonly string[] = [],
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const done = (error: unknown, value?: T): void => {
      if (settled) return;
      settled = true;
      const code = (error as { code?: unknown } | null | undefined)?.code;
      if (error && !(typeof code === 'string' && ignoreCodes.includes(code))) reject(error);
      else resolve(value as T);
    };
    let returned: unknown;
    try {
      returned = invoke(done);
    } catch (error) {
      done(error);
      return;
    }
    if (returned && typeof (returned as Promise<T>).then === 'function') {
      (returned as Promise<T>).then(
        (value) => done(null, value),
        (error: unknown) => done(error ?? new Error('store call failed')),
      );
    }
  });
}
