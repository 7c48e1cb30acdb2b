/**
 * The `jwt` and `hybrid` strategies at the HTTP edge, framework-neutral: find the access token
 * (an `Authorization: Bearer` header or an HttpOnly cookie), verify it, optionally check that
 * its session is still alive (hybrid: a revoked session's tokens stop working at once), and
 * check required claims. Adapters turn the result into 401 (with `WWW-Authenticate`) or 403.
 * A token read from a cookie is ambient authority, like a session cookie: an unsafe request
 * carrying one passes the CSRF guard first, and on HTTPS only the `__Host-` cookie counts.
 * Clients get one generic 401 message whatever check failed (a prober learns nothing); the
 * precise code is on the result (`code`) for logs and events.
 * Also the cookies the browser flavour of the hybrid strategy uses: the access-token cookie
 * and the refresh-token cookie (HttpOnly, Secure, SameSite=Strict, scoped to the refresh path).
 */
import { type CookieCodec, createCookieCodec, readCookie } from '../cookies/index.js';
import { type CsrfGuard, type CsrfGuardOptions, createCsrfGuard } from '../csrf/index.js';
import { isTesseraError, TesseraError, type TesseraErrorCode } from '../shared/errors.js';
import type { AccessTokenClaims, AccessTokens } from '../tokens/index.js';
import { httpStatusOf } from './status.js';

/** The little a guard needs to know about a request. */
export interface TokenRequest {
  /** A request header by lower-case name. */
  header(name: string): string | undefined;
  /** HTTP method; a cookie-borne token on a request without one is CSRF-checked. */
  method?: string;
  /**
   * Whether the request came over HTTPS (directly or via a trusted proxy): then only the
   * `__Host-` cookie is read. Unknown (undefined): the `__Host-` name first, then the plain one.
   */
  isSecure?: boolean;
  /** The full request URL (fetch adapters): its origin is the app's for the CSRF check. */
  url?: string;
}

/** A claim requirement: a claim name and the value(s) that satisfy it, or a predicate. */
export type ClaimRequirement =
  | Record<string, string | number | boolean | ReadonlyArray<string | number | boolean>>
  | ((claims: AccessTokenClaims) => boolean);

export interface TokenGuardOptions {
  /** From `createAccessTokens`. */
  tokens: AccessTokens;
  /** Where the token may come from. Default `'header'`; `'cookie'` or `'header-or-cookie'`. */
  source?: 'header' | 'cookie' | 'header-or-cookie';
  /** Access-token cookie name when cookies are read. Default `tessera.at`. */
  cookieName?: string;
  /**
   * Hybrid: answers whether the token's session (`sid`) is still alive; a false answer
   * rejects the token at once (`ERR_TOKEN_REVOKED`). Tokens without `sid` pass when
   * `requireSession` is false (default true when this is given).
   */
  isSessionActive?: (sid: string, claims: AccessTokenClaims) => Promise<boolean> | boolean;
  requireSession?: boolean;
  /** `realm` in `WWW-Authenticate`. */
  realm?: string;
  /**
   * The CSRF check run on unsafe requests whose token came from a cookie (always on for
   * cookies; a Bearer header cannot be forged cross-site and is not checked).
   */
  csrf?: CsrfGuardOptions;
  /**
   * Called with every refusal, precise code included, for logs and metrics (the client only
   * sees the generic answer). Must not throw.
   */
  onRefused?: (refusal: TokenRefusal) => void;
}

/** What `onRefused` gets: never the token itself. */
export interface TokenRefusal {
  status: 401 | 403 | 503;
  error: TokenErrorName;
  /** The precise reason, e.g. `ERR_TOKEN_EXPIRED`, `ERR_TOKEN_SIGNATURE`, `ERR_CSRF`. */
  code?: TesseraErrorCode;
  /** The CSRF guard's reason on `csrf` refusals. */
  reason?: string;
}

/** The outcome of one authentication. */
export type TokenAuthResult =
  | { ok: true; claims: AccessTokenClaims; token: string }
  | {
      ok: false;
      /**
       * 401 (absent or invalid token), 403 (valid but lacking a claim, or a cookie-borne token
       * on a cross-site request), 503 (store down).
       */
      status: 401 | 403 | 503;
      /**
       * RFC 6750 error: `invalid_token`, `insufficient_scope`; `csrf` for a refused cross-site
       * request; `temporarily_unavailable` for 503.
       */
      error: TokenErrorName;
      /** A short reason, safe to show: the same for every invalid token. */
      message: string;
      /** The TesseraError code behind the refusal (for logs and events, not for the client). */
      code?: TesseraErrorCode;
      /** Why the CSRF check refused the request (for logs), on `csrf` refusals. */
      reason?: string;
      /** Headers to send (`WWW-Authenticate` on 401/403). */
      headers: Record<string, string>;
    };

/** The `error` of a refusal. */
export type TokenErrorName =
  | 'invalid_token'
  | 'insufficient_scope'
  | 'temporarily_unavailable'
  | 'csrf';

/** The one message every invalid or absent token gets. */
export const INVALID_TOKEN_MESSAGE = 'a valid access token is required';

export interface TokenGuard {
  /**
   * Authenticates a request; `require` adds claims the token must carry (403 otherwise).
   * @example
   * const result = await guard.authenticate({ header: (n) => req.headers[n] }, { role: 'admin' });
   * if (!result.ok) return res.status(result.status).set(result.headers).json({ error: result.error });
   */
  authenticate(request: TokenRequest, require?: ClaimRequirement): Promise<TokenAuthResult>;
  /** The raw token a request carries, or null. */
  extract(request: TokenRequest): string | null;
}

const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;

/**
 * Creates a token guard.
 * @example
 * const guard = createTokenGuard({ tokens, isSessionActive: async (sid) => !!(await store.getByHandle(sid)) });
 */
export function createTokenGuard(options: TokenGuardOptions): TokenGuard {
  if (options?.onRefused !== undefined && typeof options.onRefused !== 'function') {
    throw new TesseraError('ERR_CONFIG', 'onRefused must be a function');
  }
  if (!options || typeof options.tokens?.verify !== 'function') {
    throw new TesseraError('ERR_CONFIG', 'createTokenGuard needs tokens (from createAccessTokens)');
  }
  const source = options.source ?? 'header';
  if (source !== 'header' && source !== 'cookie' && source !== 'header-or-cookie') {
    throw new TesseraError('ERR_CONFIG', "source must be 'header', 'cookie' or 'header-or-cookie'");
  }
  const cookieName = options.cookieName ?? 'tessera.at';
  const realm = options.realm ? `realm="${options.realm.replace(/["\\]/g, '')}", ` : '';
  const requireSession = options.requireSession ?? options.isSessionActive !== undefined;

  const csrf: CsrfGuard = createCsrfGuard(options.csrf ?? {});

  const fail = (
    status: 401 | 403 | 503,
    error: TokenErrorName,
    message: string,
    code?: TesseraErrorCode,
  ): Extract<TokenAuthResult, { ok: false }> => {
    const headers: Record<string, string> =
      status === 503
        ? { 'retry-after': '1' }
        : error === 'csrf'
          ? {}
          : {
              'www-authenticate': `Bearer ${realm}error="${error}", error_description="${message}"`,
            };
    const result: Extract<TokenAuthResult, { ok: false }> = code
      ? { ok: false, status, error, message, code, headers }
      : { ok: false, status, error, message, headers };
    return result;
  };
  // Every invalid token gets the same answer; only `code` says which check failed.
  const invalid = (code?: TesseraErrorCode): TokenAuthResult =>
    fail(401, 'invalid_token', INVALID_TOKEN_MESSAGE, code);

  const locate = (request: TokenRequest): { token: string; fromCookie: boolean } | null => {
    if (source !== 'cookie') {
      const header = request.header('authorization');
      if (header !== undefined && header !== '') {
        const match = BEARER.exec(header);
        return { token: match?.[1] ?? '', fromCookie: false };
      }
    }
    if (source !== 'header') {
      const cookieHeader = request.header('cookie');
      const prefixed = readCookie(cookieHeader, `__Host-${cookieName}`);
      // On HTTPS the cookie is written as __Host-<name>; a plain-named one there may have been
      // planted (by a sibling subdomain or over HTTP) and is not read.
      const token =
        request.isSecure === true
          ? prefixed
          : request.isSecure === false
            ? readCookie(cookieHeader, cookieName)
            : (prefixed ?? readCookie(cookieHeader, cookieName));
      return token === null ? null : { token, fromCookie: true };
    }
    return null;
  };

  const checkCsrf = (request: TokenRequest): TokenAuthResult | null => {
    const verdict = csrf.check({
      method: typeof request.method === 'string' ? request.method : '',
      headers: (name) => request.header(name),
      ...(request.isSecure === undefined ? {} : { isSecure: request.isSecure }),
      ...(request.url === undefined ? {} : { url: request.url }),
    });
    if (verdict.ok) return null;
    const refusal = fail(403, 'csrf', 'cross-site request refused', 'ERR_CSRF');
    refusal.reason = verdict.reason;
    return refusal;
  };

  const checkSession = async (claims: AccessTokenClaims): Promise<TokenAuthResult | null> => {
    if (!options.isSessionActive) return null;
    if (typeof claims.sid !== 'string' || claims.sid === '') {
      return requireSession ? invalid('ERR_TOKEN_CLAIM') : null;
    }
    let alive: boolean;
    try {
      alive = await options.isSessionActive(claims.sid, claims);
    } catch (error) {
      if (httpStatusOf(error) === 503 || !isTesseraError(error)) {
        return fail(503, 'temporarily_unavailable', 'the session store is unavailable');
      }
      throw error;
    }
    return alive ? null : invalid('ERR_TOKEN_REVOKED');
  };

  return {
    extract: (request) => locate(request)?.token ?? null,
    async authenticate(request, require) {
      const result = await decide(request, require);
      if (!result.ok && options.onRefused) {
        const refusal: TokenRefusal = { status: result.status, error: result.error };
        if (result.code) refusal.code = result.code;
        if (result.reason) refusal.reason = result.reason;
        options.onRefused(refusal);
      }
      return result;
    },
  };

  async function decide(
    request: TokenRequest,
    require: ClaimRequirement | undefined,
  ): Promise<TokenAuthResult> {
    const found = locate(request);
    if (found === null) return invalid();
    if (found.token === '') return invalid('ERR_TOKEN_MALFORMED');
    // Before the token is even verified: a forged cross-site request learns nothing.
    if (found.fromCookie) {
      const refused = checkCsrf(request);
      if (refused) return refused;
    }
    let claims: AccessTokenClaims;
    try {
      claims = await options.tokens.verify(found.token);
    } catch (error) {
      // The shared status table decides: 503 for an outage (a denylist in the store), one
      // generic 401 for every token failure; anything else is not the client's fault.
      if (httpStatusOf(error) === 503) {
        return fail(503, 'temporarily_unavailable', 'the session store is unavailable');
      }
      if (isTesseraError(error)) return invalid(error.code);
      throw error;
    }
    const dead = await checkSession(claims);
    if (dead) return dead;
    if (require && !satisfies(claims, require)) {
      return fail(403, 'insufficient_scope', 'the token lacks a required claim');
    }
    return { ok: true, claims, token: found.token };
  }
}

function satisfies(claims: AccessTokenClaims, requirement: ClaimRequirement): boolean {
  if (typeof requirement === 'function') return requirement(claims) === true;
  for (const [name, wanted] of Object.entries(requirement)) {
    const actual = claims[name];
    const accepted = Array.isArray(wanted) ? wanted : [wanted];
    const present = Array.isArray(actual)
      ? actual.some((value) => accepted.includes(value))
      : typeof actual === 'string' && name === 'scope'
        ? actual.split(' ').some((value) => accepted.includes(value))
        : accepted.includes(actual as string | number | boolean);
    if (!present) return false;
  }
  return true;
}

/** Options of the browser-side token cookies. */
export interface TokenCookieOptions {
  /** Access-token cookie name. Default `tessera.at`. */
  accessName?: string;
  /** Refresh-token cookie name. Default `tessera.rt`. */
  refreshName?: string;
  /** The path the refresh cookie is scoped to. Default `/api/token/refresh`. */
  refreshPath?: string;
}

export interface TokenCookies {
  /** HttpOnly, SameSite=Lax access-token cookie (Secure and `__Host-` on HTTPS). */
  readonly access: CookieCodec;
  /** HttpOnly, Secure, SameSite=Strict refresh-token cookie scoped to the refresh path. */
  readonly refresh: CookieCodec;
}

/**
 * The cookie pair for browsers using the hybrid strategy without JavaScript-readable tokens.
 * The refresh cookie is always `Secure` (browsers accept Secure cookies from
 * http://localhost for development).
 * @example
 * const cookies = createTokenCookies();
 * res.append('Set-Cookie', cookies.refresh.serialize(refreshToken, { isSecure: true, persistentMaxAgeSeconds: 1800 }));
 */
export function createTokenCookies(options: TokenCookieOptions = {}): TokenCookies {
  return {
    access: createCookieCodec({ name: options.accessName ?? 'tessera.at', sameSite: 'lax' }),
    refresh: createCookieCodec({
      name: options.refreshName ?? 'tessera.rt',
      sameSite: 'strict',
      secure: true,
      prefix: '__Secure-',
      path: options.refreshPath ?? '/api/token/refresh',
    }),
  };
}
