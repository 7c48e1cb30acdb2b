/**
 * The framework-neutral request lifecycle every adapter (Express, Fastify, fetch) runs: read
 * the session cookie, guard unsafe methods against CSRF, load the session lazily, track what
 * the request changed and, at the end, decide what to write (nothing, a create, a patch or a
 * touch) and which Set-Cookie to send (set, refresh or clear). Adapters only map their
 * framework onto an `HttpExchange` and expose the session the way their users expect.
 */
import type { CookieCodec } from '../cookies/index.js';
import type {
  CreateSessionOptions,
  LoginOptions,
  RequestFacts,
  SessionInfo,
  SessionManager,
  StepUpOptions,
} from '../core/manager.js';
import type { Session } from '../core/session.js';
import { type CsrfGuard, type CsrfRequest, createCsrfGuard } from '../csrf/index.js';
import { isTesseraError, TesseraError } from '../shared/errors.js';
import type { BoundCookieState, Dbsc, DbscAnswer } from './dbsc.js';

/** What the lifecycle needs to know about one request and its response. */
export interface HttpExchange {
  /** HTTP method, any case. */
  readonly method: string;
  /** The request path (without query). */
  readonly path: string;
  /** A request header by lower-case name. */
  header(name: string): string | undefined;
  /** True when the request arrived over HTTPS, directly or through a trusted proxy that said so. */
  readonly isSecure: boolean;
  /** The client address (after trusted proxies). */
  readonly ip?: string | undefined;
  /** The User-Agent header. */
  readonly userAgent?: string | undefined;
  /** Adds one Set-Cookie header to the response. */
  appendSetCookie(value: string): void;
  /**
   * Adds a response header (DBSC's `Secure-Session-Registration` at sign-in). Optional: an
   * exchange without it cannot offer device-bound sessions.
   */
  appendHeader?(name: string, value: string): void;
  /**
   * The full request URL when the adapter knows it (fetch adapters): the app's origin for
   * the CSRF check then comes from it instead of the Host header.
   */
  readonly url?: string | undefined;
}

/** How the session ID travels in a cookie (Tessera's codec, or express-session's format). */
export interface SessionCookieFormat {
  /** The cookie name, for messages. */
  readonly name: string;
  /** The session ID the request carries (signature checked), or null. */
  read(exchange: HttpExchange): string | null;
  /** A Set-Cookie value carrying `id`; `maxAgeSeconds` makes it persistent. */
  serialize(id: string, exchange: HttpExchange, lifetime: CookieLifetime): string;
  /** A Set-Cookie value that deletes the cookie. */
  clear(exchange: HttpExchange): string;
  /** Whether the cookie carries `Secure` on this request. */
  isSecure(exchange: HttpExchange): boolean;
}

/** The lifetime of the cookie written at the end of a request. */
export interface CookieLifetime {
  /** Persistent cookie lifetime in seconds; absent for a browser-session cookie. */
  maxAgeSeconds?: number;
}

/** Where warnings go: anything with a `warn(message)` method (default: `console`). */
export interface SessionLogger {
  warn(message: string): void;
}

/**
 * The part of a session manager the lifecycle uses: `createSessionManager` gives one; the
 * Express adapter also has one over express-session-compatible stores.
 */
export interface LifecycleManager
  extends Pick<
    SessionManager,
    | 'load'
    | 'commit'
    | 'touch'
    | 'reload'
    | 'regenerate'
    | 'login'
    | 'destroy'
    | 'listUserSessions'
    | 'revoke'
    | 'revokeUserSessions'
    | 'remainingMs'
    | 'now'
  > {
  /** A new unsaved session; `exchange` is the request it is for. */
  draft(options?: CreateSessionOptions & { exchange?: HttpExchange }): Session;
  /**
   * `load` answered as a value when the store answers within the call; never throws (a
   * failure is a rejected promise). Optional: the lifecycle uses `load` without it.
   */
  loadNow?(
    id: string | undefined | null,
    facts?: RequestFacts,
  ): Session | null | Promise<Session | null>;
  /** `commit` answered as a value when the store answers within the call (as `loadNow`). */
  commitNow?(session: Session): boolean | Promise<boolean>;
  /** `touch` answered as a value when the store answers within the call (as `loadNow`). */
  touchNow?(session: Session): boolean | Promise<boolean>;
  /** Records a new authentication with a new ID (absent on managers that cannot: `ERR_CONFIG`). */
  stepUp?: SessionManager['stepUp'];
}

/** What an adapter's `login` passes on: "remember me" and the authentication level. */
export interface RequestLoginOptions {
  /**
   * Keep the cookie across browser restarts ("remember me").
   * @defaultValue false
   */
  remember?: boolean;
  /**
   * Lifetime of the remembered cookie in seconds.
   * @defaultValue the session's remaining absolute lifetime
   */
  rememberSeconds?: number;
  /**
   * How strongly the user authenticated (a positive integer on the app's ladder).
   * @defaultValue 1
   */
  level?: number;
  /**
   * The methods used, like OpenID Connect's `amr` (e.g. `['pwd', 'otp']`).
   * @defaultValue [] (none recorded)
   */
  methods?: string[];
}

/** Options of {@link createRequestSessions}. */
export interface RequestSessionsOptions {
  manager: LifecycleManager;
  cookie: SessionCookieFormat;
  /**
   * CSRF guard for unsafe methods on requests that carry a session cookie: on by default;
   * `false` turns it off (only for APIs that never rely on the cookie from a browser).
   * @defaultValue on, `{ allowedOrigins: [], trustFetchMetadata: true }`
   */
  csrf?: false | { allowedOrigins?: string[]; trustFetchMetadata?: boolean };
  /**
   * Lifetime in seconds of every session's cookie (a persistent cookie, capped by the
   * session's remaining lifetime); default none: a browser-session cookie. "Remember me"
   * sets it per session (`login(userId, { remember: true })`, `setCookieLifetime`). (The
   * adapters' `cookie.maxAge` options are milliseconds; they convert to this.)
   * @defaultValue none: a browser-session cookie
   */
  cookieMaxAge?: number;
  /**
   * Store a new session even when the request did not change it (an adapter that mirrors a
   * peer maps the peer's option onto this; Tessera's own default stores only what changed).
   * @defaultValue false
   */
  storeUnchangedNew?: boolean;
  /**
   * Rewrite an unchanged stored session on every request (sliding its expiry in the store).
   * @defaultValue false
   */
  rewriteUnchanged?: boolean;
  /**
   * Send the cookie on every response (refreshing a persistent cookie's lifetime).
   * @defaultValue false
   */
  cookieOnEveryResponse?: boolean;
  /**
   * When a cookie cannot be set (a `Secure` cookie on a plain-HTTP request): false (default)
   * logs one warning and does not store the session it would have carried; true makes that
   * request fail with `ERR_CONFIG`, so the misconfiguration cannot go unnoticed.
   * @defaultValue false
   */
  strictCookies?: boolean;
  /**
   * Whether a `Secure` cookie may be sent over plain HTTP to a loopback host (browsers keep
   * it there); the express-session drop-in turns it off, as express-session sends a `Secure`
   * cookie over HTTPS only.
   * @defaultValue true
   */
  secureOnLoopback?: boolean;
  /**
   * Device-bound sessions (DBSC, from `createDbsc`): offered at every sign-in; once a session
   * is bound, its requests count as signed in only with a valid bound cookie.
   * @defaultValue none: sessions are not device-bound
   */
  dbsc?: Dbsc;
  /**
   * Receives the one-time warnings.
   * @defaultValue console
   */
  logger?: SessionLogger;
}

/** A session in a device list, with a flag for the one making the request. */
export interface RequestSessionInfo extends SessionInfo {
  current: boolean;
}

/** The lifecycle of one request's session. */
export interface RequestSession {
  readonly exchange: HttpExchange;
  /** The session ID the request's cookie carried (verified), or null. */
  readonly cookieId: string | null;
  /** The session once loaded or created during this request. */
  readonly current: Session | null;
  /** True after `destroy` in this request. */
  readonly destroyed: boolean;
  /** The session manager's clock (milliseconds since the epoch). */
  now(): number;
  /** Throws `ERR_CSRF` when an unsafe request with a session cookie fails the guard. */
  verifyCsrf(): void;
  /**
   * The answer to a DBSC registration or refresh request (adapters send it instead of
   * running the app), or null for any other request or when DBSC is off.
   */
  dbscEndpoint(): Promise<DbscAnswer | null>;
  /** The session the cookie names, or null (no cookie, unknown, expired). Loads once. */
  load(): Promise<Session | null>;
  /** The loaded session, or a new unsaved one. */
  session(): Promise<Session>;
  /**
   * `session()` as a value when it is at hand without waiting (a store that answers within
   * the call, or a session already loaded), else the same promise. Never throws: a failure
   * is a rejected promise.
   */
  sessionNow(): Session | Promise<Session>;
  /** Sets the persistent cookie lifetime in seconds (null: a browser-session cookie). */
  setCookieLifetime(maxAgeSeconds: number | null): void;
  /** Asks for the session's expiry in the store to slide at the end (when nothing else is written). */
  touch(): void;
  /** Writes pending changes now (an explicit save); the cookie follows at the end. */
  save(): Promise<void>;
  /** Re-reads the data from the store; false when the session is gone. */
  reload(): Promise<boolean>;
  /**
   * A new ID for the same session (after a privilege change); with `fresh`, the old session
   * ends and a new empty one takes its place (express-session's `regenerate`), stored at the end.
   */
  regenerate(options?: { fresh?: boolean }): Promise<Session>;
  /**
   * Signs `userId` in with a new ID; `remember` keeps the cookie across browser restarts;
   * `level` and `methods` record how strongly the user authenticated.
   */
  login(userId: string, options?: RequestLoginOptions): Promise<Session>;
  /**
   * Records a new authentication of the signed-in user (level, methods, `authAt` = now)
   * with a new ID; data, handle and cookie lifetime are kept.
   */
  stepUp(options: StepUpOptions): Promise<Session>;
  /** Ends the session; the cookie is cleared at the end. */
  destroy(): Promise<void>;
  /** Forgets this request's session without ending it (express-session's `unset: 'keep'`). */
  detach(): void;
  /** The signed-in user's sessions (empty when anonymous). */
  sessions(): Promise<RequestSessionInfo[]>;
  /** Ends one of the signed-in user's sessions by its public handle. */
  revoke(handle: string): Promise<boolean>;
  /** Ends the user's sessions, all of them or all but this one. */
  signOutEverywhere(options?: { keepCurrent?: boolean }): Promise<number>;
  /**
   * Sends now the Set-Cookie the end of the request would send: for responses whose headers
   * leave before `commit` (streaming). `commit` then writes without sending it twice.
   */
  flushCookie(): void;
  /**
   * Decides and performs the writes and Set-Cookie headers at the end of the request.
   * Answers undefined, synchronously, when nothing had to be written to the store.
   */
  commit(): Promise<void> | undefined;
}

/** Creates one {@link RequestSession} per request. */
export interface RequestSessions {
  readonly manager: LifecycleManager;
  begin(exchange: HttpExchange): RequestSession;
}

/** What the end of a request writes. */
export interface CommitDecision {
  save: boolean;
  touch: boolean;
  setCookie: boolean;
}

/** The facts {@link decideCommit} decides on. */
export interface CommitFacts {
  /** The session's ID differs from the one the cookie carried (new or regenerated). */
  idChanged: boolean;
  /** The session is not in the store yet. */
  isNew: boolean;
  /** The request changed the session's data (or metadata). */
  modified: boolean;
  /** The cookie is persistent (has a lifetime). */
  persistent: boolean;
  /** The app (or adapter) asked for the store expiry to slide. */
  touched: boolean;
  storeUnchangedNew: boolean;
  rewriteUnchanged: boolean;
  cookieOnEveryResponse: boolean;
}

/**
 * The rules for the end of a request, shared by every adapter and store kind: a new session
 * nobody changed is stored only with `storeUnchangedNew`; an unchanged stored one is
 * rewritten only with `rewriteUnchanged` (else touched when asked); the cookie is sent for a
 * new ID that was stored, with `cookieOnEveryResponse`, or for a changed persistent session.
 * @example decideCommit({ idChanged: true, isNew: true, modified: false, … }) // { save: false, … }
 */
export function decideCommit(facts: CommitFacts): CommitDecision {
  if (facts.idChanged) {
    const save = facts.modified || facts.storeUnchangedNew || !facts.isNew;
    return { save, touch: false, setCookie: save };
  }
  const save = facts.modified || facts.rewriteUnchanged;
  const touch = !save && facts.touched;
  const setCookie = facts.cookieOnEveryResponse || (facts.persistent && facts.modified);
  return { save, touch, setCookie };
}

const UNSAFE_CHECK_SKIPPED = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The CSRF guard's view of an exchange. `isSecure` is worked out only when the guard asks:
 * a same-origin `Sec-Fetch-Site` decides without it, and Express's `req.secure` costs a few µs.
 */
class ExchangeCsrfRequest implements CsrfRequest {
  readonly method: string;
  readonly url: string | undefined;
  readonly #exchange: HttpExchange;

  constructor(exchange: HttpExchange, method: string) {
    this.#exchange = exchange;
    this.method = method;
    this.url = exchange.url;
  }

  headers(name: string): string | undefined {
    return this.#exchange.header(name);
  }

  get isSecure(): boolean {
    return this.#exchange.isSecure;
  }
}

/**
 * Creates the request lifecycle over a session manager and a cookie format.
 * @example
 * const sessions = createRequestSessions({ manager, cookie: codecCookie(createCookieCodec()) });
 * const rs = sessions.begin(exchange);
 * rs.verifyCsrf();
 * const session = await rs.session();
 * session.set('views', (session.get<number>('views') ?? 0) + 1);
 * await rs.commit();
 */
export function createRequestSessions(options: RequestSessionsOptions): RequestSessions {
  if (!options || typeof options.manager !== 'object' || options.manager === null) {
    throw new TesseraError('ERR_CONFIG', 'createRequestSessions needs a session manager (manager)');
  }
  if (!options.cookie || typeof options.cookie.read !== 'function') {
    throw new TesseraError('ERR_CONFIG', 'createRequestSessions needs a cookie format (cookie)');
  }
  const cookieMaxAge = options.cookieMaxAge ?? null;
  if (cookieMaxAge !== null && (!Number.isFinite(cookieMaxAge) || cookieMaxAge <= 0)) {
    throw new TesseraError('ERR_CONFIG', 'cookieMaxAge must be a positive number of seconds');
  }
  for (const name of [
    'storeUnchangedNew',
    'rewriteUnchanged',
    'cookieOnEveryResponse',
    'strictCookies',
    'secureOnLoopback',
  ] as const) {
    const value = options[name];
    if (value !== undefined && typeof value !== 'boolean') {
      throw new TesseraError('ERR_CONFIG', `${name} must be true or false (got ${String(value)})`);
    }
  }
  const logger = options.logger ?? console;
  if (typeof logger.warn !== 'function') {
    throw new TesseraError('ERR_CONFIG', 'logger must have a warn(message) method, e.g. console');
  }
  const guard: CsrfGuard | null =
    options.csrf === false ? null : createCsrfGuard(options.csrf ?? {});
  const shared: Shared = {
    manager: options.manager,
    cookie: options.cookie,
    guard,
    storeUnchangedNew: options.storeUnchangedNew ?? false,
    rewriteUnchanged: options.rewriteUnchanged ?? false,
    cookieOnEveryResponse: options.cookieOnEveryResponse ?? false,
    strictCookies: options.strictCookies ?? false,
    secureOnLoopback: options.secureOnLoopback ?? true,
    cookieMaxAge,
    dbsc: options.dbsc ?? null,
    warnOnce: onceWarner(logger),
  };
  return {
    manager: options.manager,
    begin: (exchange) => new Lifecycle(shared, exchange),
  };
}

interface Shared {
  manager: LifecycleManager;
  cookieMaxAge: number | null;
  cookie: SessionCookieFormat;
  guard: CsrfGuard | null;
  storeUnchangedNew: boolean;
  rewriteUnchanged: boolean;
  cookieOnEveryResponse: boolean;
  strictCookies: boolean;
  secureOnLoopback: boolean;
  dbsc: Dbsc | null;
  warnOnce: (key: string, message: string) => void;
}

/**
 * A warn function that says each keyed message once per adapter instance (a misconfiguration
 * met on every request is logged once, not per request).
 * @example const warnOnce = onceWarner(console); warnOnce('secure', 'cookie dropped');
 */
export function onceWarner(logger: SessionLogger): (key: string, message: string) => void {
  const said = new Set<string>();
  return (key, message) => {
    if (said.has(key)) return;
    said.add(key);
    logger.warn(message);
  };
}

/**
 * The check adapters share for "this Set-Cookie would be dropped": a `Secure` cookie on a
 * request that did not arrive over HTTPS. Warns once, or throws with `strictCookies`.
 * Answers true when the cookie can be set.
 */
function cookieCanBeSet(shared: Shared, exchange: HttpExchange): boolean {
  if (!shared.cookie.isSecure(exchange) || exchange.isSecure) return true;
  // Browsers treat loopback origins as secure contexts and keep Secure cookies from them.
  if (shared.secureOnLoopback && isLoopbackHost(exchange.header('host'))) return true;
  const message =
    `tessera: the session cookie '${shared.cookie.name}' is Secure but this request arrived over ` +
    'plain HTTP, so browsers would drop it; use cookie.secure "auto", serve over HTTPS, or ' +
    "trust your proxy (Express: app.set('trust proxy', 1)) so it can report HTTPS.";
  if (shared.strictCookies) throw new TesseraError('ERR_CONFIG', message);
  shared.warnOnce('secure-over-http', `${message} The session was not saved.`);
  return false;
}

/** True for `localhost`, `*.localhost`, 127.0.0.0/8 and [::1], with or without a port. */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
  const lower = name.toLowerCase();
  return (
    lower === 'localhost' ||
    lower.endsWith('.localhost') ||
    lower === '[::1]' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(lower)
  );
}

/** Request facts read from the exchange on first use (getters on a class: cheap to make). */
class LazyFacts {
  readonly #exchange: HttpExchange;

  constructor(exchange: HttpExchange) {
    this.#exchange = exchange;
  }

  get ip(): string | undefined {
    return this.#exchange.ip || undefined;
  }

  get userAgent(): string | undefined {
    return this.#exchange.userAgent || undefined;
  }
}

class Lifecycle implements RequestSession {
  readonly exchange: HttpExchange;
  readonly cookieId: string | null;
  #shared: Shared;
  #session: Session | null = null;
  /** What `load` answered: the session (or null) once known, or the promise of it. */
  #loading: Session | null | Promise<Session | null> | undefined = undefined;
  #destroyed = false;
  #touched = false;
  #lifetimeChanged = false;
  #savedNow = false;
  #forceSave = false;
  #cookieSent = false;
  /** The manager's answer for the cookie's session, before the bound-cookie check. */
  #raw: Session | null | Promise<Session | null> | undefined = undefined;
  #bound: BoundCookieState = 'unbound';
  #boundCleared = false;

  constructor(shared: Shared, exchange: HttpExchange) {
    this.#shared = shared;
    this.exchange = exchange;
    this.cookieId = shared.cookie.read(exchange);
  }

  get current(): Session | null {
    return this.#session;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  now(): number {
    // A hand-made manager from before `now()` existed falls back to the system clock.
    const manager = this.#shared.manager as Partial<LifecycleManager>;
    return typeof manager.now === 'function' ? manager.now() : Date.now();
  }

  verifyCsrf(): void {
    const guard = this.#shared.guard;
    if (guard === null || this.cookieId === null) return;
    const method = this.exchange.method.toUpperCase();
    if (UNSAFE_CHECK_SKIPPED.has(method)) return;
    const verdict = guard.check(new ExchangeCsrfRequest(this.exchange, method));
    if (!verdict.ok) {
      throw new TesseraError('ERR_CSRF', `request refused: ${verdict.reason}`);
    }
  }

  /**
   * The same facts, read only if the manager needs them (a signed-in session's risk check):
   * working out the client address behind proxies is not free, and most loads never ask.
   */
  #lazyFacts(): LazyFacts {
    return new LazyFacts(this.exchange);
  }

  #facts(): { ip?: string; userAgent?: string } {
    const facts: { ip?: string; userAgent?: string } = {};
    if (this.exchange.ip) facts.ip = this.exchange.ip;
    if (this.exchange.userAgent) facts.userAgent = this.exchange.userAgent;
    return facts;
  }

  /**
   * The session the cookie names, before the bound-cookie check. Loads once; a value when
   * the manager answered within the call.
   */
  #loadRaw(): Session | null | Promise<Session | null> {
    if (this.#raw === undefined) {
      const id = this.cookieId;
      const manager = this.#shared.manager;
      this.#raw =
        id === null
          ? null
          : manager.loadNow !== undefined
            ? manager.loadNow(id, this.#lazyFacts())
            : manager.load(id, this.#lazyFacts());
    }
    return this.#raw;
  }

  /** `load`, as a value when the session is at hand without waiting. Never throws. */
  #loadNow(): Session | null | Promise<Session | null> {
    if (this.#loading === undefined) {
      const raw = this.#loadRaw();
      if (raw instanceof Promise) {
        this.#loading = raw.then((loaded) => this.#settle(loaded));
      } else {
        try {
          this.#loading = this.#settle(raw);
        } catch (error) {
          this.#loading = Promise.reject(error);
        }
      }
    }
    return this.#loading;
  }

  #settle(loaded: Session | null): Session | null {
    const session = this.#enforceBinding(loaded);
    if (this.#session === null && !this.#destroyed) this.#session = session;
    return session;
  }

  load(): Promise<Session | null> {
    const loading = this.#loadNow();
    return loading instanceof Promise ? loading : Promise.resolve(loading);
  }

  /**
   * A device-bound session counts only with a valid bound cookie: a copied session cookie
   * alone is a request without a session (the browser that holds the key renews the bound
   * cookie at the refresh endpoint first).
   */
  #enforceBinding(session: Session | null): Session | null {
    const dbsc = this.#shared.dbsc;
    if (dbsc === null || session === null) return session;
    this.#bound = dbsc.boundState(session, this.exchange, this.now());
    if (this.#bound === 'invalid') this.#clearBoundCookie();
    return this.#bound === 'unbound' || this.#bound === 'valid' ? session : null;
  }

  /**
   * Deletes a bound cookie the browser should not keep (a stale one, so that the browser
   * refreshes before its next request; or one of a session that just ended), right away: every
   * adapter's response still takes headers at this point.
   */
  #clearBoundCookie(): void {
    const dbsc = this.#shared.dbsc;
    if (dbsc === null || this.#boundCleared || !dbsc.hasCookie(this.exchange)) return;
    this.#boundCleared = true;
    this.exchange.appendSetCookie(dbsc.clearCookie(this.exchange));
  }

  async dbscEndpoint(): Promise<DbscAnswer | null> {
    const dbsc = this.#shared.dbsc;
    const kind = dbsc === null ? null : dbsc.endpointOf(this.exchange);
    if (dbsc === null || kind === null) return null;
    const session = await this.#loadRaw();
    const manager = this.#shared.manager;
    return dbsc.answer(kind, {
      exchange: this.exchange,
      session,
      now: this.now(),
      remainingMs: session === null ? 0 : manager.remainingMs(session),
      save: async (changed) => {
        await manager.commit(changed);
      },
    });
  }

  /** Offers the browser a device-bound session for a session just signed in. */
  async #offerBinding(session: Session): Promise<void> {
    const dbsc = this.#shared.dbsc;
    if (dbsc === null) return;
    // A sign-in is a fresh start: a binding carried over from the session before is not kept.
    if (session.meta.dbsc !== undefined && session.meta.dbsc !== null) {
      session.updateMeta({ dbsc: null });
    }
    if (typeof this.exchange.appendHeader !== 'function') {
      this.#shared.warnOnce(
        'dbsc-no-header',
        'tessera: dbsc is on but this adapter cannot add response headers; no session is offered binding',
      );
      return;
    }
    const header = await dbsc.registrationHeader(session.handle, this.now());
    this.exchange.appendHeader('secure-session-registration', header);
  }

  /** The request's session as it stands: null once destroyed, else the loaded one. */
  async #live(): Promise<Session | null> {
    if (this.#destroyed) return null;
    return this.#session ?? (await this.#loadNow());
  }

  async session(): Promise<Session> {
    await this.#loadNow();
    return this.#orDraft();
  }

  sessionNow(): Session | Promise<Session> {
    const loading = this.#loadNow();
    if (loading instanceof Promise) return loading.then(() => this.#orDraft());
    try {
      return this.#orDraft();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The loaded session, or a new unsaved one in its place. */
  #orDraft(): Session {
    if (this.#session === null) {
      this.#session = this.#shared.manager.draft({ ...this.#facts(), exchange: this.exchange });
      this.#destroyed = false;
    }
    return this.#session;
  }

  #cookieMaxAge(session: Session): number | null {
    const own = session.meta.cookieMaxAge;
    if (typeof own === 'number') return own;
    return own === null ? null : this.#shared.cookieMaxAge;
  }

  setCookieLifetime(maxAgeSeconds: number | null): void {
    const session = this.#session;
    if (session === null) return;
    if (this.#cookieMaxAge(session) === maxAgeSeconds) return;
    session.updateMeta({ cookieMaxAge: maxAgeSeconds, persistent: maxAgeSeconds !== null });
    this.#lifetimeChanged = true;
  }

  touch(): void {
    this.#touched = true;
  }

  async save(): Promise<void> {
    const session = await this.session();
    if (session.isNew && !cookieCanBeSet(this.#shared, this.exchange)) return;
    await this.#shared.manager.commit(session);
    this.#savedNow = true;
  }

  async reload(): Promise<boolean> {
    const session = this.#session;
    if (session === null || session.isNew) return false;
    return this.#shared.manager.reload(session);
  }

  async regenerate(options: { fresh?: boolean } = {}): Promise<Session> {
    const previous = await this.#live();
    const manager = this.#shared.manager;
    let next: Session;
    if (options.fresh || previous === null || previous.isNew) {
      if (previous !== null && !previous.isNew) await manager.destroy(previous);
      next = manager.draft({ ...this.#facts(), exchange: this.exchange });
      // express-session stores a regenerated session even when nothing is set on it.
      this.#forceSave = options.fresh === true;
    } else {
      next = await manager.regenerate(previous);
    }
    this.#session = next;
    this.#destroyed = false;
    return next;
  }

  async login(userId: string, options: RequestLoginOptions = {}): Promise<Session> {
    const previous = await this.#live();
    const loginOptions: LoginOptions = { ...this.#facts() };
    if (options.remember) loginOptions.remember = true;
    if (options.level !== undefined) loginOptions.level = options.level;
    if (options.methods !== undefined) loginOptions.methods = options.methods;
    const next = await this.#shared.manager.login(previous, userId, loginOptions);
    this.#session = next;
    this.#destroyed = false;
    await this.#offerBinding(next);
    if (options.remember) {
      const seconds =
        options.rememberSeconds ?? Math.floor(this.#shared.manager.remainingMs(next) / 1000);
      next.updateMeta({ cookieMaxAge: seconds, persistent: true });
      this.#lifetimeChanged = true;
    }
    return next;
  }

  async stepUp(options: StepUpOptions): Promise<Session> {
    const manager = this.#shared.manager;
    if (typeof manager.stepUp !== 'function') {
      throw new TesseraError(
        'ERR_CONFIG',
        'stepUp needs a Tessera store (user index and handles); this session manager has none',
      );
    }
    const previous = await this.#live();
    if (previous === null || previous.userId === null || previous.isNew) {
      throw new TesseraError(
        'ERR_INVALID_ARGUMENT',
        'stepUp needs a signed-in session; sign in first',
      );
    }
    const next = await manager.stepUp(previous, options);
    this.#session = next;
    this.#destroyed = false;
    return next;
  }

  async destroy(): Promise<void> {
    const session = await this.#live();
    if (session !== null && !session.isNew) await this.#shared.manager.destroy(session);
    this.#session = null;
    this.#destroyed = true;
    this.#clearBoundCookie();
  }

  detach(): void {
    this.#session = null;
  }

  async sessions(): Promise<RequestSessionInfo[]> {
    const session = await this.#live();
    if (session === null || session.userId === null) return [];
    const list = await this.#shared.manager.listUserSessions(session.userId);
    return list.map((info) => ({ ...info, current: info.handle === session.handle }));
  }

  async revoke(handle: string): Promise<boolean> {
    const session = await this.#live();
    if (session === null || session.userId === null) return false;
    const revoked = await this.#shared.manager.revoke(handle, { userId: session.userId });
    if (revoked && handle === session.handle) {
      this.#session = null;
      this.#destroyed = true;
      this.#clearBoundCookie();
    }
    return revoked;
  }

  async signOutEverywhere(options: { keepCurrent?: boolean } = {}): Promise<number> {
    const session = await this.#live();
    if (session === null || session.userId === null) return 0;
    const manager = this.#shared.manager;
    if (options.keepCurrent) return manager.revokeUserSessions(session.userId, { except: session });
    const count = await manager.revokeUserSessions(session.userId);
    this.#session = null;
    this.#destroyed = true;
    this.#clearBoundCookie();
    return count;
  }

  #decide(session: Session): CommitDecision {
    const shared = this.#shared;
    return decideCommit({
      idChanged: session.id !== this.cookieId,
      isNew: session.isNew,
      modified: session.isDirty || this.#lifetimeChanged || this.#savedNow || this.#forceSave,
      persistent: this.#cookieMaxAge(session) !== null,
      touched: this.#touched || this.#lifetimeChanged,
      storeUnchangedNew: shared.storeUnchangedNew,
      rewriteUnchanged: shared.rewriteUnchanged,
      cookieOnEveryResponse: shared.cookieOnEveryResponse,
    });
  }

  flushCookie(): void {
    if (this.#cookieSent) return;
    this.#cookieSent = true;
    const { cookie } = this.#shared;
    const session = this.#session;
    if (session === null) {
      if (this.#destroyed && this.cookieId !== null) {
        this.exchange.appendSetCookie(cookie.clear(this.exchange));
      }
      return;
    }
    if (this.#decide(session).setCookie && cookieCanBeSet(this.#shared, this.exchange)) {
      this.exchange.appendSetCookie(
        cookie.serialize(session.id, this.exchange, this.#lifetime(session)),
      );
    }
  }

  commit(): Promise<void> | undefined {
    const shared = this.#shared;
    const exchange = this.exchange;
    const cookieSent = this.#cookieSent;
    this.#cookieSent = true;
    const session = this.#session;
    if (session === null) {
      // Destroyed (or revoked) during this request: the browser forgets the cookie too.
      if (this.#destroyed && this.cookieId !== null && !cookieSent) {
        exchange.appendSetCookie(shared.cookie.clear(exchange));
      }
      return undefined;
    }
    const decision = this.#decide(session);
    let settable: boolean;
    try {
      settable = !decision.setCookie || cookieCanBeSet(shared, exchange);
    } catch (error) {
      return Promise.reject(error);
    }
    // A session nobody can come back to is not stored (no orphan records).
    if (!settable) return undefined;
    if (!decision.save && !decision.touch) {
      // Nothing to write (the common read-only request): answer synchronously, so the
      // response is not held back by a promise that does nothing.
      this.#sendCookie(session, decision, cookieSent);
      return undefined;
    }
    return this.#write(session, decision, cookieSent);
  }

  /**
   * The store writes of a commit. On a store that answers within the call, a stored
   * session's patch (or touch) is done here and now, and the answer is undefined: nothing
   * left to wait for. Anything else continues in {@link #writeAsync}. Never throws.
   */
  #write(
    session: Session,
    decision: CommitDecision,
    cookieSent: boolean,
  ): Promise<void> | undefined {
    const manager = this.#shared.manager;
    const now = decision.save ? manager.commitNow : manager.touchNow;
    if (now === undefined) return this.#writeAsync(session, decision, cookieSent, undefined);
    const first = now.call(manager, session);
    // An unchanged session may still need a touch (resave, req.session.touch()): the long way.
    if (first instanceof Promise || (decision.save && first === false)) {
      return this.#writeAsync(session, decision, cookieSent, first);
    }
    try {
      this.#sendCookie(session, decision, cookieSent);
    } catch (error) {
      return Promise.reject(error);
    }
    return undefined;
  }

  async #writeAsync(
    session: Session,
    decision: CommitDecision,
    cookieSent: boolean,
    first: boolean | Promise<boolean> | undefined,
  ): Promise<void> {
    const shared = this.#shared;
    try {
      if (decision.save) {
        const wrote = await (first ?? shared.manager.commit(session));
        if (!wrote && !session.isNew && (shared.rewriteUnchanged || this.#touched)) {
          await shared.manager.touch(session);
        }
      } else {
        await (first ?? shared.manager.touch(session));
      }
    } catch (error) {
      // Revoked or expired while the request ran: its changes have nowhere to go, and the
      // browser should forget the cookie rather than sign in with a dead ID.
      if (!isTesseraError(error, 'ERR_SESSION_NOT_FOUND')) throw error;
      this.#session = null;
      this.#destroyed = true;
      if (this.cookieId !== null && !cookieSent) {
        this.exchange.appendSetCookie(shared.cookie.clear(this.exchange));
      }
      return;
    }
    this.#sendCookie(session, decision, cookieSent);
  }

  #sendCookie(session: Session, decision: CommitDecision, cookieSent: boolean): void {
    if (decision.setCookie && !cookieSent) {
      this.exchange.appendSetCookie(
        this.#shared.cookie.serialize(session.id, this.exchange, this.#lifetime(session)),
      );
    }
  }

  #lifetime(session: Session): CookieLifetime {
    const configured = this.#cookieMaxAge(session);
    if (configured === null || configured <= 0) return {};
    const remaining = Math.floor(this.#shared.manager.remainingMs(session) / 1000);
    return { maxAgeSeconds: Math.max(1, Math.min(configured, remaining)) };
  }
}

/**
 * A {@link SessionCookieFormat} over Tessera's cookie codec (prefixes, signing, secure
 * defaults): what the Fastify and fetch adapters use.
 * @example createRequestSessions({ manager, cookie: codecCookieFormat(createCookieCodec()) });
 */
export function codecCookieFormat(codec: CookieCodec): SessionCookieFormat {
  return {
    name: codec.name,
    read: (exchange) => codec.read(exchange.header('cookie'), exchange),
    serialize: (id, exchange, lifetime) =>
      lifetime.maxAgeSeconds === undefined
        ? codec.serialize(id, exchange)
        : codec.serialize(id, {
            isSecure: exchange.isSecure,
            persistentMaxAgeSeconds: lifetime.maxAgeSeconds,
          }),
    clear: (exchange) => codec.clear(exchange),
    isSecure: (exchange) => codec.isSecure(exchange),
  };
}

// The error → status table lives in status.ts; re-exported here for existing imports.
export { httpStatusOf, withHttpStatus } from './status.js';
