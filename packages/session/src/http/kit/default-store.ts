/**
 * The one default-store rule every adapter follows: no store given means a Tessera memory
 * store, with one warning when `NODE_ENV` is production (sessions are lost on restart and
 * not shared between processes).
 */
import { createMemoryStore } from '../../stores/memory/index.js';
import type { Store } from '../../stores/store.js';
import type { SessionLogger } from '../request-session.js';

/** Options of {@link defaultStore}. */
export interface DefaultStoreOptions {
  /** Names the adapter in the warning, e.g. `tessera-session/express`. */
  adapter: string;
  logger: SessionLogger;
  now?: (() => number) | undefined;
}

/**
 * A memory store for an adapter given none; warns once in production.
 * @example const store = options.store ?? defaultStore({ adapter: 'tessera-session/express', logger });
 */
export function defaultStore(options: DefaultStoreOptions): Store {
  if (process.env.NODE_ENV === 'production') {
    options.logger.warn(
      `Warning: ${options.adapter} is using its default memory store, which is not designed ` +
        'for a production environment: sessions are lost on restart and not shared between processes.',
    );
  }
  return createMemoryStore(options.now ? { now: options.now } : {});
}
