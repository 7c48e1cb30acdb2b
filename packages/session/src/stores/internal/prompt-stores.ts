/**
 * Stores whose calls the core need not bound with its own per-call deadline: stores that
 * always answer within the call (in-process, no I/O to wait for), and stores that bound every
 * call themselves (Redis: each call fails with `ERR_STORE_UNAVAILABLE` once its own timeout
 * passes). Only the exact objects a factory registered count, with their methods as they
 * were then: a wrapper or a Proxy around one is another object and keeps the deadline, and
 * so does a method replaced afterwards (on the instance or on its class).
 */

interface Registered {
  /** The longest any call takes: 0 for a store that answers within the call. */
  timeoutMs: number;
  /** Each method name and the function it named at registration. */
  methods: Map<string, unknown>;
}

const registered = new WeakMap<object, Registered>();

function register<T extends object>(store: T, timeoutMs: number): T {
  const methods = new Map<string, unknown>();
  // Own methods (an object-literal store) and those of its classes (a class instance).
  for (
    let level: object | null = store;
    level !== null && level !== Object.prototype;
    level = Object.getPrototypeOf(level)
  ) {
    for (const name of Object.getOwnPropertyNames(level)) {
      const value = Object.getOwnPropertyDescriptor(level, name)?.value;
      if (name !== 'constructor' && typeof value === 'function' && !methods.has(name)) {
        methods.set(name, value);
      }
    }
  }
  registered.set(store, { timeoutMs, methods });
  return store;
}

/**
 * Registers a store object whose calls never wait on I/O.
 * @example return markPrompt(new MemorySessionStore(…));
 */
export function markPrompt<T extends object>(store: T): T {
  return register(store, 0);
}

/**
 * Registers a store object each of whose calls settles (or fails with a `TesseraError`)
 * within `timeoutMs`.
 * @example return markSelfBounded(store, timeoutMs);
 */
export function markSelfBounded<T extends object>(store: T, timeoutMs: number): T {
  return register(store, timeoutMs);
}

/**
 * True when a call of `method` on `store` needs no deadline of `timeoutMs` around it: the
 * store was registered (prompt, or bounding its calls by no more than `timeoutMs`) and the
 * method is still the registered one.
 * @example if (boundsItsCalls(store, 'get', 2000)) return callPromptStore('get', call);
 */
export function boundsItsCalls(store: object, method: string, timeoutMs: number): boolean {
  const entry = registered.get(store);
  if (entry === undefined || entry.timeoutMs > timeoutMs) return false;
  const original = entry.methods.get(method);
  return original !== undefined && original === (store as Record<string, unknown>)[method];
}
