/**
 * Stores whose calls the core need not bound with its own per-call deadline: stores that
 * always answer within the call (in-process, no I/O to wait for), and stores that bound every
 * call themselves (Redis: each call fails with `ERR_STORE_UNAVAILABLE` once its own timeout
 * passes). Only the exact objects a factory registered count: a wrapper or a Proxy around one
 * is another object and keeps the deadline, and so does a method replaced on the instance.
 */

const prompt = new WeakSet<object>();

interface Bounded {
  timeoutMs: number;
  methods: Map<string, unknown>;
}

const bounded = new WeakMap<object, Bounded>();

/**
 * Registers a store object whose calls never wait on I/O.
 * @example return markPrompt(new MemorySessionStore(…));
 */
export function markPrompt<T extends object>(store: T): T {
  prompt.add(store);
  return store;
}

/**
 * Registers a store object each of whose calls settles (or fails with a `TesseraError`)
 * within `timeoutMs`. Its methods as they are now are remembered: one replaced later is
 * not covered.
 * @example return markSelfBounded(store, timeoutMs);
 */
export function markSelfBounded<T extends object>(store: T, timeoutMs: number): T {
  const methods = new Map<string, unknown>();
  for (const name of Object.keys(store)) {
    const value = (store as Record<string, unknown>)[name];
    if (typeof value === 'function') methods.set(name, value);
  }
  bounded.set(store, { timeoutMs, methods });
  return store;
}

/**
 * True when `store` was registered as prompt and its `method` is still the class's own one.
 * @example if (isPrompt(store, 'get')) return store.get(key);
 */
export function isPrompt(store: object, method: string): boolean {
  return prompt.has(store) && !Object.hasOwn(store, method);
}

/**
 * True when a call of `method` on `store` is already bounded by at most `timeoutMs`: the
 * store was registered with `markSelfBounded` with a timeout no longer than that, and the
 * method is still the registered one.
 * @example if (isSelfBounded(store, 'get', 2000)) return callPromptStore('get', call);
 */
export function isSelfBounded(store: object, method: string, timeoutMs: number): boolean {
  const entry = bounded.get(store);
  return (
    entry !== undefined &&
    entry.timeoutMs <= timeoutMs &&
    entry.methods.has(method) &&
    entry.methods.get(method) === (store as Record<string, unknown>)[method]
  );
}
