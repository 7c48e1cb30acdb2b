/**
 * A scripted DPoP client for tests: node:crypto keys and RFC 9449 proofs built by hand
 * (independent of the library's verifier), with hooks to break any part of a proof.
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';

export type ProofAlg = 'ES256' | 'EdDSA' | 'RS256' | 'PS256';

export interface ProofKey {
  alg: ProofAlg;
  privateKey: KeyObject;
  /** The public JWK as sent in the header. */
  jwk: Record<string, string>;
}

/** A fresh client key. */
export function newProofKey(alg: ProofAlg = 'ES256'): ProofKey {
  const pair =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : alg === 'EdDSA'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const full = pair.publicKey.export({ format: 'jwk' }) as Record<string, string>;
  return { alg, privateKey: pair.privateKey, jwk: full };
}

/** base64url of the SHA-256 of an access token (`ath`). */
export function athOf(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export interface ProofParts {
  method: string;
  url: string;
  accessToken?: string;
  nonce?: string;
  /** Seconds since the epoch. */
  iat?: number;
  jti?: string;
  /** Replaces or adds header members (`undefined` removes one). */
  header?: Record<string, unknown>;
  /** Replaces or adds claims (`undefined` removes one). */
  claims?: Record<string, unknown>;
}

function merge(base: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const out = { ...base };
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete out[name];
    else out[name] = value;
  }
  return out;
}

/** A signed proof for one request. */
export function makeProof(key: ProofKey, parts: ProofParts): string {
  const header = merge({ typ: 'dpop+jwt', alg: key.alg, jwk: key.jwk }, parts.header);
  const htu = parts.url.replace(/[?#].*$/, '');
  const claims = merge(
    {
      jti: parts.jti ?? randomBytes(12).toString('base64url'),
      htm: parts.method,
      htu,
      iat: parts.iat ?? Math.floor(Date.now() / 1000),
      ...(parts.accessToken === undefined ? {} : { ath: athOf(parts.accessToken) }),
      ...(parts.nonce === undefined ? {} : { nonce: parts.nonce }),
    },
    parts.claims,
  );
  const input = `${b64(header)}.${b64(claims)}`;
  const data = Buffer.from(input);
  const signature =
    key.alg === 'ES256'
      ? sign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
      : key.alg === 'EdDSA'
        ? sign(null, data, key.privateKey)
        : key.alg === 'PS256'
          ? sign('sha256', data, { key: key.privateKey, padding: 6, saltLength: 32 })
          : sign('sha256', data, key.privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

/** RFC 9449 §4.1 (Figure 2) and §7.1 (Figure 13) example proofs, the key's thumbprint and the token. */
export const RFC9449 = {
  jwk: {
    kty: 'EC',
    x: 'l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs',
    y: '9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA',
    crv: 'P-256',
  },
  jkt: '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I',
  tokenProof:
    'eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg',
  tokenUrl: 'https://server.example.com/token',
  tokenIat: 1562262616,
  resourceProof:
    'eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0ZWRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA',
  resourceUrl: 'https://resource.example.org/protectedresource',
  resourceIat: 1562262618,
  accessToken: 'Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU',
  ath: 'fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo',
} as const;
