/**
 * The browser client's DPoP key and proofs (RFC 9449). The key is an ECDSA P-256 pair made
 * by WebCrypto with a non-extractable private half: scripts (an XSS included) can ask it to
 * sign while the page is open but can never copy it out. It is kept in IndexedDB (a
 * `CryptoKey` survives structured cloning, its private bytes stay inside the browser), so
 * reloads keep the key that the refresh token is bound to; without IndexedDB it lives in
 * memory for the page's life. No Node imports.
 */

/** Makes proofs for one client. */
export interface DpopSigner {
  /** A proof for one request; `accessToken` adds `ath`, the last server nonce is included. */
  proof(method: string, url: string, accessToken?: string | null): Promise<string>;
  /** Remembers a `DPoP-Nonce` the server sent. */
  setNonce(nonce: string | null): void;
}

const DB_NAME = 'tessera-dpop';
const DB_STORE = 'keys';

interface Subtle {
  generateKey(
    algorithm: { name: string; namedCurve: string },
    extractable: boolean,
    usages: string[],
  ): Promise<CryptoKeyPair>;
  exportKey(format: 'jwk', key: CryptoKey): Promise<JsonWebKey>;
  sign(
    algorithm: { name: string; hash: string },
    key: CryptoKey,
    data: Uint8Array,
  ): Promise<ArrayBuffer>;
  digest(algorithm: string, data: Uint8Array): Promise<ArrayBuffer>;
}

function cryptoApi(): { subtle: Subtle; getRandomValues(array: Uint8Array): Uint8Array } {
  const api = (globalThis as { crypto?: { subtle?: Subtle; getRandomValues?: unknown } }).crypto;
  if (!api?.subtle || typeof api.getRandomValues !== 'function') {
    throw new Error('DPoP needs WebCrypto (crypto.subtle): a secure context (https or localhost)');
  }
  return api as { subtle: Subtle; getRandomValues(array: Uint8Array): Uint8Array };
}

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function encodeJson(value: unknown): string {
  return base64url(new TextEncoder().encode(JSON.stringify(value)));
}

/** IndexedDB, or null when the runtime has none or blocks it. */
function indexedDb(): IDBFactory | null {
  try {
    const factory = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
    return factory ?? null;
  } catch {
    return null;
  }
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function openDb(factory: IDBFactory): Promise<IDBDatabase> {
  const open = factory.open(DB_NAME, 1);
  open.onupgradeneeded = () => open.result.createObjectStore(DB_STORE);
  return request(open);
}

/** The stored pair under `name`, or null; any IndexedDB failure reads as "none". */
async function loadPair(name: string): Promise<CryptoKeyPair | null> {
  const factory = indexedDb();
  if (factory === null) return null;
  try {
    const db = await openDb(factory);
    try {
      const value = await request(db.transaction(DB_STORE).objectStore(DB_STORE).get(name));
      const pair = value as CryptoKeyPair | undefined;
      return pair?.privateKey && pair.publicKey ? pair : null;
    } finally {
      db.close();
    }
  } catch {
    return null;
  }
}

/**
 * Keeps `pair` under `name` unless another tab got there first (`add`, not `put`): then the
 * pair it stored is the one to use, so every tab signs with the key the tokens are bound to.
 */
async function savePair(name: string, pair: CryptoKeyPair): Promise<CryptoKeyPair> {
  const factory = indexedDb();
  if (factory === null) return pair;
  try {
    const db = await openDb(factory);
    try {
      const store = db.transaction(DB_STORE, 'readwrite').objectStore(DB_STORE);
      await request(store.add(pair, name));
    } finally {
      db.close();
    }
  } catch {
    // Another tab's key (use it), or no persistent storage (private mode, quota): then the
    // key lives for this page only.
    return (await loadPair(name)) ?? pair;
  }
  return pair;
}

interface KeyState {
  pair: CryptoKeyPair;
  headerB64Prefix: string;
}

/**
 * A proof signer whose key is kept under `name` in IndexedDB (memory when unavailable).
 * @example const signer = createDpopSigner('tessera.tokens', Date.now); await signer.proof('GET', url, token);
 */
export function createDpopSigner(name: string, now: () => number): DpopSigner {
  let state: Promise<KeyState> | null = null;
  let nonce: string | null = null;

  async function makeState(): Promise<KeyState> {
    const { subtle } = cryptoApi();
    let pair = await loadPair(name);
    if (pair === null) {
      pair = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
        'sign',
        'verify',
      ]);
      pair = await savePair(name, pair);
    }
    const jwk = await subtle.exportKey('jwk', pair.publicKey);
    const header = {
      typ: 'dpop+jwt',
      alg: 'ES256',
      jwk: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y },
    };
    return { pair, headerB64Prefix: encodeJson(header) };
  }

  function key(): Promise<KeyState> {
    if (state === null) {
      state = makeState();
      state.catch(() => {
        state = null;
      });
    }
    return state;
  }

  return {
    async proof(method, url, accessToken) {
      const api = cryptoApi();
      const { subtle } = api;
      const { pair, headerB64Prefix } = await key();
      const claims: Record<string, unknown> = {
        jti: base64url(api.getRandomValues(new Uint8Array(16))),
        htm: method,
        htu: url.replace(/[?#].*$/, ''),
        iat: Math.floor(now() / 1000),
      };
      if (accessToken) {
        const hash = await subtle.digest('SHA-256', new TextEncoder().encode(accessToken));
        claims.ath = base64url(new Uint8Array(hash));
      }
      if (nonce !== null) claims.nonce = nonce;
      const input = `${headerB64Prefix}.${encodeJson(claims)}`;
      const signature = await subtle.sign(
        { name: 'ECDSA', hash: 'SHA-256' },
        pair.privateKey,
        new TextEncoder().encode(input),
      );
      // WebCrypto's ECDSA signature is already JOSE's raw r || s (64 bytes).
      return `${input}.${base64url(new Uint8Array(signature))}`;
    },
    setNonce(value) {
      if (value) nonce = value;
    },
  };
}
