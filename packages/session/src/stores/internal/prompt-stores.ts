/**
 * Stores that always answer within the call (in-process, no I/O to wait for): the core may
 * skip its per-call deadline for them. Only the exact objects a factory registered count: a
 * wrapper or a Proxy around one is another object and keeps the deadline, and so does a
 * method replaced on the instance.
 */

const prompt = new WeakSet<object>();

/**
 * Registers a store object whose calls never wait on I/O.
 * @example return markPrompt(new MemorySessionStore(…));
 */
export function markPrompt<T extends object>(store: T): T {
  prompt.add(store);
  return store;
}

/**
 * True when `store` was registered and its `method` is still the class's own one.
 * @example if (isPrompt(store, 'get')) return store.get(key);
 */
export function isPrompt(store: object, method: string): boolean {
  return prompt.has(store) && !Object.hasOwn(store, method);
}
