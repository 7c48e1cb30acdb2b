/**
 * The cookie codec: reads one named cookie from a `Cookie` header and writes the matching
 * `Set-Cookie` headers, with secure defaults (HttpOnly, SameSite=Lax, Path=/, Secure and
 * the `__Host-` prefix on HTTPS), optional HMAC signing and a hard size limit. Framework
 * neutral: adapters pass header strings and whether the request is HTTPS.
 */
import { parse } from 'cookie';
import { TesseraError } from '../shared/errors.js';
import { normalizeSecrets } from '../shared/secrets.js';
import {
  buildSetCookie,
  type CookieAttributeOptions,
  type CookieRequestContext,
  checkMaxAge,
  isSecureFor,
  MAX_COOKIE_BYTES,
  prefixFor,
  resolveAttributes,
  validateCookieName,
} from './internal/attributes.js';
import { signCookieValue, unsignCookieValue } from './sign.js';

/** Options of {@link createCookieCodec}. */
export interface CookieCodecOptions extends CookieAttributeOptions {
  /**
   * Cookie name without prefix.
   * @defaultValue 'tessera.sid'
   */
  name?: string;
  /**
   * HMAC-SHA256 secrets (each at least 32 characters): the first signs, all verify. Without
   * secrets values are written as they are (fine for 256-bit random session IDs).
   * @defaultValue none: values are not signed
   */
  secrets?: string | string[];
  /**
   * Clock in milliseconds since the epoch (for `Expires`).
   * @defaultValue Date.now
   */
  now?: () => number;
}

/** Per-response options of {@link CookieCodec.serialize}. */
export interface CookieSerializeOptions extends CookieRequestContext {
  /**
   * Make the cookie persistent with the codec's `maxAge`.
   * @defaultValue false: a browser-session cookie
   */
  persistent?: boolean;
  /**
   * Make the cookie persistent with this lifetime in seconds (overrides `maxAge`).
   * @defaultValue none
   */
  persistentMaxAgeSeconds?: number;
}

/** A configured cookie: read, write and delete it. */
export interface CookieCodec {
  /** The configured name, without prefix. */
  readonly name: string;
  /** The name used on this request, with its prefix (e.g. `__Host-tessera.sid`). */
  nameFor(context: CookieRequestContext): string;
  /** Whether the cookie carries `Secure` on this request. */
  isSecure(context: CookieRequestContext): boolean;
  /** The cookie's value (signature checked), or null when absent, malformed or forged. */
  read(cookieHeader: string | undefined, context: CookieRequestContext): string | null;
  /** A Set-Cookie header value carrying `value`. */
  serialize(value: string, options: CookieSerializeOptions): string;
  /** A Set-Cookie header value that deletes the cookie. */
  clear(context: CookieRequestContext): string;
}

/**
 * Reads the first value of `name` from a Cookie header; null for anything unusable.
 * Never throws. Duplicate names: the first wins (browsers list the most specific path first).
 * @example readCookie('a=1; b=2', 'b') // '2'
 */
export function readCookie(cookieHeader: unknown, name: string): string | null {
  if (typeof cookieHeader !== 'string' || cookieHeader === '') return null;
  try {
    const value = parse(cookieHeader)[name];
    return typeof value === 'string' ? value : null;
  } catch {
    return null;
  }
}

/**
 * Creates a cookie codec; options are validated here and insecure combinations refused.
 * @example
 * const codec = createCookieCodec({ secrets: [process.env.COOKIE_SECRET!] });
 * const sid = codec.read(req.headers.cookie, { isSecure: true });
 * res.setHeader('Set-Cookie', codec.serialize(newSid, { isSecure: true }));
 */
export function createCookieCodec(options: CookieCodecOptions = {}): CookieCodec {
  return buildCodec(options, {});
}

/**
 * The codec for a drop-in adapter whose peer (e.g. @fastify/session) takes `sameSite: false`
 * to mean "no SameSite attribute". Not in the public barrel: Tessera's own APIs refuse it.
 * @example const codec = createPeerCookieCodec({ name: 'sessionId', sameSite: false });
 */
export function createPeerCookieCodec(options: CookieCodecOptions = {}): CookieCodec {
  return buildCodec(options, { allowNoSameSite: true });
}

function buildCodec(options: CookieCodecOptions, peer: { allowNoSameSite?: boolean }): CookieCodec {
  const name = validateCookieName(options.name ?? 'tessera.sid', 'createCookieCodec: name');
  const attrs = resolveAttributes(options, 'createCookieCodec', peer);
  const secrets =
    options.secrets === undefined
      ? undefined
      : normalizeSecrets(options.secrets, 'createCookieCodec: secrets');
  const now = options.now ?? Date.now;

  const nameFor = (context: CookieRequestContext): string => prefixFor(attrs, context) + name;

  return {
    name,
    nameFor,
    isSecure: (context) => isSecureFor(attrs, context),

    read(cookieHeader, context) {
      const raw = readCookie(cookieHeader, nameFor(context));
      if (raw === null) return null;
      return secrets === undefined ? raw : unsignCookieValue(raw, secrets);
    },

    serialize(value, serializeOptions) {
      if (typeof value !== 'string') {
        throw new TesseraError('ERR_INVALID_ARGUMENT', 'serialize(value): value must be a string.');
      }
      let maxAgeSeconds: number | undefined;
      if (serializeOptions.persistentMaxAgeSeconds !== undefined) {
        maxAgeSeconds = checkMaxAge(
          serializeOptions.persistentMaxAgeSeconds,
          'serialize: persistentMaxAgeSeconds',
          'ERR_INVALID_ARGUMENT',
        );
      } else if (serializeOptions.persistent === true) {
        if (attrs.maxAge === undefined) {
          throw new TesseraError(
            'ERR_INVALID_ARGUMENT',
            'serialize: a persistent cookie needs a lifetime; set the codec option maxAge or pass persistentMaxAgeSeconds.',
          );
        }
        maxAgeSeconds = attrs.maxAge;
      }
      let encoded: string;
      try {
        encoded = encodeURIComponent(
          secrets === undefined ? value : signCookieValue(value, secrets[0]),
        );
      } catch (cause) {
        throw new TesseraError(
          'ERR_INVALID_ARGUMENT',
          'serialize(value): value is not well-formed Unicode.',
          {
            cause,
          },
        );
      }
      const cookieName = nameFor(serializeOptions);
      const size = Buffer.byteLength(cookieName) + encoded.length;
      if (size > MAX_COOKIE_BYTES) {
        throw new TesseraError(
          'ERR_COOKIE_TOO_LARGE',
          `Cookie '${cookieName}' would be ${size} bytes (name + value); browsers drop cookies over ` +
            `${MAX_COOKIE_BYTES}. Keep large data on the server or use the sealed-cookie sealer, which splits it.`,
        );
      }
      return buildSetCookie(cookieName, encoded, attrs, serializeOptions, {
        maxAgeSeconds,
        nowMs: now(),
      });
    },

    clear(context) {
      return buildSetCookie(nameFor(context), '', attrs, context, { nowMs: now(), remove: true });
    },
  };
}
