/**
 * Keeps a keyring in a Store (key-value namespace `keys`, one entry per `kid`), so signing
 * keys survive restarts and another process (`tessera keys rotate`) can add one. With a
 * master key, private members are sealed with AES-256-GCM; the `kid` and `alg` are bound to
 * the ciphertext as associated data, so an entry cannot be moved to another key's place.
 * The active signer is the key with the latest `activatedAt`, so concurrent writers never
 * need a shared pointer, and `loadKeyring` again (or `reloadKeyring`) picks up a rotation.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { TesseraError } from '../shared/errors.js';
import type { Store } from '../stores/store.js';
import { decodeBase64url } from './internal/base64url.js';
import {
  KEYRING_STATE,
  type KeyringState,
  pickActive,
  type RingKey,
} from './internal/keyring-state.js';
import { importKey, PRIVATE_MEMBERS, publicCopy } from './internal/keys.js';
import type { JWK } from './jwk.js';
import { type Keyring, keyringFromState } from './keyring.js';

/** The Store key-value namespace that holds keys. */
export const KEY_NAMESPACE = 'keys';

/** Options of `saveKeyring`, `loadKeyring` and `reloadKeyring`. */
export interface KeyStorageOptions {
  /**
   * 32 bytes (a Uint8Array, or a string of base64/base64url or 64 hex digits) that seal the
   * private parts at rest. Without it private parts are stored as they are.
   */
  masterKey?: Uint8Array | string;
  /** Clock for a ring made by `loadKeyring` (tests). Default `Date.now`. */
  now?: () => number;
}

interface SealedSecret {
  alg: 'A256GCM';
  iv: string;
  tag: string;
  data: string;
}

/** One stored key, format 1. */
interface StoredKey {
  v: 1;
  kid: string;
  alg: string;
  activatedAt: number | null;
  /** The JWK without private members. */
  public: JWK;
  /** Private members: plain, sealed, or null for a verify-only key. */
  secret: Record<string, string> | SealedSecret | null;
}

function configError(message: string, cause?: unknown): TesseraError {
  return new TesseraError('ERR_CONFIG', message, cause === undefined ? undefined : { cause });
}

function masterKeyBytes(masterKey: Uint8Array | string | undefined): Buffer | null {
  if (masterKey === undefined) return null;
  let bytes: Buffer | null = null;
  if (typeof masterKey === 'string') {
    if (/^[0-9a-fA-F]{64}$/.test(masterKey)) bytes = Buffer.from(masterKey, 'hex');
    else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(masterKey)) {
      bytes = Buffer.from(masterKey.replace(/\+/g, '-').replace(/\//g, '_'), 'base64url');
    }
  } else if (masterKey instanceof Uint8Array) {
    bytes = Buffer.from(masterKey);
  }
  if (bytes === null || bytes.length !== 32) {
    throw configError(
      'masterKey must be 32 bytes: a Uint8Array, or base64/base64url or hex text (e.g. `openssl rand -base64 32`).',
    );
  }
  return bytes;
}

function aad(kid: string, alg: string): Buffer {
  return Buffer.from(`tessera/keys/v1\0${kid}\0${alg}`, 'utf8');
}

function seal(secret: Record<string, string>, kid: string, alg: string, key: Buffer): SealedSecret {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad(kid, alg));
  const data = Buffer.concat([cipher.update(JSON.stringify(secret), 'utf8'), cipher.final()]);
  return {
    alg: 'A256GCM',
    iv: iv.toString('base64url'),
    tag: cipher.getAuthTag().toString('base64url'),
    data: data.toString('base64url'),
  };
}

function isSealed(secret: StoredKey['secret']): secret is SealedSecret {
  return secret !== null && (secret as { alg?: unknown }).alg === 'A256GCM';
}

function unseal(sealed: SealedSecret, kid: string, alg: string, key: Buffer | null): unknown {
  if (key === null) {
    throw configError(
      `loadKeyring: key "${kid}" is stored encrypted; pass the masterKey it was saved with (TESSERA_MASTER_KEY).`,
    );
  }
  const iv = decodeBase64url(sealed.iv);
  const tag = decodeBase64url(sealed.tag);
  const data = decodeBase64url(sealed.data);
  if (iv === null || iv.length !== 12 || tag === null || tag.length !== 16 || data === null) {
    throw new TesseraError('ERR_STORE_DATA', `loadKeyring: stored key "${kid}" is damaged.`);
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(aad(kid, alg));
    decipher.setAuthTag(tag);
    const plain = Buffer.concat([decipher.update(data), decipher.final()]);
    return JSON.parse(plain.toString('utf8'));
  } catch (error) {
    throw configError(
      `loadKeyring: the masterKey does not decrypt stored key "${kid}"; pass the master key the keys were saved with.`,
      error,
    );
  }
}

function toStored(key: RingKey, master: Buffer | null): StoredKey {
  const { kid, alg, jwk } = key.entry;
  const publicPart = publicCopy(jwk);
  let secret: Record<string, string> | null = null;
  for (const name of PRIVATE_MEMBERS) {
    const value = (jwk as Record<string, unknown>)[name];
    if (typeof value === 'string') {
      secret ??= {};
      secret[name] = value;
    }
  }
  return {
    v: 1,
    kid,
    alg,
    activatedAt: key.activatedAt,
    public: publicPart,
    secret: secret === null || master === null ? secret : seal(secret, kid, alg, master),
  };
}

function fromStored(value: unknown, master: Buffer | null): RingKey {
  const stored = value as StoredKey;
  if (
    typeof stored !== 'object' ||
    stored === null ||
    stored.v !== 1 ||
    typeof stored.kid !== 'string' ||
    typeof stored.public !== 'object' ||
    stored.public === null
  ) {
    throw new TesseraError('ERR_STORE_DATA', 'loadKeyring: a stored key has an unknown format.');
  }
  let secret: unknown = stored.secret;
  if (isSealed(stored.secret)) secret = unseal(stored.secret, stored.kid, stored.alg, master);
  const jwk = {
    ...(typeof secret === 'object' && secret !== null ? secret : {}),
    ...stored.public,
  };
  if (jwk.kid !== stored.kid || jwk.alg !== stored.alg) {
    throw new TesseraError('ERR_STORE_DATA', `loadKeyring: stored key "${stored.kid}" is damaged.`);
  }
  const activatedAt =
    typeof stored.activatedAt === 'number' && Number.isFinite(stored.activatedAt)
      ? stored.activatedAt
      : null;
  return { entry: importKey(jwk), activatedAt };
}

/**
 * Writes every key of `keyring` to `store` (namespace `keys`) and deletes the keys retired
 * through it. Keys that other processes added are left alone.
 * @example await saveKeyring(store, keyring, { masterKey: process.env.TESSERA_MASTER_KEY });
 */
export async function saveKeyring(
  store: Store,
  keyring: Keyring,
  options: KeyStorageOptions = {},
): Promise<void> {
  const state = KEYRING_STATE.get(keyring);
  if (state === undefined) throw configError('saveKeyring: pass a keyring from createKeyring.');
  const master = masterKeyBytes(options.masterKey);
  for (const key of state.keys.values()) {
    await store.kvSet(KEY_NAMESPACE, key.entry.kid, toStored(key, master), null);
  }
  for (const kid of state.retired) {
    if (!state.keys.has(kid)) await store.kvDelete(KEY_NAMESPACE, kid);
  }
}

async function readKeys(store: Store, master: Buffer | null): Promise<Map<string, RingKey>> {
  const keys = new Map<string, RingKey>();
  for (const { value } of await store.kvList(KEY_NAMESPACE)) {
    const key = fromStored(value, master);
    keys.set(key.entry.kid, key);
  }
  return keys;
}

/**
 * A keyring with every key stored in `store`; the signer with the latest activation is
 * active. An empty store gives an empty ring (add a key with `rotate`, then `saveKeyring`).
 * Throws `ERR_CONFIG` when keys are sealed and `masterKey` is missing or wrong.
 * @example const keyring = await loadKeyring(store, { masterKey });
 */
export async function loadKeyring(store: Store, options: KeyStorageOptions = {}): Promise<Keyring> {
  const master = masterKeyBytes(options.masterKey);
  const keys = await readKeys(store, master);
  const state: KeyringState = {
    keys,
    active: pickActive(keys),
    retired: new Set(),
    version: 0,
    now: options.now ?? Date.now,
  };
  return keyringFromState(state);
}

/**
 * Replaces the keys of a running `keyring` with those now in `store` (a rotation or
 * retirement made by another process), in place: access tokens built on the ring sign with
 * the new active key at once. Answers true when something changed.
 * @example setInterval(() => reloadKeyring(store, tokens.keyring, { masterKey }), 5000);
 */
export async function reloadKeyring(
  store: Store,
  keyring: Keyring,
  options: KeyStorageOptions = {},
): Promise<boolean> {
  const state = KEYRING_STATE.get(keyring);
  if (state === undefined) throw configError('reloadKeyring: pass a keyring from loadKeyring.');
  const keys = await readKeys(store, masterKeyBytes(options.masterKey));
  const active = pickActive(keys);
  const same =
    keys.size === state.keys.size &&
    active?.entry.kid === state.active?.entry.kid &&
    [...keys.keys()].every((kid) => state.keys.has(kid));
  if (same) return false;
  state.keys = keys;
  state.active = active;
  state.retired = new Set();
  state.version++;
  return true;
}
