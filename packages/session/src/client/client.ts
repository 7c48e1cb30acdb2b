/**
 * The browser client for Tessera's token strategies: attaches `Authorization: Bearer` to
 * requests for the API's origin, and when they come back 401 refreshes the token pair once
 * — one refresh for any number of concurrent 401s — then retries each request once. A
 * refresh the server refuses (`invalid_grant`) clears the tokens and signals sign-out.
 * By default the access token lives in memory only and the refresh token in the service's
 * HttpOnly cookie, so no script can read it; keeping the refresh token in web storage is an
 * explicit opt-in. With `dpop: true` the tokens are bound to a key the browser holds
 * (RFC 9449): every token and API request carries a fresh proof signed by it, and a
 * `use_dpop_nonce` answer is retried once with the server's nonce (`./dpop.ts`). Runs in
 * browsers, workers and any runtime with `fetch`, `Request` and `URL`; no Node imports.
 */
import { TesseraError } from '../shared/errors.js';
import { createDpopSigner, type DpopSigner } from './dpop.js';
import { createTokenSlot, type TokenStorage } from './storage.js';

/** A token response as `POST /api/token` and `POST /api/token/refresh` answer it. */
export interface TokenSet {
  access_token: string;
  /** Omitted (and ignored) when the refresh token travels in an HttpOnly cookie. */
  refresh_token?: string;
  /** Seconds until the access token expires. */
  expires_in?: number;
  /** `Bearer`, or `DPoP` for a token bound to the client's key. */
  token_type?: string;
}

/** Why the client signed out: the server refused the refresh token. */
export type SignOutReason = 'invalid_grant';

export interface ClientOptions {
  /**
   * Origin (and base path) of the API.
   * @defaultValue the page's own origin
   */
  baseUrl?: string;
  /**
   * Where to refresh, resolved against `baseUrl`.
   * @defaultValue '/api/token/refresh'
   */
  refreshUrl?: string;
  /**
   * Where {@link TesseraClient.signIn} posts the credentials, resolved against `baseUrl`.
   * @defaultValue '/api/token'
   */
  tokenUrl?: string;
  /**
   * Where tokens live: `memory`, `session` (sessionStorage), `local` (localStorage) or a
   * Storage object. Web storage is readable by any script on the origin (an XSS can copy
   * what it holds); choosing it also makes `refreshToken` default to `'body'`, so the
   * refresh token is kept there too.
   * @defaultValue 'memory'
   */
  storage?: TokenStorage;
  /**
   * Key under which web storage keeps the tokens.
   * @defaultValue 'tessera.tokens'
   */
  storageKey?: string;
  /**
   * `cookie`: the server keeps the refresh token in an HttpOnly cookie; the client never
   * sees it, signs in with `"refresh_cookie": true` and refreshes with
   * `credentials: 'include'`. `body` (opt-in): the client holds the refresh token (in
   * `storage`, where an injected script can read it) and posts it as JSON.
   * @defaultValue 'cookie' with the default `'memory'` storage; 'body' when `storage` is
   * `'session'`, `'local'` or a Storage object
   */
  refreshToken?: 'body' | 'cookie';
  /**
   * DPoP (RFC 9449): make a non-extractable ECDSA P-256 key with WebCrypto (kept in
   * IndexedDB, or in memory where there is none), send a proof with sign-in and refresh so
   * the server binds the tokens to it, and a proof (with `ath`) on every API request. A
   * stolen token or refresh token is then useless without the key.
   * @defaultValue false
   */
  dpop?: boolean;
  /**
   * The `fetch` to use.
   * @defaultValue globalThis.fetch
   */
  fetch?: (input: Request) => Promise<Response>;
  /**
   * Clock in milliseconds since the epoch.
   * @defaultValue Date.now
   */
  now?: () => number;
}

export interface TesseraClient {
  /**
   * Posts `credentials` as JSON to `tokenUrl` (adding `"refresh_cookie": true` in cookie
   * mode) and, on a 2xx token response, stores the tokens. Answers the response, whose body
   * is still readable.
   */
  signIn(credentials: Record<string, unknown>): Promise<Response>;
  /** `fetch` with the access token attached and one refresh-and-retry on 401. */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** Stores the tokens from a sign-in or refresh response. */
  setTokens(tokens: TokenSet): void;
  /** Forgets the tokens (does not tell the server: call your logout endpoint for that). */
  clearTokens(): void;
  /** The current access token, or null. */
  getAccessToken(): string | null;
  /** Refreshes now (sharing any refresh in flight); the new access token or null. */
  refresh(): Promise<string | null>;
  /** Calls `listener` when the server ends the session; answers an unsubscribe function. */
  onSignOut(listener: (reason: SignOutReason) => void): () => void;
}

// Refresh this long before the access token's announced expiry, to avoid a certain 401.
const EXPIRY_MARGIN_MS = 5000;

function pageHref(): string | undefined {
  const location = (globalThis as { location?: { href?: unknown } }).location;
  return typeof location?.href === 'string' ? location.href : undefined;
}

/** True for RFC 9449's "use the nonce" answers: 401 with the challenge, 400 with the JSON error. */
async function asksForNonce(response: Response): Promise<boolean> {
  if (response.status === 401) {
    return /error="use_dpop_nonce"/.test(response.headers.get('www-authenticate') ?? '');
  }
  if (response.status !== 400) return false;
  try {
    const body = (await response.clone().json()) as { error?: unknown } | null;
    return body?.error === 'use_dpop_nonce';
  } catch {
    return false;
  }
}

function configError(message: string): TesseraError {
  return new TesseraError('ERR_CONFIG', `createClient: ${message}`);
}

/**
 * Creates a client.
 * @example
 * const api = createClient(); // access token in memory, refresh token in an HttpOnly cookie
 * const res = await api.signIn({ username, password });
 * if (!res.ok) showLoginError();
 * api.onSignOut(() => showLogin());
 * const me = await (await api.fetch('/api/me')).json();
 */
export function createClient(options: ClientOptions = {}): TesseraClient {
  const base = options.baseUrl ?? pageHref();
  if (base === undefined) {
    throw configError(
      '`baseUrl` is required outside a browser page (for example https://api.example.com)',
    );
  }
  let apiOrigin: string;
  let refreshUrl: string;
  let tokenUrl: string;
  try {
    apiOrigin = new URL(base).origin;
    refreshUrl = new URL(options.refreshUrl ?? '/api/token/refresh', base).href;
    tokenUrl = new URL(options.tokenUrl ?? '/api/token', base).href;
  } catch {
    throw configError(
      '`baseUrl`, `refreshUrl` and `tokenUrl` must be URLs (absolute, or relative to the page)',
    );
  }
  const storageChoice = options.storage ?? 'memory';
  // Only an explicit web storage keeps the refresh token in JS; memory relies on the cookie.
  const mode = options.refreshToken ?? (storageChoice === 'memory' ? 'cookie' : 'body');
  if (mode !== 'body' && mode !== 'cookie') {
    throw configError("`refreshToken` must be 'body' or 'cookie'");
  }
  const send = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  if (typeof send !== 'function') throw configError('`fetch` must be a function');
  const now = options.now ?? Date.now;
  const storageKey = options.storageKey ?? 'tessera.tokens';
  const slot = createTokenSlot(storageChoice, storageKey);
  if (options.dpop !== undefined && typeof options.dpop !== 'boolean') {
    throw configError('`dpop` must be true or false');
  }
  const signer: DpopSigner | null = options.dpop ? createDpopSigner(storageKey, now) : null;
  const listeners = new Set<(reason: SignOutReason) => void>();

  // Bumped by every setTokens/clearTokens, so a refresh that started before them cannot
  // overwrite their outcome when it lands.
  let version = 0;
  // Cookie mode only: after the server refused the cookie, stop asking until new tokens.
  let refused = false;
  let inflight: Promise<string | null> | null = null;

  function keep(tokens: TokenSet, previousRefresh: string | null): void {
    if (typeof tokens?.access_token !== 'string' || tokens.access_token.length === 0) {
      throw new TesseraError(
        'ERR_INVALID_ARGUMENT',
        'client.setTokens: `access_token` must be the non-empty string from the token response',
      );
    }
    const given =
      typeof tokens.refresh_token === 'string' && tokens.refresh_token.length > 0
        ? tokens.refresh_token
        : previousRefresh;
    const expiresIn = tokens.expires_in;
    version++;
    refused = false;
    const bound =
      typeof tokens.token_type === 'string' && tokens.token_type.toLowerCase() === 'dpop';
    slot.write({
      ...(bound ? { dpop: true } : {}),
      access: tokens.access_token,
      // In cookie mode a refresh token readable by scripts would defeat the point.
      refresh: mode === 'body' ? given : null,
      expiresAt:
        typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0
          ? now() + expiresIn * 1000
          : null,
    });
  }

  function setTokens(tokens: TokenSet): void {
    keep(tokens, null);
  }

  function clearTokens(): void {
    version++;
    slot.clear();
  }

  function signOut(reason: SignOutReason): void {
    clearTokens();
    if (mode === 'cookie') refused = true;
    for (const listener of [...listeners]) {
      try {
        listener(reason);
      } catch {
        // A failing listener must not break the request that triggered sign-out.
      }
    }
  }

  function canRefresh(): boolean {
    return mode === 'cookie' ? !refused : Boolean(slot.read()?.refresh);
  }

  async function runRefresh(): Promise<string | null> {
    const started = version;
    const current = slot.read();
    const refreshToken = current?.refresh ?? null;
    if (mode === 'body' && refreshToken === null) return null;
    let response: Response;
    try {
      response = await sendSigned(() =>
        tokenRequest(refreshUrl, mode === 'body' ? { refresh_token: refreshToken } : {}),
      );
    } catch {
      // Network failure: the session may be fine; keep the tokens, report no new token.
      return null;
    }
    let body: Record<string, unknown> | null = null;
    try {
      const parsed: unknown = await response.json();
      if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>;
    } catch {
      body = null;
    }
    if (version !== started) return slot.read()?.access ?? null;
    if (response.ok && body && typeof body.access_token === 'string' && body.access_token) {
      // A server that does not rotate may omit refresh_token: keep the one just used.
      keep(body as unknown as TokenSet, refreshToken);
      return body.access_token;
    }
    if (response.status === 401 || body?.error === 'invalid_grant') {
      signOut('invalid_grant');
    }
    // Anything else (5xx, 429, a malformed answer) is not a verdict on the session.
    return null;
  }

  function refresh(): Promise<string | null> {
    if (!inflight) {
      inflight = runRefresh().finally(() => {
        inflight = null;
      });
    }
    return inflight;
  }

  /** A POST of `body` as JSON to a token endpoint, with a proof when DPoP is on. */
  async function tokenRequest(url: string, body: Record<string, unknown>): Promise<Request> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
    };
    if (signer !== null) headers.dpop = await signer.proof('POST', url);
    return new Request(url, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      ...(mode === 'cookie' ? { credentials: 'include' as const } : {}),
    });
  }

  /**
   * Sends a request built by `build`; with DPoP, keeps the server's `DPoP-Nonce` and, when
   * the answer is `use_dpop_nonce`, builds (signs) it again and sends it once more.
   */
  async function sendSigned(build: () => Promise<Request>): Promise<Response> {
    const response = await send(await build());
    if (signer === null) return response;
    const nonce = response.headers.get('dpop-nonce');
    if (nonce === null) return response;
    signer.setNonce(nonce);
    if (!(await asksForNonce(response))) return response;
    await response.body?.cancel().catch(() => undefined);
    return send(await build());
  }

  async function withToken(source: Request, token: string | null): Promise<Request> {
    const request = source.clone();
    if (token === null) return request;
    if (signer !== null && slot.read()?.dpop === true) {
      request.headers.set('authorization', `DPoP ${token}`);
      request.headers.set('dpop', await signer.proof(request.method, request.url, token));
    } else {
      request.headers.set('authorization', `Bearer ${token}`);
    }
    return request;
  }

  async function clientFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const source =
      input instanceof Request
        ? new Request(input, init)
        : new Request(new URL(String(input instanceof URL ? input.href : input), base), init);
    // The token goes only to the API's origin, and never replaces a header the caller set.
    if (new URL(source.url).origin !== apiOrigin || source.headers.has('authorization')) {
      return send(source);
    }
    let state = slot.read();
    if (state?.expiresAt != null && now() >= state.expiresAt - EXPIRY_MARGIN_MS && canRefresh()) {
      await refresh();
      state = slot.read();
    }
    const sent = state?.access ?? null;
    const response = await sendSigned(() => withToken(source, sent));
    if (response.status !== 401) return response;

    const latest = slot.read()?.access ?? null;
    let fresh: string | null;
    if (latest !== null && latest !== sent) {
      // Another request refreshed while this one was out: just use its result.
      fresh = latest;
    } else if (canRefresh()) {
      fresh = await refresh();
    } else {
      fresh = null;
    }
    if (fresh === null) return response;
    await response.body?.cancel().catch(() => undefined);
    // One retry only: a second 401 goes back to the caller as it is.
    return sendSigned(() => withToken(source, fresh));
  }

  async function signIn(credentials: Record<string, unknown>): Promise<Response> {
    if (typeof credentials !== 'object' || credentials === null) {
      throw new TesseraError(
        'ERR_INVALID_ARGUMENT',
        'client.signIn: `credentials` must be an object',
      );
    }
    const response = await sendSigned(() =>
      tokenRequest(
        tokenUrl,
        mode === 'cookie' ? { ...credentials, refresh_cookie: true } : credentials,
      ),
    );
    if (!response.ok) return response;
    let body: unknown = null;
    try {
      body = await response.clone().json();
    } catch {
      body = null;
    }
    const tokens = body as TokenSet | null;
    if (typeof tokens?.access_token === 'string' && tokens.access_token.length > 0) {
      setTokens(tokens);
    }
    return response;
  }

  return {
    signIn,
    fetch: clientFetch,
    setTokens,
    clearTokens,
    getAccessToken: () => slot.read()?.access ?? null,
    refresh,
    onSignOut(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
