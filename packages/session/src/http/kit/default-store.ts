/**
 * The one default-store rule every adapter follows: no store given means the adapter's
 * memory store, with one warning when `NODE_ENV` is production (sessions are lost on restart
 * and not shared between processes). A drop-in's memory store behaves as its peer's
 * MemoryStore (the Express adapter's is a Tessera memory store, which keeps
 * express-session's observable behaviour; the Fastify adapter's is @fastify/session's
 * callback `MemoryStore`); the fetch adapter, which mirrors no peer, gets Tessera's memory
 * store. See docs/architecture.md.
 */
import { createMemoryStore } from '../../stores/memory/index.js';
import type { Store } from '../../stores/store.js';
import type { SessionLogger } from '../request-session.js';

/** Options of {@link defaultStore}. */
export interface DefaultStoreOptions<S> {
  /** Names the adapter in the warning, e.g. `tessera-session/express`. */
  adapter: string;
  logger: SessionLogger;
  /** The clock of the Tessera memory store (when `create` is not given). */
  now?: (() => number) | undefined;
  /** Makes the adapter's memory store; default: a Tessera memory store. */
  create?: () => S;
}

/**
 * The memory store for an adapter given none; warns once in production.
 * @example const store = options.store ?? defaultStore({ adapter: 'tessera-session/express', logger });
 * @example const store = options.store ?? defaultStore({ adapter: 'tessera-session/fastify', logger, create: () => new MemoryStore() });
 */
export function defaultStore(options: DefaultStoreOptions<Store>): Store;
export function defaultStore<S>(options: DefaultStoreOptions<S> & { create: () => S }): S;
export function defaultStore<S>(options: DefaultStoreOptions<S>): S | Store {
  if (process.env.NODE_ENV === 'production') {
    options.logger.warn(
      `Warning: ${options.adapter} is using its default memory store, which is not designed ` +
        'for a production environment: sessions are lost on restart and not shared between processes.',
    );
  }
  if (options.create) return options.create();
  return createMemoryStore(options.now ? { now: options.now } : {});
}
