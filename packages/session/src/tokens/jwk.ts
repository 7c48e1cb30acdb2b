/**
 * Tessera's own JSON Web Key types (RFC 7517), so the published declarations need no JOSE
 * library. They are structural and member-for-member compatible with jose's `JWK` and
 * `JSONWebKeySet`: a key made by jose is accepted here, and one made by `generateKey()` can be
 * handed to jose.
 */

/**
 * A JSON Web Key: every member optional, as in RFC 7517; Tessera checks at construction the
 * members its `kty`/`alg` needs.
 * @example const jwk: JWK = { kty: 'OKP', crv: 'Ed25519', x, d, kid: 'k1', alg: 'EdDSA' };
 */
export interface JWK {
  kty?: string;
  alg?: string;
  kid?: string;
  use?: string;
  key_ops?: string[];
  ext?: boolean;
  x5c?: string[];
  x5t?: string;
  'x5t#S256'?: string;
  x5u?: string;
  crv?: string;
  d?: string;
  dp?: string;
  dq?: string;
  e?: string;
  k?: string;
  n?: string;
  p?: string;
  q?: string;
  qi?: string;
  x?: string;
  y?: string;
  pub?: string;
  priv?: string;
  oth?: Array<{ d?: string; r?: string; t?: string }>;
}

/**
 * A JWK Set (RFC 7517 §5), what `/.well-known/jwks.json` serves.
 * @example res.json(tokens.jwks() satisfies JSONWebKeySet);
 */
export interface JSONWebKeySet {
  keys: JWK[];
}
