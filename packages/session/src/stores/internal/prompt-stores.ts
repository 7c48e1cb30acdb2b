/**
 * Stores whose calls the core need not bound with its own per-call deadline: stores that
 * always answer within the call (in-process, no I/O to wait for), and stores that bound every
 * call themselves (Redis: each call fails with `ERR_STORE_UNAVAILABLE` once its own timeout
 * passes). Only the exact objects a factory registered count, with their methods as they
 * were then: a wrapper or a Proxy around one is another object and keeps the deadline, and
 * so does a method replaced afterwards (on the instance or on its class).
 */

import type { SessionPatch, SessionRecord } from '../store.js';

/**
 * Synchronous twins of a prompt store's hot session calls: the same work as `get`,
 * `create`, `patch` and `touch`, answered as a value instead of a promise (errors are thrown). The core uses
 * them to serve a request without a promise per store call.
 */
export interface PromptSessionCalls {
  get(key: string): SessionRecord | null;
  create(record: SessionRecord): void;
  patch(key: string, patch: SessionPatch): boolean;
  touch(key: string, lastSeenAt: number, expiresAt: number): boolean;
}

interface Registered {
  /** The longest any call takes: 0 for a store that answers within the call. */
  timeoutMs: number;
  /** Each method name and the function it named at registration. */
  methods: Map<string, unknown>;
  /** The synchronous twins, for a prompt store that has them. */
  calls: PromptSessionCalls | null;
}

const registered = new WeakMap<object, Registered>();

function register<T extends object>(
  store: T,
  timeoutMs: number,
  calls: PromptSessionCalls | null,
): T {
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
  registered.set(store, { timeoutMs, methods, calls });
  return store;
}

/**
 * Registers a store object whose calls never wait on I/O, with the synchronous twins of its
 * session calls if it has them.
 * @example return markPrompt(store, store.promptCalls());
 */
export function markPrompt<T extends object>(store: T, calls: PromptSessionCalls | null = null): T {
  return register(store, 0, calls);
}

/**
 * Registers a store object each of whose calls settles (or fails with a `TesseraError`)
 * within `timeoutMs`.
 * @example return markSelfBounded(store, timeoutMs);
 */
export function markSelfBounded<T extends object>(store: T, timeoutMs: number): T {
  return register(store, timeoutMs, null);
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

/**
 * The synchronous twin of `method` on `store`, or null: only for a store registered with
 * twins, and only while its own `method` is still the registered one (a store whose `get` an
 * app wrapped, to count or log calls, is called through the wrapper).
 * @example const get = promptCall(store, 'get'); if (get !== null) record = get(key);
 */
export function promptCall<K extends keyof PromptSessionCalls>(
  store: object,
  method: K,
): PromptSessionCalls[K] | null {
  const entry = registered.get(store);
  if (entry === undefined || entry.calls === null) return null;
  const original = entry.methods.get(method);
  return original !== undefined && original === (store as Record<string, unknown>)[method]
    ? entry.calls[method]
    : null;
}
