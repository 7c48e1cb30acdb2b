/**
 * DPoP (RFC 9449) at the token endpoints: the `DPoP` header of `POST /api/token` and
 * `POST /api/token/refresh`, verified by the library (signature, `htm`/`htu`, `iat`, the
 * `jti` replay cache, the nonce when TESSERA_DPOP_NONCE is on). A valid proof binds the
 * issued tokens to its key; a bad one is a 400 with the RFC's error names
 * (`invalid_dpop_proof`, `use_dpop_nonce` with a fresh `DPoP-Nonce`), and with
 * TESSERA_REQUIRE_DPOP a request without one is refused before anything is issued.
 */
import type { Request, Response } from 'express';
import { httpStatusOf, isTesseraError } from 'tessera-session';
import type { DpopProof } from 'tessera-session/tokens';
import type { AppDeps } from '../context.js';
import { ApiError } from '../errors.js';

/** The URL clients called: TESSERA_ORIGIN when set, else what Express saw. */
export function requestTarget(req: Request, origin: string | undefined): string {
  return `${origin ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`}${req.originalUrl}`;
}

/**
 * The request's verified proof, or null when it sent none (and DPoP is not required).
 * @example const proof = await readTokenProof(req, deps); // proof?.jkt binds the tokens
 */
export async function readTokenProof(
  req: Request,
  deps: Pick<AppDeps, 'dpop' | 'config'>,
): Promise<DpopProof | null> {
  const header = req.headers.dpop;
  if (header === undefined || header === '') {
    if (deps.config.requireDpop) {
      throw new ApiError(400, 'invalid_dpop_proof', 'this service requires a DPoP proof');
    }
    return null;
  }
  // Two headers arrive joined by a comma, which a JWS never holds: one proof per request.
  if (Array.isArray(header) || header.includes(',')) {
    throw new ApiError(400, 'invalid_dpop_proof', 'send exactly one DPoP proof');
  }
  try {
    return await deps.dpop.verify(header, {
      method: req.method,
      url: requestTarget(req, deps.config.origin),
    });
  } catch (error) {
    if (!isTesseraError(error) || httpStatusOf(error) !== 401) throw error;
    if (error.code === 'ERR_DPOP_NONCE') {
      throw new ApiError(400, 'use_dpop_nonce', 'the DPoP proof must carry the server nonce', {
        'DPoP-Nonce': deps.dpop.nonce() ?? '',
      });
    }
    throw new ApiError(400, 'invalid_dpop_proof', error.message);
  }
}

/** Sends a fresh `DPoP-Nonce` on a token response when nonces are on (RFC 9449 §8.2). */
export function sendNonce(res: Response, deps: Pick<AppDeps, 'dpop'>): void {
  const nonce = deps.dpop.nonce();
  if (nonce !== null) res.setHeader('DPoP-Nonce', nonce);
}
