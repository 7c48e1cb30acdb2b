/**
 * Device Bound Session Credentials (DBSC), the server side, framework-neutral: the
 * `Secure-Session-Registration` offer sent at sign-in, the registration endpoint that binds
 * the browser's public key to the session, the refresh endpoint that trades a signed
 * challenge for a fresh short-lived bound cookie, and the check that a bound session's
 * request carries a valid bound cookie. Follows the W3C WebAppSec DBSC editor's draft
 * (docs/bound-sessions.md names the version). The request lifecycle (`request-session.ts`)
 * calls it; adapters turn its answers into responses.
 */
import { hash, randomBytes } from 'node:crypto';
import { parse as parseCookies } from 'cookie';
import type { Session } from '../core/session.js';
import { isTesseraError, TesseraError } from '../shared/errors.js';
import { safeEqual } from '../shared/ids.js';
import type { Store } from '../stores/store.js';
import {
  type DbscAlgorithm,
  type PublicJwk,
  readSfString,
  sfString,
  type VerifiedProof,
  verifyProof,
} from './internal/dbsc-wire.js';
import type { HttpExchange } from './request-session.js';

export type { DbscAlgorithm, PublicJwk } from './internal/dbsc-wire.js';

/** Options of {@link createDbsc} (and of every adapter's `dbsc` option). */
export interface DbscOptions {
  /**
   * Path of the registration endpoint (POST), on the app's origin.
   * @defaultValue '/.tessera/dbsc/register'
   */
  registrationPath?: string;
  /**
   * Path of the refresh endpoint (POST), on the app's origin.
   * @defaultValue '/.tessera/dbsc/refresh'
   */
  refreshPath?: string;
  /**
   * Name of the short-lived bound cookie (`__Host-` is put in front on HTTPS).
   * @defaultValue 'tessera.bound'
   */
  cookieName?: string;
  /**
   * Lifetime of a bound cookie in seconds (30 to 3600): how long a stolen copy keeps working.
   * @defaultValue 600 (10 minutes)
   */
  cookieSeconds?: number;
  /**
   * How long an issued challenge may be answered, in seconds (5 to 600).
   * @defaultValue 60
   */
  challengeSeconds?: number;
  /**
   * Signature algorithms offered for the session key, in order of preference.
   * @defaultValue ['ES256', 'RS256']
   */
  algorithms?: DbscAlgorithm[];
}

/** What an endpoint answers: the adapter sends it as it is. */
export interface DbscAnswer {
  status: number;
  headers: [string, string][];
  body: string;
}

/** How a bound session's request stands: no binding, a valid bound cookie, or none valid. */
export type BoundCookieState = 'unbound' | 'valid' | 'missing' | 'invalid';

/** The request facts an endpoint works on; the lifecycle fills it in. */
export interface DbscRequest {
  exchange: HttpExchange;
  /** The session the session cookie names, without the bound-cookie check (null: none). */
  session: Session | null;
  /** The session manager's clock. */
  now: number;
  /** Milliseconds the session has left (the bound cookie never outlives it). */
  remainingMs: number;
  /** Writes the session's metadata change. */
  save(session: Session): Promise<void>;
}

/** Device-bound sessions over one store's key-value space. */
export interface Dbsc {
  readonly registrationPath: string;
  readonly refreshPath: string;
  /** Which endpoint the request is for, or null. */
  endpointOf(exchange: HttpExchange): 'register' | 'refresh' | null;
  /** Issues a registration challenge for the signed-in session; the header value to send. */
  registrationHeader(sessionHandle: string, now: number): Promise<string>;
  /** Whether the session is bound and, if so, whether the request's bound cookie is valid. */
  boundState(session: Session, exchange: HttpExchange, now: number): BoundCookieState;
  /** A Set-Cookie that deletes the bound cookie. */
  clearCookie(exchange: HttpExchange): string;
  /** The bound cookie's value the request carries, if any. */
  hasCookie(exchange: HttpExchange): boolean;
  /** Answers a registration or refresh request. */
  answer(kind: 'register' | 'refresh', request: DbscRequest): Promise<DbscAnswer>;
}

/** The binding kept in the session's `meta.dbsc`. */
interface Binding {
  id: string;
  alg: DbscAlgorithm;
  jwk: PublicJwk;
  boundAt: number;
  /** SHA-256 of the bound cookies still valid (at most two: the newest and the one before). */
  cookies: { h: string; exp: number }[];
}

interface Resolved {
  registrationPath: string;
  refreshPath: string;
  cookieName: string;
  cookieMs: number;
  challengeMs: number;
  algorithms: DbscAlgorithm[];
}

const CHALLENGE_NS = 'dbsc-challenge';
const NO_STORE: [string, string][] = [
  ['cache-control', 'no-store'],
  ['content-type', 'application/json; charset=utf-8'],
  ['x-frame-options', 'DENY'],
  ['cross-origin-resource-policy', 'same-origin'],
];

function config(message: string): TesseraError {
  return new TesseraError('ERR_CONFIG', `dbsc: ${message}`);
}

function seconds(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw config(`${name} must be a whole number of seconds from ${min} to ${max}`);
  }
  return value;
}

function path(value: unknown, name: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/.test(value)) {
    throw config(`${name} must be an absolute path such as '${fallback}'`);
  }
  return value;
}

function resolveOptions(options: DbscOptions): Resolved {
  const known = [
    'registrationPath',
    'refreshPath',
    'cookieName',
    'cookieSeconds',
    'challengeSeconds',
    'algorithms',
  ];
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw config(`unknown option ${key} (known: ${known.join(', ')})`);
  }
  const algorithms = options.algorithms ?? ['ES256', 'RS256'];
  if (
    !Array.isArray(algorithms) ||
    algorithms.length === 0 ||
    algorithms.some((alg) => alg !== 'ES256' && alg !== 'RS256')
  ) {
    throw config("algorithms must list 'ES256' and/or 'RS256'");
  }
  const cookieName = options.cookieName ?? 'tessera.bound';
  if (typeof cookieName !== 'string' || !/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/.test(cookieName)) {
    throw config('cookieName must be a cookie-name token of 1 to 64 characters');
  }
  const resolved: Resolved = {
    registrationPath: path(options.registrationPath, 'registrationPath', '/.tessera/dbsc/register'),
    refreshPath: path(options.refreshPath, 'refreshPath', '/.tessera/dbsc/refresh'),
    cookieName,
    cookieMs: seconds(options.cookieSeconds, 'cookieSeconds', 600, 30, 3600) * 1000,
    challengeMs: seconds(options.challengeSeconds, 'challengeSeconds', 60, 5, 600) * 1000,
    algorithms: [...new Set(algorithms)],
  };
  if (resolved.registrationPath === resolved.refreshPath) {
    throw config('registrationPath and refreshPath must differ');
  }
  return resolved;
}

/** The binding in a session's metadata; null when unbound, 'corrupt' when unreadable. */
function bindingOf(session: Session): Binding | null | 'corrupt' {
  const value = session.meta.dbsc;
  if (value === undefined || value === null) return null;
  const b = value as Partial<Binding>;
  const ok =
    typeof b.id === 'string' &&
    (b.alg === 'ES256' || b.alg === 'RS256') &&
    typeof b.jwk === 'object' &&
    b.jwk !== null &&
    Array.isArray(b.cookies);
  return ok ? (b as Binding) : 'corrupt';
}

function digest(value: string): string {
  return hash('sha256', value, 'base64url');
}

function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

function json(status: number, body: unknown, extra: [string, string][] = []): DbscAnswer {
  return { status, headers: [...NO_STORE, ...extra], body: JSON.stringify(body) };
}

function refusal(error: TesseraError): DbscAnswer {
  const names: Record<string, string> = {
    ERR_DBSC_MALFORMED: 'dbsc_malformed',
    ERR_DBSC_PROOF: 'dbsc_invalid_proof',
    ERR_DBSC_CHALLENGE: 'dbsc_challenge',
  };
  const status =
    error.code === 'ERR_DBSC_MALFORMED' ? 400 : error.code === 'ERR_DBSC_PROOF' ? 401 : 403;
  return json(status, { error: names[error.code] ?? 'dbsc_error', message: error.message });
}

/** The URL the request was sent to, without query: what an `aud` claim must name. */
function endpointUrl(exchange: HttpExchange): string {
  if (exchange.url !== undefined) {
    const url = new URL(exchange.url);
    return `${url.origin}${url.pathname}`;
  }
  return `${exchange.isSecure ? 'https' : 'http'}://${exchange.header('host') ?? ''}${exchange.path}`;
}

/** The proof's challenge (`jti`), after the optional `aud` is checked against the endpoint. */
function challengeOf(proof: VerifiedProof, exchange: HttpExchange): string {
  const { jti, aud } = proof.payload;
  if (typeof jti !== 'string' || jti === '' || jti.length > 512) {
    throw new TesseraError('ERR_DBSC_MALFORMED', 'proof has no jti with the challenge');
  }
  // The current draft has no aud; earlier Chromium builds sent the endpoint URL. Checked if present.
  if (aud !== undefined && aud !== endpointUrl(exchange)) {
    throw new TesseraError('ERR_DBSC_PROOF', 'proof aud names another endpoint');
  }
  return jti;
}

/**
 * Creates the DBSC server side over a store's key-value space (one-time challenges).
 * @example
 * const dbsc = createDbsc(store, { cookieSeconds: 300 });
 * createRequestSessions({ manager, cookie, dbsc });
 */
export function createDbsc(
  store: Pick<Store, 'kvGet' | 'kvSet' | 'kvDelete'>,
  options: DbscOptions = {},
): Dbsc {
  if (typeof options !== 'object' || options === null) throw config('options must be an object');
  if (!store || typeof store.kvSet !== 'function') {
    throw config(
      'device-bound sessions need a Tessera store (its key-value space keeps the challenges)',
    );
  }
  return new DbscServer(store, resolveOptions(options));
}

class DbscServer implements Dbsc {
  readonly #store: Pick<Store, 'kvGet' | 'kvSet' | 'kvDelete'>;
  readonly #o: Resolved;

  constructor(store: Pick<Store, 'kvGet' | 'kvSet' | 'kvDelete'>, resolved: Resolved) {
    this.#store = store;
    this.#o = resolved;
  }

  get registrationPath(): string {
    return this.#o.registrationPath;
  }

  get refreshPath(): string {
    return this.#o.refreshPath;
  }

  endpointOf(exchange: HttpExchange): 'register' | 'refresh' | null {
    if (exchange.method.toUpperCase() !== 'POST') return null;
    if (exchange.path === this.#o.registrationPath) return 'register';
    return exchange.path === this.#o.refreshPath ? 'refresh' : null;
  }

  async #issueChallenge(
    purpose: 'register' | 'refresh',
    handle: string,
    now: number,
  ): Promise<string> {
    const challenge = randomToken();
    const value = { p: purpose, h: handle };
    await this.#store.kvSet(CHALLENGE_NS, digest(challenge), value, now + this.#o.challengeMs);
    return challenge;
  }

  /** Spends a challenge: true once, for the purpose and session it was issued for. */
  async #takeChallenge(challenge: string, purpose: string, handle: string): Promise<boolean> {
    const key = digest(challenge);
    const value = (await this.#store.kvGet(CHALLENGE_NS, key)) as {
      p?: unknown;
      h?: unknown;
    } | null;
    if (value === null || value.p !== purpose || value.h !== handle) return false;
    return this.#store.kvDelete(CHALLENGE_NS, key);
  }

  async registrationHeader(sessionHandle: string, now: number): Promise<string> {
    const challenge = await this.#issueChallenge('register', sessionHandle, now);
    return `(${this.#o.algorithms.join(' ')});path=${sfString(this.#o.registrationPath)};challenge=${sfString(challenge)}`;
  }

  #cookieName(exchange: HttpExchange): string {
    return exchange.isSecure ? `__Host-${this.#o.cookieName}` : this.#o.cookieName;
  }

  /** The attributes of the bound cookie, as Set-Cookie carries them and the session config lists them. */
  #attributes(exchange: HttpExchange): string {
    return exchange.isSecure
      ? 'Path=/; Secure; HttpOnly; SameSite=Lax'
      : 'Path=/; HttpOnly; SameSite=Lax';
  }

  #cookieValue(exchange: HttpExchange): string | undefined {
    const header = exchange.header('cookie');
    if (header === undefined) return undefined;
    return parseCookies(header)[this.#cookieName(exchange)];
  }

  hasCookie(exchange: HttpExchange): boolean {
    return this.#cookieValue(exchange) !== undefined;
  }

  boundState(session: Session, exchange: HttpExchange, now: number): BoundCookieState {
    const binding = bindingOf(session);
    if (binding === null) return 'unbound';
    const value = this.#cookieValue(exchange);
    if (value === undefined) return 'missing';
    if (binding === 'corrupt') return 'invalid';
    const sent = digest(value);
    // Every entry is compared, so the time taken does not tell which one matched.
    let valid = false;
    for (const entry of binding.cookies) {
      if (safeEqual(sent, String(entry.h)) && entry.exp > now) valid = true;
    }
    return valid ? 'valid' : 'invalid';
  }

  clearCookie(exchange: HttpExchange): string {
    return `${this.#cookieName(exchange)}=; Max-Age=0; ${this.#attributes(exchange)}`;
  }

  async answer(kind: 'register' | 'refresh', request: DbscRequest): Promise<DbscAnswer> {
    try {
      return kind === 'register' ? await this.#register(request) : await this.#refresh(request);
    } catch (error) {
      if (isTesseraError(error) && error.code.startsWith('ERR_DBSC_')) return refusal(error);
      throw error;
    }
  }

  async #register(request: DbscRequest): Promise<DbscAnswer> {
    const { exchange, session, now } = request;
    const response = readSfString(
      exchange.header('secure-session-response'),
      'Secure-Session-Response',
    );
    const proof = verifyProof(response, this.#o.algorithms);
    const challenge = challengeOf(proof, exchange);
    if (session === null || session.isNew || session.userId === null) {
      return json(401, {
        error: 'unauthorized',
        message: 'sign in before registering a device-bound session',
      });
    }
    if (bindingOf(session) !== null) {
      return json(403, {
        error: 'dbsc_already_bound',
        message: 'this session is already bound to a key',
      });
    }
    if (!(await this.#takeChallenge(challenge, 'register', session.handle))) {
      throw new TesseraError(
        'ERR_DBSC_CHALLENGE',
        'registration challenge is unknown, expired or already used',
      );
    }
    const binding: Binding = {
      id: randomToken(),
      alg: proof.alg,
      jwk: proof.jwk,
      boundAt: now,
      cookies: [],
    };
    return this.#issueCookie(binding, request, session);
  }

  async #refresh(request: DbscRequest): Promise<DbscAnswer> {
    const { exchange, session, now } = request;
    const id = readSfString(exchange.header('sec-secure-session-id'), 'Sec-Secure-Session-Id');
    const binding = session === null || session.userId === null ? null : bindingOf(session);
    if (
      session === null ||
      binding === null ||
      binding === 'corrupt' ||
      !safeEqual(binding.id, id)
    ) {
      // The draft's way to end a session: the browser drops it and its key.
      return json(200, { continue: false }, [['set-cookie', this.clearCookie(exchange)]]);
    }
    const response = exchange.header('secure-session-response');
    if (response === undefined)
      return this.#challengeAnswer(binding, session.handle, now, 'sign this challenge');
    const proof = verifyProof(
      readSfString(response, 'Secure-Session-Response'),
      [binding.alg],
      binding.jwk,
    );
    const challenge = challengeOf(proof, exchange);
    if (!(await this.#takeChallenge(challenge, 'refresh', session.handle))) {
      return this.#challengeAnswer(
        binding,
        session.handle,
        now,
        'challenge is unknown, expired or already used; sign this one',
      );
    }
    return this.#issueCookie(binding, request, session);
  }

  async #challengeAnswer(
    binding: Binding,
    handle: string,
    now: number,
    message: string,
  ): Promise<DbscAnswer> {
    const challenge = await this.#issueChallenge('refresh', handle, now);
    const header = `${sfString(challenge)};id=${sfString(binding.id)}`;
    return json(403, { error: 'dbsc_challenge', message }, [['secure-session-challenge', header]]);
  }

  /** Mints a bound cookie, keeps its hash (and the previous one) on the session, answers the config. */
  async #issueCookie(
    binding: Binding,
    request: DbscRequest,
    session: Session,
  ): Promise<DbscAnswer> {
    const { exchange, now } = request;
    const lifetimeMs = Math.max(1000, Math.min(this.#o.cookieMs, request.remainingMs));
    const value = randomToken();
    const kept = binding.cookies.filter((entry) => entry.exp > now).slice(-1);
    const next: Binding = {
      ...binding,
      cookies: [...kept, { h: digest(value), exp: now + lifetimeMs }],
    };
    session.updateMeta({ dbsc: next });
    await request.save(session);
    const attributes = this.#attributes(exchange);
    const name = this.#cookieName(exchange);
    const setCookie = `${name}=${value}; Max-Age=${Math.floor(lifetimeMs / 1000)}; ${attributes}`;
    return json(200, this.#sessionConfig(next, name, attributes), [['set-cookie', setCookie]]);
  }

  #sessionConfig(binding: Binding, name: string, attributes: string): Record<string, unknown> {
    return {
      session_identifier: binding.id,
      refresh_url: this.#o.refreshPath,
      scope: { include_site: false, scope_specification: [] },
      credentials: [{ type: 'cookie', name, attributes }],
    };
  }
}
