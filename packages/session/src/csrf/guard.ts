/**
 * Cross-site request forgery guard based on what browsers attest: Fetch Metadata
 * (`Sec-Fetch-Site`) where present, else the `Origin` (or `Referer`) header checked against
 * the app's own origin and an allowlist. Framework neutral; adapters answer a refusal with 403.
 */
import { TesseraError } from '../shared/errors.js';
import { originFromHost, originOfUrl, parseOriginHeader } from './internal/origin.js';

/** The parts of a request the guard reads. */
export interface CsrfRequest {
  /** HTTP method, any case. */
  method: string;
  /** Header lookup by lower-case name. */
  headers: (name: string) => string | undefined;
  /** The app's own origin for this request, when the adapter knows it (e.g. from trusted proxy headers). */
  appOrigin?: string;
  /** The full request URL (fetch adapters); its origin is the app's origin. */
  url?: string;
  /** Whether the request arrived over HTTPS; with the Host header it gives the app's origin. */
  isSecure?: boolean;
}

/** The guard's verdict. */
export type CsrfResult = { ok: true } | { ok: false; reason: string };

/** Options of {@link createCsrfGuard}. */
export interface CsrfGuardOptions {
  /**
   * Other origins allowed to send state-changing requests (e.g. 'https://admin.example.com').
   * The app's own origin is always allowed.
   * @defaultValue []
   */
  allowedOrigins?: string[];
  /**
   * Decide by `Sec-Fetch-Site` when the browser sends it (else by `Origin`/`Referer`).
   * @defaultValue true
   */
  trustFetchMetadata?: boolean;
}

/** A configured guard. */
export interface CsrfGuard {
  check(request: CsrfRequest): CsrfResult;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
// Lower-case host name or IPv4 address with an optional non-default-looking port.
const SIMPLE_HOST = /^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?(?::[1-9][0-9]{0,4})?$/;
const OK: CsrfResult = Object.freeze({ ok: true });

function refuse(reason: string): CsrfResult {
  return { ok: false, reason };
}

function header(request: CsrfRequest, name: string): string | undefined {
  try {
    const value = request.headers(name);
    return typeof value === 'string' ? value.trim() : undefined;
  } catch {
    return undefined;
  }
}

function appOriginOf(request: CsrfRequest): string | null {
  if (typeof request.appOrigin === 'string') return originOfUrl(request.appOrigin);
  if (typeof request.url === 'string') {
    const origin = originOfUrl(request.url);
    if (origin !== null) return origin;
  }
  const host = header(request, 'host');
  return host === undefined ? null : originFromHost(host, request.isSecure === true);
}

/**
 * Creates a CSRF guard. Safe methods (GET, HEAD, OPTIONS) always pass: a route that changes
 * state on GET is the app's bug and no guard can protect it.
 * @example
 * const guard = createCsrfGuard({ allowedOrigins: ['https://admin.example.com'] });
 * const verdict = guard.check({ method: req.method, headers: (n) => req.get(n), isSecure: req.secure });
 * if (!verdict.ok) res.status(403).send(verdict.reason);
 */
export function createCsrfGuard(options: CsrfGuardOptions = {}): CsrfGuard {
  const allowed = new Set<string>();
  for (const entry of options.allowedOrigins ?? []) {
    const origin = typeof entry === 'string' ? parseOriginHeader(entry.replace(/\/$/, '')) : null;
    if (origin === null) {
      throw new TesseraError(
        'ERR_CONFIG',
        `createCsrfGuard: allowedOrigins entry ${JSON.stringify(entry)} is not an origin; ` +
          "write it as scheme://host[:port], e.g. 'https://admin.example.com'.",
      );
    }
    allowed.add(origin);
  }
  const trustFetchMetadata = options.trustFetchMetadata ?? true;
  if (typeof trustFetchMetadata !== 'boolean') {
    throw new TesseraError(
      'ERR_CONFIG',
      'createCsrfGuard: trustFetchMetadata must be true or false.',
    );
  }

  // The common case, a same-origin form or fetch, without URL parsing: an Origin that is
  // byte for byte `scheme://host` of this request (a plain host name or address and port;
  // anything unusual takes the full parse below).
  function isOwnOriginFastPath(originHeader: string, request: CsrfRequest): boolean {
    if (request.appOrigin !== undefined || request.url !== undefined) return false;
    const host = header(request, 'host');
    if (host === undefined || !SIMPLE_HOST.test(host)) return false;
    const scheme = request.isSecure === true ? 'https://' : 'http://';
    return (
      originHeader.length === scheme.length + host.length &&
      originHeader.startsWith(scheme) &&
      originHeader.endsWith(host)
    );
  }

  function isAllowed(origin: string, request: CsrfRequest): boolean {
    return allowed.has(origin) || origin === appOriginOf(request);
  }

  // Origin, else Referer. `absentOk` is for requests the browser attested as user-initiated.
  function checkOrigin(request: CsrfRequest, absentOk: boolean): CsrfResult {
    const originHeader = header(request, 'origin');
    if (originHeader !== undefined) {
      if (originHeader === 'null') return refuse('Origin is null (opaque origin)');
      if (isOwnOriginFastPath(originHeader, request)) return OK;
      const origin = parseOriginHeader(originHeader);
      if (origin === null) return refuse('malformed Origin header');
      return isAllowed(origin, request) ? OK : refuse('cross-origin request (Origin not allowed)');
    }
    const referer = header(request, 'referer');
    if (referer !== undefined && referer !== '') {
      const origin = originOfUrl(referer);
      if (origin === null) return refuse('malformed Referer header');
      return isAllowed(origin, request) ? OK : refuse('cross-origin request (Referer not allowed)');
    }
    return absentOk ? OK : refuse('missing Origin and Referer headers');
  }

  return {
    check(request) {
      const method = typeof request.method === 'string' ? request.method.toUpperCase() : '';
      if (SAFE_METHODS.has(method)) return OK;
      if (trustFetchMetadata) {
        const site = header(request, 'sec-fetch-site')?.toLowerCase();
        if (site !== undefined) {
          switch (site) {
            case 'same-origin':
              return OK;
            case 'cross-site':
              return refuse('cross-site request (Sec-Fetch-Site)');
            case 'same-site': {
              const result = checkOrigin(request, false);
              return result.ok
                ? OK
                : refuse('same-site request from an origin that is not allowed');
            }
            case 'none':
              // The browser attests the user started it (address bar, bookmark); an Origin
              // that is present must still be allowed.
              return checkOrigin(request, true);
            default:
              return refuse('unrecognised Sec-Fetch-Site header');
          }
        }
      }
      return checkOrigin(request, false);
    },
  };
}
