/**
 * Signing keys and secrets of the service, kept in the store so they survive restarts and
 * are shared by every instance and by the CLI: the access-token keyring (EdDSA, made on
 * first start) and the cookie and CSRF secrets, every private part sealed with the master key
 * (see master-key.ts) and re-sealed at start when an older version left it in plaintext.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Store } from 'tessera-session';
import { TesseraError } from 'tessera-session';
import {
  generateKey,
  KEY_NAMESPACE,
  type Keyring,
  loadKeyring,
  saveKeyring,
} from 'tessera-session/tokens';

/** Key-value namespace of the service's own secrets. */
export const SECRETS_NAMESPACE = 'service';

function keyOptions(masterKey: string | undefined): { masterKey?: string } {
  return masterKey === undefined ? {} : { masterKey };
}

/**
 * The stored keyring; a new EdDSA key is made and saved when the store has no signing key.
 * @example const keyring = await loadOrCreateKeyring(store, process.env.TESSERA_MASTER_KEY);
 */
export async function loadOrCreateKeyring(
  store: Store,
  masterKey: string | undefined,
): Promise<Keyring> {
  const keyring = await loadKeyring(store, keyOptions(masterKey));
  if (keyring.activeKid === null) {
    keyring.rotate(await generateKey('EdDSA'));
    await saveKeyring(store, keyring, keyOptions(masterKey));
  }
  return keyring;
}

/**
 * Seals the private parts of stored signing keys saved in plaintext (before a master key
 * existed); answers how many keys were plaintext. Nothing changes without a master key.
 * @example await sealPlaintextKeys(store, masterKey);
 */
export async function sealPlaintextKeys(
  store: Store,
  masterKey: string | undefined,
): Promise<number> {
  if (masterKey === undefined) return 0;
  const plaintext = (await store.kvList(KEY_NAMESPACE)).filter(({ value }) => {
    const secret = (value as { secret?: unknown } | null)?.secret;
    return (
      typeof secret === 'object' &&
      secret !== null &&
      (secret as { alg?: unknown }).alg !== 'A256GCM'
    );
  }).length;
  if (plaintext > 0) {
    await saveKeyring(store, await loadKeyring(store, { masterKey }), { masterKey });
  }
  return plaintext;
}

/**
 * Adds a new EdDSA key and makes it the active signer; older keys keep verifying.
 * Answers the new key's `kid`.
 * @example const kid = await rotateSigningKey(store, undefined);
 */
export async function rotateSigningKey(
  store: Store,
  masterKey: string | undefined,
): Promise<string> {
  const keyring = await loadKeyring(store, keyOptions(masterKey));
  const jwk = await generateKey('EdDSA');
  keyring.rotate(jwk);
  await saveKeyring(store, keyring, keyOptions(masterKey));
  return String(jwk.kid);
}

/**
 * Removes a key that no longer signs, so its tokens stop verifying and it leaves the JWKS.
 * Throws `ERR_INVALID_ARGUMENT` for an unknown key and `ERR_CONFIG` for the active one.
 * @example await retireSigningKey(store, 'old-kid', undefined);
 */
export async function retireSigningKey(
  store: Store,
  kid: string,
  masterKey: string | undefined,
): Promise<void> {
  const keyring = await loadKeyring(store, keyOptions(masterKey));
  if (!keyring.has(kid)) {
    throw new TesseraError('ERR_INVALID_ARGUMENT', `no signing key with ID "${kid}"`);
  }
  if (keyring.activeKid === kid) {
    throw new TesseraError(
      'ERR_CONFIG',
      `key "${kid}" is the active signing key; run tessera keys rotate first`,
    );
  }
  keyring.retire(kid);
  await saveKeyring(store, keyring, keyOptions(masterKey));
}

function masterBytes(masterKey: string): Buffer {
  // Any master key form loadKeyring accepts works; derive a separate key for secrets.
  return createHash('sha256').update(`tessera/service-secret\0${masterKey}`).digest();
}

interface StoredSecret {
  v: 1;
  plain?: string;
  iv?: string;
  tag?: string;
  data?: string;
}

/**
 * A 256-bit secret kept under `name` (made on first use), sealed with AES-256-GCM when a
 * master key is given.
 * @example const csrfSecret = await loadOrCreateSecret(store, 'csrf', masterKey);
 */
export async function loadOrCreateSecret(
  store: Store,
  name: string,
  masterKey: string | undefined,
): Promise<string> {
  const existing = (await store.kvGet(SECRETS_NAMESPACE, name)) as StoredSecret | null;
  if (existing) {
    const secret = openSecret(existing, name, masterKey);
    // A secret saved before a master key existed is sealed now, keeping its value.
    if (typeof existing.plain === 'string' && masterKey !== undefined) {
      await store.kvSet(SECRETS_NAMESPACE, name, sealSecret(secret, name, masterKey), null);
    }
    return secret;
  }
  const secret = randomBytes(32).toString('base64url');
  const wrote = await store.kvSet(
    SECRETS_NAMESPACE,
    name,
    sealSecret(secret, name, masterKey),
    null,
    {
      ifAbsent: true,
    },
  );
  if (wrote) return secret;
  // Another instance made it first: use theirs.
  const theirs = (await store.kvGet(SECRETS_NAMESPACE, name)) as StoredSecret | null;
  if (!theirs) throw new TesseraError('ERR_STORE_DATA', `service secret "${name}" vanished`);
  return openSecret(theirs, name, masterKey);
}

function sealSecret(secret: string, name: string, masterKey: string | undefined): StoredSecret {
  if (masterKey === undefined) return { v: 1, plain: secret };
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', masterBytes(masterKey), iv);
  cipher.setAAD(Buffer.from(name));
  const data = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return {
    v: 1,
    iv: iv.toString('base64url'),
    tag: cipher.getAuthTag().toString('base64url'),
    data: data.toString('base64url'),
  };
}

function openSecret(stored: StoredSecret, name: string, masterKey: string | undefined): string {
  if (typeof stored.plain === 'string') return stored.plain;
  if (masterKey === undefined) {
    throw new TesseraError(
      'ERR_CONFIG',
      `service secret "${name}" is stored encrypted; set TESSERA_MASTER_KEY to the key it was saved with`,
    );
  }
  try {
    const decipher = createDecipheriv(
      'aes-256-gcm',
      masterBytes(masterKey),
      Buffer.from(String(stored.iv), 'base64url'),
    );
    decipher.setAAD(Buffer.from(name));
    decipher.setAuthTag(Buffer.from(String(stored.tag), 'base64url'));
    return Buffer.concat([
      decipher.update(Buffer.from(String(stored.data), 'base64url')),
      decipher.final(),
    ]).toString('utf8');
  } catch (error) {
    throw new TesseraError(
      'ERR_CONFIG',
      `TESSERA_MASTER_KEY does not decrypt service secret "${name}"; use the key it was saved with`,
      { cause: error },
    );
  }
}
