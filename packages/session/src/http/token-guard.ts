/**
 * The `jwt` and `hybrid` strategies at the HTTP edge, framework-neutral: find the access token
 * (an `Authorization: Bearer` header or an HttpOnly cookie), verify it, optionally check that
 * its session is still alive (hybrid: a revoked session's tokens stop working at once), and
 * check required claims. Adapters turn the result into 401 (with `WWW-Authenticate`) or 403.
 * Also the cookies the browser flavour of the hybrid strategy uses: the access-token cookie
 * and the refresh-token cookie (HttpOnly, Secure, SameSite=Strict, scoped to the refresh path).
 */
import { type CookieCodec, createCookieCodec, readCookie } from '../cookies/index.js';
import { isTesseraError, TesseraError, type TesseraErrorCode } from '../shared/errors.js';
import type { AccessTokenClaims, AccessTokens } from '../tokens/index.js';

/** The little a guard needs to know about a request. */
export interface TokenRequest {
  /** A request header by lower-case name. */
  header(name: string): string | undefined;
}

/** A claim requirement: a claim name and the value(s) that satisfy it, or a predicate. */
export type ClaimRequirement =
  | Record<string, string | number | boolean | ReadonlyArray<string | number | boolean>>
  | ((claims: AccessTokenClaims) => boolean);

export interface TokenGuardOptions {
  /** From `createAccessTokens`. */
  tokens: AccessTokens;
  /**
   * Where the token may come from: the `Authorization: Bearer` header, the HttpOnly cookie, or either.
   * @defaultValue 'header'
   */
  source?: 'header' | 'cookie' | 'header-or-cookie';
  /**
   * Access-token cookie name when cookies are read.
   * @defaultValue 'tessera.at'
   */
  cookieName?: string;
  /**
   * Hybrid: answers whether the token's session (`sid`) is still alive; a false answer
   * rejects the token at once (`ERR_TOKEN_REVOKED`). Tokens without `sid` pass when
   * `requireSession` is false.
   * @defaultValue none: tokens are checked by signature and claims only (the `jwt` strategy)
   */
  isSessionActive?: (sid: string, claims: AccessTokenClaims) => Promise<boolean> | boolean;
  /**
   * With `isSessionActive`: refuse tokens that carry no `sid`.
   * @defaultValue true when `isSessionActive` is given, else false
   */
  requireSession?: boolean;
  /**
   * `realm` in `WWW-Authenticate`.
   * @defaultValue none (no realm parameter)
   */
  realm?: string;
}

/** The outcome of one authentication. */
export type TokenAuthResult =
  | { ok: true; claims: AccessTokenClaims; token: string }
  | {
      ok: false;
      /** 401 (absent or invalid token), 403 (valid but lacking a claim), 503 (store down). */
      status: 401 | 403 | 503;
      /** RFC 6750 error: `invalid_token`, `insufficient_scope`; `temporarily_unavailable` for 503. */
      error: 'invalid_token' | 'insufficient_scope' | 'temporarily_unavailable';
      /** A short reason, safe to show. */
      message: string;
      /** The TesseraError code behind a 401, when there was a token. */
      code?: TesseraErrorCode;
      /** Headers to send (`WWW-Authenticate` on 401/403). */
      headers: Record<string, string>;
    };

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

  const fail = (
    status: 401 | 403 | 503,
    error: 'invalid_token' | 'insufficient_scope' | 'temporarily_unavailable',
    message: string,
    code?: TesseraErrorCode,
  ): TokenAuthResult => {
    const headers: Record<string, string> =
      status === 503
        ? { 'retry-after': '1' }
        : {
            'www-authenticate': `Bearer ${realm}error="${error}", error_description="${message}"`,
          };
    return code
      ? { ok: false, status, error, message, code, headers }
      : { ok: false, status, error, message, headers };
  };

  const extract = (request: TokenRequest): string | null => {
    if (source !== 'cookie') {
      const header = request.header('authorization');
      if (header !== undefined && header !== '') {
        const match = BEARER.exec(header);
        return match?.[1] ?? '';
      }
    }
    if (source !== 'header') {
      // Prefixed name first: on HTTPS the cookie is written as __Host-<name>.
      const cookieHeader = request.header('cookie');
      return (
        readCookie(cookieHeader, `__Host-${cookieName}`) ?? readCookie(cookieHeader, cookieName)
      );
    }
    return null;
  };

  return {
    extract,
    async authenticate(request, require) {
      const token = extract(request);
      if (token === null) return fail(401, 'invalid_token', 'an access token is required');
      if (token === '') {
        return fail(
          401,
          'invalid_token',
          'the Authorization header is not a Bearer token',
          'ERR_TOKEN_MALFORMED',
        );
      }
      let claims: AccessTokenClaims;
      try {
        claims = await options.tokens.verify(token);
      } catch (error) {
        if (isTesseraError(error, 'ERR_STORE_UNAVAILABLE')) {
          return fail(503, 'temporarily_unavailable', 'the session store is unavailable');
        }
        if (isTesseraError(error)) {
          return fail(401, 'invalid_token', describe(error.code), error.code);
        }
        throw error;
      }
      if (options.isSessionActive) {
        if (typeof claims.sid === 'string' && claims.sid !== '') {
          let alive: boolean;
          try {
            alive = await options.isSessionActive(claims.sid, claims);
          } catch (error) {
            if (isTesseraError(error, 'ERR_STORE_UNAVAILABLE') || !isTesseraError(error)) {
              return fail(503, 'temporarily_unavailable', 'the session store is unavailable');
            }
            throw error;
          }
          if (!alive) {
            return fail(401, 'invalid_token', 'the session was revoked', 'ERR_TOKEN_REVOKED');
          }
        } else if (requireSession) {
          return fail(
            401,
            'invalid_token',
            'the token is not tied to a session',
            'ERR_TOKEN_CLAIM',
          );
        }
      }
      if (require && !satisfies(claims, require)) {
        return fail(403, 'insufficient_scope', 'the token lacks a required claim');
      }
      return { ok: true, claims, token };
    },
  };
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

function describe(code: TesseraErrorCode): string {
  switch (code) {
    case 'ERR_TOKEN_EXPIRED':
      return 'the access token expired';
    case 'ERR_TOKEN_REVOKED':
      return 'the access token was revoked';
    case 'ERR_TOKEN_NOT_YET_VALID':
      return 'the access token is not valid yet';
    default:
      return 'the access token is invalid';
  }
}

/** Options of the browser-side token cookies. */
export interface TokenCookieOptions {
  /**
   * Access-token cookie name.
   * @defaultValue 'tessera.at'
   */
  accessName?: string;
  /**
   * Refresh-token cookie name.
   * @defaultValue 'tessera.rt'
   */
  refreshName?: string;
  /**
   * The path the refresh cookie is scoped to.
   * @defaultValue '/api/token/refresh'
   */
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
