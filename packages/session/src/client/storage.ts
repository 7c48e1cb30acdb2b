/**
 * Where the browser client keeps its tokens: in memory (default), in `sessionStorage` or in
 * `localStorage`. Web storage is read on every access, so tabs sharing `localStorage` see
 * each other's refreshes; a value that does not parse reads as "no tokens".
 */
import { TesseraError } from '../shared/errors.js';

/** The part of the Web Storage API the client uses (`sessionStorage`, `localStorage`). */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** `memory`, `session` (`sessionStorage`), `local` (`localStorage`), or your own Storage. */
export type TokenStorage = 'memory' | 'session' | 'local' | StorageLike;

/** What the client remembers between requests. */
export interface StoredTokens {
  access: string;
  refresh: string | null;
  /** When the access token expires (ms epoch, client clock), or null when unknown. */
  expiresAt: number | null;
  /** The access token is DPoP-bound (`token_type: "DPoP"`): sent as `Authorization: DPoP`. */
  dpop?: boolean;
}

export interface TokenSlot {
  read(): StoredTokens | null;
  write(tokens: StoredTokens): void;
  clear(): void;
}

function parse(raw: string | null): StoredTokens | null {
  if (raw === null) return null;
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value !== 'object' || value === null) return null;
    const { a, r, e, d } = value as Record<string, unknown>;
    if (typeof a !== 'string' || a.length === 0) return null;
    const tokens: StoredTokens = {
      access: a,
      refresh: typeof r === 'string' && r.length > 0 ? r : null,
      expiresAt: typeof e === 'number' && Number.isFinite(e) ? e : null,
    };
    if (d === true) tokens.dpop = true;
    return tokens;
  } catch {
    return null;
  }
}

function webStorage(kind: 'session' | 'local'): StorageLike {
  const name = kind === 'session' ? 'sessionStorage' : 'localStorage';
  let storage: unknown;
  try {
    storage = (globalThis as Record<string, unknown>)[name];
  } catch {
    // Browsers throw here when storage is blocked (for example, cookies disabled).
    storage = undefined;
  }
  if (!isStorage(storage)) {
    throw new TesseraError(
      'ERR_CONFIG',
      `createClient: \`storage: '${kind}'\` needs ${name}, which is not available here; use 'memory' or pass a Storage object`,
    );
  }
  return storage;
}

function isStorage(value: unknown): value is StorageLike {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Record<string, unknown>;
  return (
    typeof s.getItem === 'function' &&
    typeof s.setItem === 'function' &&
    typeof s.removeItem === 'function'
  );
}

/**
 * A slot for the client's tokens in the chosen storage.
 * @example const slot = createTokenSlot('session', 'tessera.tokens');
 */
export function createTokenSlot(storage: TokenStorage, key: string): TokenSlot {
  let memory: StoredTokens | null = null;
  if (storage === 'memory') {
    return {
      read: () => memory,
      write: (tokens) => {
        memory = { ...tokens };
      },
      clear: () => {
        memory = null;
      },
    };
  }
  let backing: StorageLike;
  if (storage === 'session' || storage === 'local') backing = webStorage(storage);
  else if (isStorage(storage)) backing = storage;
  else {
    throw new TesseraError(
      'ERR_CONFIG',
      "createClient: `storage` must be 'memory', 'session', 'local' or a Storage object",
    );
  }
  // Set when the storage refused a write (quota, privacy mode): the tokens then live in
  // memory for this page only.
  let writeFailed = false;
  return {
    read() {
      if (writeFailed) return memory;
      try {
        return parse(backing.getItem(key));
      } catch {
        return memory;
      }
    },
    write(tokens) {
      memory = { ...tokens };
      const value = JSON.stringify({
        a: tokens.access,
        r: tokens.refresh,
        e: tokens.expiresAt,
        ...(tokens.dpop === true ? { d: true } : {}),
      });
      try {
        backing.setItem(key, value);
        writeFailed = false;
      } catch {
        writeFailed = true;
      }
    },
    clear() {
      memory = null;
      writeFailed = false;
      try {
        backing.removeItem(key);
      } catch {
        // Nothing more to do: the in-memory copy is gone.
      }
    },
  };
}
