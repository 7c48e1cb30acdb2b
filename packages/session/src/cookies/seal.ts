/**
 * Sealed cookies (the `cookie` strategy): session data encrypted and authenticated with
 * AES-256-GCM and kept by the client. A random 96-bit IV per seal; the first key seals and
 * every key opens (its `kid` travels in the value); the cookie's full name, prefix included,
 * is bound as associated data (a value moved to another cookie, or from `__Host-x` to a
 * plain `x`, does not open); idle and absolute expiry live inside the ciphertext. With a
 * store configured, every value also carries its subject's generation, checked on every open,
 * so `revoke` (at logout) makes every earlier value of that subject stop opening: encryption
 * alone does not stop a captured cookie from being replayed. Any failure — tampering,
 * truncation, wrong key or name, expiry, revoked generation — gives the same null.
 * Values too long for one cookie are split over `name.0`, `name.1`, … up to `maxChunks`.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { decodeBase64urlStrict } from '../shared/base64url.js';
import { TesseraError } from '../shared/errors.js';
import type { Store } from '../stores/store.js';
import {
  buildSetCookie,
  type CookieAttributeOptions,
  type CookieRequestContext,
  checkMaxAge,
  MAX_COOKIE_BYTES,
  prefixFor,
  resolveAttributes,
  validateCookieName,
} from './internal/attributes.js';
import { joinChunks, parseHeader, presentNames } from './internal/chunks.js';
import {
  type ResolvedSealerKey,
  resolveSealerKeys,
  type SealerKey,
} from './internal/sealer-keys.js';

export type { SealerKey } from './internal/sealer-keys.js';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const AAD_LABEL = 'tessera.sealed.v2';
/** Key-value namespace of the per-subject generations. */
const GENERATION_NS = 'sealed-generation';

/** Options of {@link createCookieSealer}. */
export interface CookieSealerOptions<T> {
  /** Keys, newest first: the first seals, all open. */
  keys: SealerKey[];
  /**
   * Cookie name without prefix; bound into every sealed value.
   * @defaultValue 'tessera.session'
   */
  name?: string;
  /**
   * Most cookies one value may be split over (a count, 1–16).
   * @defaultValue 4
   */
  maxChunks?: number;
  /**
   * Idle timeout in seconds: a value not re-sealed within it stops opening.
   * @defaultValue 1800 (30 minutes)
   */
  idleTtl?: number;
  /**
   * Absolute lifetime in seconds; never extended by re-sealing.
   * @defaultValue 43200 (12 hours)
   */
  absoluteTtl?: number;
  /**
   * Clock in milliseconds since the epoch.
   * @defaultValue Date.now
   */
  now?: () => number;
  /**
   * Server-side revocation: the current generation for this data (for example a per-user
   * counter in a store, bumped by "sign out everywhere"). A value sealed with another
   * generation, or with none, no longer opens. Errors it throws propagate (fail closed).
   * @defaultValue none: no generation check
   */
  currentGeneration?: (data: T) => number | Promise<number>;
  /**
   * A store that keeps one generation per subject: with it the generation check is always
   * on, `revoke(data)` ends every value sealed for that subject so far, and a captured cookie
   * replayed after logout does not open. Needs `subject`; excludes `currentGeneration`.
   * @defaultValue none
   */
  store?: Store;
  /**
   * With `store`: whose generation a value carries (e.g. `(data) => data.userId`).
   * @defaultValue none
   */
  subject?: (data: T) => string;
  /**
   * Set-Cookie attributes (same defaults and checks as the cookie codec).
   * @defaultValue `{ secure: 'auto', sameSite: 'lax', httpOnly: true, path: '/', prefix: 'auto' }`
   */
  cookie?: CookieAttributeOptions;
}

/** Options of {@link CookieSealer.seal}. */
export interface SealOptions {
  /**
   * Carry an existing session's absolute expiry (milliseconds since the epoch) forward instead of starting anew.
   * @defaultValue now + `absoluteTtl`
   */
  absoluteExpiresAt?: number;
  /**
   * Generation to seal in; `write` asks `currentGeneration` when this is absent.
   * @defaultValue `currentGeneration(data)`, or none
   */
  generation?: number;
}

/** Options of {@link CookieSealer.write}. */
export interface SealWriteOptions extends CookieRequestContext, SealOptions {
  /**
   * The request's Cookie header: chunks it holds that the new value no longer uses are deleted.
   * @defaultValue none: no stale chunk is deleted
   */
  cookieHeader?: string | undefined;
  /**
   * Make the cookies persistent with `cookie.maxAge`.
   * @defaultValue false
   */
  persistent?: boolean;
  /**
   * Persistent cookie lifetime in seconds (overrides `cookie.maxAge`); without either the cookies are session cookies.
   * @defaultValue none
   */
  persistentMaxAgeSeconds?: number;
}

/** An opened sealed value. */
export interface SealedSession<T> {
  data: T;
  /** When it was sealed (ms epoch). */
  issuedAt: number;
  /** When it stops opening unless re-sealed (ms epoch). */
  idleExpiresAt: number;
  /** When it stops opening whatever happens (ms epoch); pass it to the next `seal`. */
  absoluteExpiresAt: number;
  generation: number | undefined;
  /** The key that sealed it; re-seal when it is not the current one to finish a rotation. */
  kid: string;
}

/** A configured sealer. */
export interface CookieSealer<T> {
  /** The configured name, without prefix. */
  readonly name: string;
  /** The kid that seals new values. */
  readonly currentKid: string;
  /** Encrypts `data` into one compact base64url string (no chunking). */
  seal(data: T, options?: SealOptions): string;
  /** The session inside a sealed string, or null when it is invalid in any way. */
  open(sealed: unknown): Promise<SealedSession<T> | null>;
  /** Reads (and reassembles) the sealed cookie from a Cookie header; null when unusable. */
  read(
    cookieHeader: string | undefined,
    context: CookieRequestContext,
  ): Promise<SealedSession<T> | null>;
  /** Set-Cookie header values that store `data` (chunked when needed) and delete stale chunks. */
  write(data: T, options: SealWriteOptions): Promise<string[]>;
  /** Set-Cookie header values that delete the sealed cookie and every chunk of it present. */
  clear(cookieHeader: string | undefined, context: CookieRequestContext): string[];
  /**
   * With a store: bumps the subject's generation, so every value sealed for it so far stops
   * opening (call it at logout, before `clear`). Without a store: `ERR_CONFIG`.
   */
  revoke(data: T): Promise<void>;
}

interface Payload {
  d: unknown;
  iat: number;
  ie: number;
  ae: number;
  g?: number;
}

function positiveSeconds(value: unknown, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new TesseraError(
      'ERR_CONFIG',
      `createCookieSealer: ${option} must be a positive whole number of seconds.`,
    );
  }
  return value;
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function parsePayload(json: string): Payload | null {
  const value: unknown = JSON.parse(json);
  if (typeof value !== 'object' || value === null) return null;
  const p = value as Record<string, unknown>;
  if (!('d' in p) || !isTime(p.iat) || !isTime(p.ie) || !isTime(p.ae)) return null;
  if (p.g !== undefined && !Number.isInteger(p.g)) return null;
  return value as Payload;
}

/** The store-backed generation: read on every open and write, bumped by `revoke`. */
function resolveGenerationStore<T>(
  options: CookieSealerOptions<T>,
): { current: (data: T) => Promise<number>; bump: (data: T) => Promise<void> } | null {
  const { store, subject } = options ?? {};
  if (store === undefined) {
    if (subject !== undefined) {
      throw new TesseraError('ERR_CONFIG', 'createCookieSealer: subject needs a store.');
    }
    return null;
  }
  if (typeof store?.kvGet !== 'function' || typeof subject !== 'function') {
    throw new TesseraError(
      'ERR_CONFIG',
      'createCookieSealer: store must be a Tessera store and subject a function (data) => string ' +
        '(whose generation a value carries, e.g. (data) => data.userId).',
    );
  }
  if (options.currentGeneration !== undefined) {
    throw new TesseraError(
      'ERR_CONFIG',
      'createCookieSealer: pass either store (and subject) or currentGeneration, not both.',
    );
  }
  const keyOf = (data: T): string => {
    const id = subject(data);
    if (typeof id !== 'string' || id.length === 0 || id.length > 512) {
      throw new TesseraError(
        'ERR_INVALID_ARGUMENT',
        'createCookieSealer: subject(data) must answer a non-empty string of at most 512 characters.',
      );
    }
    return id;
  };
  const current = async (data: T): Promise<number> => {
    const value = await store.kvGet(GENERATION_NS, keyOf(data));
    return typeof value === 'number' && Number.isInteger(value) ? value : 0;
  };
  // Revocation may race another revocation of the same subject; any increase is enough.
  const bump = async (data: T): Promise<void> => {
    const key = keyOf(data);
    const next = (await current(data)) + 1;
    await store.kvSet(GENERATION_NS, key, next, null);
  };
  return { current, bump };
}

/**
 * Creates a sealer for the `cookie` strategy.
 * @example
 * const sealer = createCookieSealer({ keys: [{ kid: '2026-01', secret: process.env.SEAL_KEY! }] });
 * const session = await sealer.read(req.headers.cookie, { isSecure: true });
 * const setCookies = await sealer.write({ userId: 'u1' }, {
 *   isSecure: true, cookieHeader: req.headers.cookie, absoluteExpiresAt: session?.absoluteExpiresAt,
 * });
 */
export function createCookieSealer<T = Record<string, unknown>>(
  options: CookieSealerOptions<T>,
): CookieSealer<T> {
  const keys = resolveSealerKeys(options?.keys);
  const sealingKey = keys[0] as ResolvedSealerKey;
  const keysByKid = new Map(keys.map((key) => [key.kid, key]));
  const name = validateCookieName(options.name ?? 'tessera.session', 'createCookieSealer: name');
  const attrs = resolveAttributes(options.cookie ?? {}, 'createCookieSealer: cookie');
  const maxChunks = options.maxChunks ?? 4;
  if (!Number.isInteger(maxChunks) || maxChunks < 1 || maxChunks > 16) {
    throw new TesseraError(
      'ERR_CONFIG',
      'createCookieSealer: maxChunks must be a whole number from 1 to 16.',
    );
  }
  const idleMs = positiveSeconds(options.idleTtl, 1800, 'idleTtl') * 1000;
  const absoluteMs = positiveSeconds(options.absoluteTtl, 43_200, 'absoluteTtl') * 1000;
  const now = options.now ?? Date.now;
  const store = resolveGenerationStore(options);
  const currentGeneration = store ? store.current : options.currentGeneration;
  if (currentGeneration !== undefined && typeof currentGeneration !== 'function') {
    throw new TesseraError(
      'ERR_CONFIG',
      'createCookieSealer: currentGeneration must be a function (data) => number.',
    );
  }
  // Longest sealed string worth decrypting: every chunk full.
  const maxSealedLength = maxChunks * MAX_COOKIE_BYTES;

  function header(key: ResolvedSealerKey): Buffer {
    return Buffer.concat([Buffer.from([VERSION, key.kidBytes.length]), key.kidBytes]);
  }

  function aad(head: Buffer, fullName: string): Buffer {
    return Buffer.concat([Buffer.from(`${AAD_LABEL}\0${fullName}\0`), head]);
  }

  function seal(data: T, sealOptions: SealOptions = {}): string {
    return sealAs(data, sealOptions, name);
  }

  function sealAs(data: T, sealOptions: SealOptions, fullName: string): string {
    const at = now();
    let json: string | undefined;
    let absoluteExpiresAt = at + absoluteMs;
    if (sealOptions.absoluteExpiresAt !== undefined) {
      if (!isTime(sealOptions.absoluteExpiresAt) || sealOptions.absoluteExpiresAt <= at) {
        throw new TesseraError(
          'ERR_INVALID_ARGUMENT',
          'seal: absoluteExpiresAt is not a future time in ms; the session has ended, so clear the cookie instead.',
        );
      }
      // Carried forward, never pushed past a fresh session's own limit.
      absoluteExpiresAt = Math.min(absoluteExpiresAt, sealOptions.absoluteExpiresAt);
    }
    const generation = sealOptions.generation;
    if (generation !== undefined && !Number.isInteger(generation)) {
      throw new TesseraError('ERR_INVALID_ARGUMENT', 'seal: generation must be an integer.');
    }
    const payload: Payload = {
      d: data,
      iat: at,
      ie: Math.min(at + idleMs, absoluteExpiresAt),
      ae: absoluteExpiresAt,
    };
    if (generation !== undefined) payload.g = generation;
    try {
      json = JSON.stringify(payload);
    } catch (cause) {
      throw new TesseraError('ERR_INVALID_ARGUMENT', 'seal: data must be JSON-serialisable.', {
        cause,
      });
    }
    if (data === undefined || json === undefined) {
      throw new TesseraError(
        'ERR_INVALID_ARGUMENT',
        'seal: data must be a JSON-serialisable value.',
      );
    }
    const head = header(sealingKey);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', sealingKey.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(head, fullName));
    const body = Buffer.concat([cipher.update(json, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return Buffer.concat([head, iv, body]).toString('base64url');
  }

  function decrypt(sealed: unknown, fullName: string): { payload: Payload; kid: string } | null {
    if (typeof sealed !== 'string' || sealed.length > maxSealedLength) return null;
    const bytes = decodeBase64urlStrict(sealed);
    if (bytes === null || bytes.length < 2) return null;
    const kidLength = bytes[1] as number;
    const headLength = 2 + kidLength;
    if (bytes[0] !== VERSION || bytes.length <= headLength + IV_BYTES + TAG_BYTES) return null;
    const key = keysByKid.get(bytes.subarray(2, headLength).toString('latin1'));
    if (key === undefined) return null;
    const iv = bytes.subarray(headLength, headLength + IV_BYTES);
    const ciphertext = bytes.subarray(headLength + IV_BYTES, bytes.length - TAG_BYTES);
    const tag = bytes.subarray(bytes.length - TAG_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(bytes.subarray(0, headLength), fullName));
      decipher.setAuthTag(tag);
      const json = Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
      const payload = parsePayload(json);
      if (payload === null) return null;
      const at = now();
      return at < payload.ie && at < payload.ae ? { payload, kid: key.kid } : null;
    } catch {
      return null;
    }
  }

  function open(sealed: unknown): Promise<SealedSession<T> | null> {
    return openAs(sealed, name);
  }

  async function openAs(sealed: unknown, fullName: string): Promise<SealedSession<T> | null> {
    const opened = decrypt(sealed, fullName);
    if (opened === null) return null;
    const { payload, kid } = opened;
    const data = payload.d as T;
    if (currentGeneration !== undefined) {
      const current = await currentGeneration(data);
      if (payload.g === undefined || payload.g !== current) return null;
    }
    return {
      data,
      issuedAt: payload.iat,
      idleExpiresAt: payload.ie,
      absoluteExpiresAt: payload.ae,
      generation: payload.g,
      kid,
    };
  }

  function deletions(names: Iterable<string>, context: CookieRequestContext): string[] {
    const at = now();
    return [...names].map((cookieName) =>
      buildSetCookie(cookieName, '', attrs, context, { nowMs: at, remove: true }),
    );
  }

  return {
    name,
    currentKid: sealingKey.kid,
    seal,
    open,

    async read(cookieHeader, context) {
      const fullName = prefixFor(attrs, context) + name;
      const sealed = joinChunks(parseHeader(cookieHeader), fullName, maxChunks);
      return sealed === null ? null : openAs(sealed, fullName);
    },

    async revoke(data) {
      if (!store) {
        throw new TesseraError(
          'ERR_CONFIG',
          'revoke: the sealer has no store; pass createCookieSealer({ store, subject }) to revoke sealed cookies.',
        );
      }
      await store.bump(data);
    },

    async write(data, writeOptions) {
      if (
        writeOptions.persistent === true &&
        attrs.maxAge === undefined &&
        writeOptions.persistentMaxAgeSeconds === undefined
      ) {
        throw new TesseraError(
          'ERR_INVALID_ARGUMENT',
          'write: a persistent cookie needs a lifetime; set cookie.maxAge or pass persistentMaxAgeSeconds.',
        );
      }
      const maxAgeSeconds =
        writeOptions.persistentMaxAgeSeconds === undefined
          ? writeOptions.persistent === true
            ? attrs.maxAge
            : undefined
          : checkMaxAge(
              writeOptions.persistentMaxAgeSeconds,
              'write: persistentMaxAgeSeconds',
              'ERR_INVALID_ARGUMENT',
            );
      let generation = writeOptions.generation;
      if (generation === undefined && currentGeneration !== undefined)
        generation = await currentGeneration(data);
      const sealOptions: SealOptions = {};
      if (writeOptions.absoluteExpiresAt !== undefined)
        sealOptions.absoluteExpiresAt = writeOptions.absoluteExpiresAt;
      if (generation !== undefined) sealOptions.generation = generation;
      const base = prefixFor(attrs, writeOptions) + name;
      const sealed = sealAs(data, sealOptions, base);

      const at = now();
      const lifetime = { maxAgeSeconds, nowMs: at };
      const setCookies: string[] = [];
      const single = buildSetCookie(base, sealed, attrs, writeOptions, lifetime);
      if (Buffer.byteLength(single) <= MAX_COOKIE_BYTES) {
        setCookies.push(single);
      } else {
        let offset = 0;
        for (let index = 0; offset < sealed.length; index++) {
          const chunkName = `${base}.${index}`;
          const overhead = Buffer.byteLength(
            buildSetCookie(chunkName, '', attrs, writeOptions, lifetime),
          );
          const room = MAX_COOKIE_BYTES - overhead;
          if (index >= maxChunks || room <= 0) {
            throw new TesseraError(
              'ERR_SEALED_TOO_LARGE',
              `Sealed cookie '${name}' needs ${sealed.length} characters, more than maxChunks (${maxChunks}) ` +
                `cookies of ${MAX_COOKIE_BYTES} bytes hold. Store less in the session (keep large data server-side) ` +
                'or raise maxChunks (mind proxies that cap request headers at 8 KiB).',
            );
          }
          setCookies.push(
            buildSetCookie(
              chunkName,
              sealed.slice(offset, offset + room),
              attrs,
              writeOptions,
              lifetime,
            ),
          );
          offset += room;
        }
      }
      const written = new Set(setCookies.map((line) => line.slice(0, line.indexOf('='))));
      const stale = presentNames(parseHeader(writeOptions.cookieHeader), base).filter(
        (n) => !written.has(n),
      );
      return setCookies.concat(deletions(stale, writeOptions));
    },

    clear(cookieHeader, context) {
      const base = prefixFor(attrs, context) + name;
      const present = presentNames(parseHeader(cookieHeader), base);
      return deletions(present.includes(base) ? present : [base, ...present], context);
    },
  };
}
