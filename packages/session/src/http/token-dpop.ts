/**
 * The DPoP half of the token guard (RFC 9449 §7): reading `Authorization: DPoP <token>`,
 * the `WWW-Authenticate` challenges for both schemes, the URL a proof's `htu` is checked
 * against, and checking a bound token's proof. Kept apart from `token-guard.ts` so the
 * Bearer path reads as before.
 */
import { timingSafeEqual } from 'node:crypto';
import { isTesseraError, TesseraError, type TesseraErrorCode } from '../shared/errors.js';
import type { AccessTokenClaims, DpopProof, DpopVerifier } from '../tokens/index.js';
import { httpStatusOf } from './status.js';

/** `Authorization` with a token68 credential, Bearer (RFC 6750) or DPoP (RFC 9449 §7.1). */
const AUTHORIZATION = /^(Bearer|DPoP) +([A-Za-z0-9._~+/-]+=*) *$/i;

/** The scheme and credential of an `Authorization` header (null: another scheme or syntax). */
export function parseAuthorization(
  header: string,
): { scheme: 'bearer' | 'dpop'; token: string } | null {
  const match = AUTHORIZATION.exec(header);
  if (match === null) return null;
  return { scheme: match[1]!.toLowerCase() === 'dpop' ? 'dpop' : 'bearer', token: match[2]! };
}

/** The thumbprint a token is bound to (`cnf.jkt`), or null for a bearer token. */
export function boundKey(claims: AccessTokenClaims): string | null {
  const jkt = claims.cnf?.jkt;
  return typeof jkt === 'string' ? jkt : null;
}

/** Builds the `WWW-Authenticate` value: a challenge per accepted scheme, parameters on one. */
export function challenges(input: {
  realm: string;
  bearer: boolean;
  dpop: DpopVerifier | undefined;
  /** The scheme the error parameters go on. */
  errorScheme: 'bearer' | 'dpop';
  /** `error="…", error_description="…"`, or '' for a bare challenge. */
  params: string;
}): string {
  const { realm, params } = input;
  const list: string[] = [];
  if (input.bearer) {
    const own = input.errorScheme === 'bearer' ? params : '';
    list.push(`Bearer${trim(`${realm}${own}`)}`);
  }
  if (input.dpop) {
    const own = input.errorScheme === 'dpop' ? params : '';
    list.push(`DPoP ${realm}${own ? `${own}, ` : ''}algs="${input.dpop.algs.join(' ')}"`);
  }
  return list.join(', ');
}

function trim(params: string): string {
  const text = params.replace(/, $/, '');
  return text === '' ? '' : ` ${text}`;
}

/**
 * The URL a proof's `htu` must name: the adapter's request URL, with its origin replaced by
 * `publicOrigin` when one is configured (a proxy in front, or a Host header not to trust).
 */
export function proofTargetUrl(
  requestUrl: string | undefined,
  publicOrigin: string | undefined,
): string {
  if (requestUrl === undefined) {
    throw new TesseraError(
      'ERR_CONFIG',
      'token guard: DPoP needs the request URL; the adapter gave none (pass url/targetUrl in TokenRequest)',
    );
  }
  if (publicOrigin === undefined) return requestUrl;
  const parsed = new URL(requestUrl, publicOrigin);
  return `${publicOrigin}${parsed.pathname}`;
}

/** Checks `publicOrigin` at construction: an http(s) origin, nothing after the host. */
export function checkPublicOrigin(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  let parsed: URL | null = null;
  try {
    parsed = typeof value === 'string' ? new URL(value) : null;
  } catch {
    parsed = null;
  }
  if (
    parsed === null ||
    (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') ||
    parsed.origin !== String(value).replace(/\/$/, '')
  ) {
    throw new TesseraError(
      'ERR_CONFIG',
      'token guard: publicOrigin must be an origin such as "https://api.example.com" (no path)',
    );
  }
  return parsed.origin;
}

/** What checking a bound token's proof came to. */
export type ProofOutcome =
  | { ok: true; proof: DpopProof }
  | { ok: false; kind: 'proof' | 'nonce' | 'binding' | 'unavailable'; code?: TesseraErrorCode };

/**
 * Verifies the `DPoP` header sent with a bound token and that its key is the token's. One
 * proof header only (two arrive joined by a comma, which a JWS never holds).
 */
export async function checkBoundProof(input: {
  dpop: DpopVerifier;
  header: string | undefined;
  token: string;
  jkt: string;
  method: string;
  url: string;
}): Promise<ProofOutcome> {
  const { header } = input;
  if (header === undefined || header === '' || header.includes(',')) {
    return { ok: false, kind: 'proof', code: 'ERR_DPOP_PROOF' };
  }
  let proof: DpopProof;
  try {
    proof = await input.dpop.verify(header.trim(), {
      method: input.method,
      url: input.url,
      accessToken: input.token,
    });
  } catch (error) {
    if (httpStatusOf(error) === 503 || !isTesseraError(error)) {
      return { ok: false, kind: 'unavailable' };
    }
    if (error.code === 'ERR_DPOP_NONCE') return { ok: false, kind: 'nonce', code: error.code };
    if (error.code === 'ERR_CONFIG' || error.code === 'ERR_INVALID_ARGUMENT') throw error;
    return { ok: false, kind: 'proof', code: error.code };
  }
  const a = Buffer.from(proof.jkt);
  const b = Buffer.from(input.jkt);
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    return { ok: false, kind: 'binding', code: 'ERR_DPOP_BINDING' };
  }
  return { ok: true, proof };
}
