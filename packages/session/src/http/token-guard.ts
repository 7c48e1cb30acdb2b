/**
 * The `jwt` and `hybrid` strategies at the HTTP edge, framework-neutral: find the access token
 * (an `Authorization: Bearer` header or an HttpOnly cookie), verify it, optionally check that
 * its session is still alive (hybrid: a revoked session's tokens stop working at once), and
 * check required claims. Adapters turn the result into 401 (with `WWW-Authenticate`) or 403.
 * A token read from a cookie is ambient authority, like a session cookie: an unsafe request
 * carrying one passes the CSRF guard first, and on HTTPS only the `__Host-` cookie counts.
 * Clients get one generic 401 message whatever check failed (a prober learns nothing); the
 * precise code is on the result (`code`) for logs and events.
 * DPoP (RFC 9449, with a `dpop` verifier): `Authorization: DPoP <token>` plus a `DPoP` proof
 * header; a token bound to a key (`cnf.jkt`) is accepted only that way, with a proof by that
 * key (`token-dpop.ts`). Proof failures answer `invalid_dpop_proof` or `use_dpop_nonce`.
 * Also the cookies the browser flavour of the hybrid strategy uses: the access-token cookie
 * and the refresh-token cookie (HttpOnly, Secure, SameSite=Strict, scoped to the refresh path).
 */
import { type CookieCodec, createCookieCodec, readCookie } from '../cookies/index.js';
import { type CsrfGuard, type CsrfGuardOptions, createCsrfGuard } from '../csrf/index.js';
import { isTesseraError, TesseraError, type TesseraErrorCode } from '../shared/errors.js';
import type { AccessTokenClaims, AccessTokens, DpopProof, DpopVerifier } from '../tokens/index.js';
import { httpStatusOf } from './status.js';
import {
  boundKey,
  challenges,
  checkBoundProof,
  checkPublicOrigin,
  parseAuthorization,
  proofTargetUrl,
} from './token-dpop.js';

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
  /**
   * The absolute URL the request was sent to, for the `htu` of DPoP proofs; called only when
   * a proof is checked. Adapters without `url` (Express, Fastify) give it.
   * @defaultValue `url`
   */
  targetUrl?: () => string;
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
  /**
   * The CSRF check run on unsafe requests whose token came from a cookie (always on for
   * cookies; a Bearer header cannot be forged cross-site and is not checked).
   * @defaultValue `{ allowedOrigins: [], trustFetchMetadata: true }`
   */
  csrf?: CsrfGuardOptions;
  /**
   * Called with every refusal, precise code included, for logs and metrics (the client only
   * sees the generic answer). Must not throw.
   * @defaultValue none
   */
  onRefused?: (refusal: TokenRefusal) => void;
  /**
   * DPoP (RFC 9449): a verifier from `createDpopVerifier`. Then `Authorization: DPoP <token>`
   * with a `DPoP` proof is accepted, and a token bound to a key (`cnf.jkt`) only that way.
   * @defaultValue none: Bearer tokens only, and a bound token is refused (`ERR_DPOP_BINDING`)
   */
  dpop?: DpopVerifier;
  /**
   * With `dpop`: refuse every token that comes without a proof (Bearer, cookie).
   * @defaultValue false: unbound Bearer tokens are still accepted
   */
  requireDpop?: boolean;
  /**
   * The origin clients call this API at, e.g. `https://api.example.com`: a proof's `htu` must
   * name it (and the request path). Set it behind a proxy that rewrites the host or scheme.
   * @defaultValue the request's own URL as the adapter sees it (scheme and Host header)
   */
  publicOrigin?: string;
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
  | {
      ok: true;
      claims: AccessTokenClaims;
      token: string;
      /** The verified DPoP proof, when the token came with one. */
      proof?: DpopProof;
    }
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
      /** Headers to send (`WWW-Authenticate` on 401/403, `DPoP-Nonce` with `use_dpop_nonce`). */
      headers: Record<string, string>;
    };

/** The `error` of a refusal. */
export type TokenErrorName =
  | 'invalid_token'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'insufficient_scope'
  | 'temporarily_unavailable'
  | 'csrf';

/** The one message every invalid or absent token gets. */
export const INVALID_TOKEN_MESSAGE = 'a valid access token is required';
/** The one message every refused DPoP proof gets. */
export const INVALID_PROOF_MESSAGE = 'a valid DPoP proof is required';
const NONCE_MESSAGE = 'the DPoP proof must carry the server nonce';

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
  const dpop = options.dpop;
  if (dpop !== undefined && typeof dpop?.verify !== 'function') {
    throw new TesseraError('ERR_CONFIG', 'dpop must be a verifier from createDpopVerifier');
  }
  if (options.requireDpop === true && dpop === undefined) {
    throw new TesseraError('ERR_CONFIG', 'requireDpop needs dpop (createDpopVerifier({ store }))');
  }
  const requireDpop = options.requireDpop === true;
  const publicOrigin = checkPublicOrigin(options.publicOrigin);
  const cookieName = options.cookieName ?? 'tessera.at';
  const realm = options.realm ? `realm="${options.realm.replace(/["\\]/g, '')}", ` : '';
  const requireSession = options.requireSession ?? options.isSessionActive !== undefined;

  const csrf: CsrfGuard = createCsrfGuard(options.csrf ?? {});

  const fail = (
    status: 401 | 403 | 503,
    error: TokenErrorName,
    message: string,
    code?: TesseraErrorCode,
    scheme: 'bearer' | 'dpop' = requireDpop ? 'dpop' : 'bearer',
  ): Extract<TokenAuthResult, { ok: false }> => {
    const headers: Record<string, string> =
      status === 503
        ? { 'retry-after': '1' }
        : error === 'csrf'
          ? {}
          : {
              'www-authenticate': challenges({
                realm,
                bearer: !requireDpop,
                dpop,
                errorScheme: scheme,
                params: `error="${error}", error_description="${message}"`,
              }),
            };
    const result: Extract<TokenAuthResult, { ok: false }> = code
      ? { ok: false, status, error, message, code, headers }
      : { ok: false, status, error, message, headers };
    return result;
  };
  // Every invalid token gets the same answer; only `code` says which check failed.
  const invalid = (code?: TesseraErrorCode, scheme?: 'bearer' | 'dpop'): TokenAuthResult =>
    fail(401, 'invalid_token', INVALID_TOKEN_MESSAGE, code, scheme);
  const unavailable = (): TokenAuthResult =>
    fail(503, 'temporarily_unavailable', 'the session store is unavailable');

  interface Located {
    token: string;
    fromCookie: boolean;
    scheme: 'bearer' | 'dpop' | 'cookie';
  }

  const locate = (request: TokenRequest): Located | null => {
    if (source !== 'cookie') {
      const header = request.header('authorization');
      if (header !== undefined && header !== '') {
        const parsed = parseAuthorization(header);
        return parsed === null
          ? { token: '', fromCookie: false, scheme: 'bearer' }
          : { token: parsed.token, fromCookie: false, scheme: parsed.scheme };
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
      return token === null ? null : { token, fromCookie: true, scheme: 'cookie' };
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
      if (httpStatusOf(error) === 503 || !isTesseraError(error)) return unavailable();
      throw error;
    }
    return alive ? null : invalid('ERR_TOKEN_REVOKED');
  };

  /**
   * The key binding: a bound token needs the DPoP scheme and a proof by its key; an unbound
   * one must not claim the DPoP scheme, and with `requireDpop` is not accepted at all.
   */
  const checkBinding = async (
    request: TokenRequest,
    found: Located,
    claims: AccessTokenClaims,
  ): Promise<TokenAuthResult | DpopProof | null> => {
    const jkt = boundKey(claims);
    if (found.scheme !== 'dpop') {
      return jkt !== null || requireDpop ? invalid('ERR_DPOP_BINDING') : null;
    }
    if (jkt === null || dpop === undefined) return invalid('ERR_DPOP_BINDING', 'dpop');
    const outcome = await checkBoundProof({
      dpop,
      header: request.header('dpop'),
      token: found.token,
      jkt,
      method: typeof request.method === 'string' ? request.method : 'GET',
      url: proofTargetUrl(request.targetUrl?.() ?? request.url, publicOrigin),
    });
    if (outcome.ok) return outcome.proof;
    switch (outcome.kind) {
      case 'unavailable':
        return unavailable();
      case 'binding':
        return invalid(outcome.code, 'dpop');
      case 'nonce': {
        const refusal = fail(401, 'use_dpop_nonce', NONCE_MESSAGE, outcome.code, 'dpop');
        refusal.headers['dpop-nonce'] = dpop.nonce() ?? '';
        return refusal;
      }
      default:
        return fail(401, 'invalid_dpop_proof', INVALID_PROOF_MESSAGE, outcome.code, 'dpop');
    }
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
    const scheme = found.scheme === 'dpop' ? 'dpop' : undefined;
    if (found.token === '') return invalid('ERR_TOKEN_MALFORMED', scheme);
    // A token without a proof is refused before any work when every token needs one.
    if (requireDpop && found.scheme !== 'dpop') return invalid('ERR_DPOP_BINDING');
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
      if (httpStatusOf(error) === 503) return unavailable();
      if (isTesseraError(error)) return invalid(error.code, scheme);
      throw error;
    }
    const binding = await checkBinding(request, found, claims);
    if (binding !== null && 'ok' in binding) return binding;
    const dead = await checkSession(claims);
    if (dead) return dead;
    if (require && !satisfies(claims, require)) {
      return fail(403, 'insufficient_scope', 'the token lacks a required claim', undefined, scheme);
    }
    return binding === null
      ? { ok: true, claims, token: found.token }
      : { ok: true, claims, token: found.token, proof: binding };
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
