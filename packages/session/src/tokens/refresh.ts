/**
 * Rotating refresh tokens with reuse detection (the `hybrid` strategy's long-lived half).
 *
 * A refresh token is 32 random bytes, base64url; the store only ever sees its SHA-256. Each
 * token belongs to one session record, its *family*. Rotating spends the token and answers
 * its successor; the session's idle expiry slides, its absolute expiry never moves. Using a
 * spent token again after the grace window is treated as theft: the whole family (the
 * session record and every refresh entry) is revoked and a `refresh_reuse` event emitted.
 *
 * Concurrency: the spend is one atomic `kvSet(…, { ifAbsent: true })` on the spent token's
 * hash, so of any number of concurrent rotations exactly one creates a successor. The claim
 * carries that successor sealed under a key derived from the spent token, so the others —
 * and any retry within the grace window — get the very same successor back, and the family
 * never has more than one unspent member.
 *
 * Sender-constrained families (RFC 9449 §5): issued with a DPoP key thumbprint, every member
 * carries it, and rotating needs a proof by that key. A bound token presented with another
 * key, or with none, is treated like reuse: whoever holds it is not the client it was issued
 * to, so the family is revoked.
 */
import { TesseraError } from '../shared/errors.js';
import type { SessionRecord, Store } from '../stores/store.js';
import {
  generateFamilyId,
  generateRefreshToken,
  hashRefreshToken,
  isRefreshTokenShape,
  openSuccessor,
  sameDigest,
  sealSuccessor,
} from './internal/refresh-crypto.js';
import {
  type MemberEntry,
  NS_FAMILY,
  NS_MEMBER,
  NS_RETRY,
  NS_SPENT,
  readFamily,
  readMember,
  readSpent,
  type SpentEntry,
} from './internal/refresh-entries.js';

const DEFAULT_IDLE_TTL = 1800;
const DEFAULT_GRACE = 10;
const MAX_GRACE = 60;
/**
 * Most times one spent token is answered again (with the same successor) within the grace
 * window, concurrent rotations included. An honest client retries a lost response once or
 * twice; further uses within the window are refused (`ERR_REFRESH_INVALID`) without signing
 * anyone out, and any use after the window is reuse (the family is revoked).
 */
export const MAX_GRACE_RETRIES = 3;
// A family rotates at most once per access-token lifetime; this bounds clean-up of a chain
// whose entries were tampered into a loop.
const MAX_CHAIN = 100_000;

/** Facts about refresh-token activity; never a raw token. */
export type RefreshEvent =
  | (RefreshEventBase & { type: 'refresh_issued'; generation: number })
  | (RefreshEventBase & { type: 'refresh_rotated'; generation: number })
  | (RefreshEventBase & { type: 'refresh_retried'; generation: number })
  | (RefreshEventBase & { type: 'refresh_reuse'; generation: number })
  | (Omit<RefreshEventBase, 'handle'> & {
      type: 'refresh_family_revoked';
      handle: string | null;
      reason: 'reuse' | 'revoke';
    });

export interface RefreshEventBase {
  /** Store key of the session (the SHA-256 of its ID, never the ID itself). */
  sessionKey: string;
  /** Public handle of the session (safe to log and show). */
  handle: string;
  userId: string | null;
  /** Milliseconds since the epoch. */
  at: number;
}

export interface RefreshTokensOptions {
  /** Where families and refresh entries live: any Tessera Store. */
  store: Store;
  /**
   * Inactivity in seconds after which a family (its session) ends.
   * @defaultValue 1800 (30 minutes)
   */
  idleTtl?: number;
  /**
   * Seconds during which a just-spent token still answers its (same) successor, for retried
   * requests: at most `MAX_GRACE_RETRIES` (3) times, further uses are refused. At most 60;
   * 0 turns retries off.
   * @defaultValue 10 (seconds)
   */
  grace?: number;
  /**
   * Clock in milliseconds since the epoch.
   * @defaultValue Date.now
   */
  now?: () => number;
  /**
   * Called synchronously for each event; a throwing listener is ignored.
   * @defaultValue none
   */
  onEvent?: (event: RefreshEvent) => void;
}

export interface RefreshRotation {
  /** The successor: hand it to the client in place of the spent token. */
  token: string;
  /** Store key of the family's session record. */
  sessionKey: string;
  /** The session record after its idle expiry slid. */
  record: SessionRecord;
  /** How many rotations precede `token` in its family (the issued token is 0). */
  generation: number;
  /** The DPoP key thumbprint the family is bound to, when it is bound. */
  jkt?: string;
}

/** The DPoP binding of a refresh family, at issue and at every rotation. */
export interface RefreshBinding {
  /**
   * RFC 7638 thumbprint of the client's DPoP key (`proof.jkt` from a verified proof).
   * @defaultValue none: an unbound family (and, at rotation, no proof presented)
   */
  jkt?: string;
}

export interface RefreshTokens {
  /**
   * Starts (or restarts) the family of session `sessionKey` and answers its first token;
   * with `binding.jkt` the family is bound to that DPoP key.
   */
  issue(sessionKey: string, binding?: RefreshBinding): Promise<string>;
  /**
   * Spends `token` and answers its successor; throws `ERR_REFRESH_INVALID`/`_REUSED`. A bound
   * token needs `binding.jkt` equal to its key: otherwise `ERR_REFRESH_REUSED` and the family
   * is revoked.
   */
  rotate(token: string, binding?: RefreshBinding): Promise<RefreshRotation>;
  /** Ends the family: deletes the session record and every refresh entry. */
  revokeFamily(sessionKey: string): Promise<boolean>;
}

function invalid(): TesseraError {
  return new TesseraError(
    'ERR_REFRESH_INVALID',
    'refresh token is unknown, expired or revoked; sign in again to get a new one',
  );
}

function bindingKey(binding: RefreshBinding | undefined, method: string): string | undefined {
  if (binding === undefined || binding.jkt === undefined) return undefined;
  if (typeof binding.jkt !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(binding.jkt)) {
    throw new TesseraError(
      'ERR_INVALID_ARGUMENT',
      `refresh.${method}: binding.jkt must be a SHA-256 JWK thumbprint (proof.jkt)`,
    );
  }
  return binding.jkt;
}

function seconds(name: string, value: unknown, fallback: number, min: number, max: number) {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new TesseraError(
      'ERR_CONFIG',
      `createRefreshTokens: \`${name}\` must be a number of seconds from ${min} to ${max}`,
    );
  }
  return value;
}

/**
 * Creates the refresh-token service over a store.
 * @example
 * const refresh = createRefreshTokens({ store, idleTtl: 1800, grace: 10 });
 * const token = await refresh.issue(record.key);          // at sign-in
 * const { token: next, record } = await refresh.rotate(token); // at POST /api/token/refresh
 */
export function createRefreshTokens(options: RefreshTokensOptions): RefreshTokens {
  const store = options?.store;
  if (
    !store ||
    typeof store.kvGet !== 'function' ||
    typeof store.kvSet !== 'function' ||
    typeof store.kvDelete !== 'function' ||
    typeof store.get !== 'function' ||
    typeof store.touch !== 'function' ||
    typeof store.delete !== 'function'
  ) {
    throw new TesseraError(
      'ERR_CONFIG',
      'createRefreshTokens: `store` must be a Tessera Store (for example createMemoryStore())',
    );
  }
  const idleMs = seconds('idleTtl', options.idleTtl, DEFAULT_IDLE_TTL, 1, 31_536_000) * 1000;
  const graceMs = seconds('grace', options.grace, DEFAULT_GRACE, 0, MAX_GRACE) * 1000;
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') {
    throw new TesseraError('ERR_CONFIG', 'createRefreshTokens: `now` must be a function');
  }
  const onEvent = options.onEvent;

  function emit(event: RefreshEvent): void {
    if (!onEvent) return;
    try {
      onEvent(event);
    } catch {
      // A failing listener must not turn a token operation into a failure.
    }
  }

  async function deleteChain(root: string): Promise<void> {
    let hash: string | null = root;
    for (let step = 0; hash !== null && step < MAX_CHAIN; step++) {
      const spent: SpentEntry | null = readSpent(await store.kvGet(NS_SPENT, hash));
      await store.kvDelete(NS_MEMBER, hash);
      if (spent) await store.kvDelete(NS_SPENT, hash);
      hash = spent ? spent.nh : null;
    }
  }

  async function endFamily(
    sessionKey: string,
    reason: 'reuse' | 'revoke',
    known: SessionRecord | null,
  ): Promise<boolean> {
    const record = known ?? (await store.get(sessionKey));
    const family = readFamily(await store.kvGet(NS_FAMILY, sessionKey));
    // Removing the family entry first invalidates every member at once, even if the
    // clean-up below is interrupted.
    if (family) await store.kvDelete(NS_FAMILY, sessionKey);
    const deleted = await store.delete(sessionKey);
    if (family) await deleteChain(family.root);
    if (record || family) {
      emit({
        type: 'refresh_family_revoked',
        sessionKey,
        handle: record?.handle ?? null,
        userId: record?.userId ?? null,
        reason,
        at: now(),
      });
    }
    return deleted || family !== null;
  }

  async function issue(sessionKey: string, binding?: RefreshBinding): Promise<string> {
    const jkt = bindingKey(binding, 'issue');
    if (typeof sessionKey !== 'string' || sessionKey.length === 0 || sessionKey.length > 512) {
      throw new TesseraError(
        'ERR_INVALID_ARGUMENT',
        'refresh.issue: `sessionKey` must be the `key` of a stored session record',
      );
    }
    const record = await store.get(sessionKey);
    const at = now();
    if (!record || record.expiresAt <= at) {
      throw new TesseraError(
        'ERR_SESSION_NOT_FOUND',
        'refresh.issue: no live session under `sessionKey`; create the session first',
      );
    }
    const previous = readFamily(await store.kvGet(NS_FAMILY, sessionKey));
    const token = generateRefreshToken();
    const hash = hashRefreshToken(token);
    const fid = generateFamilyId();
    const member: MemberEntry =
      jkt === undefined ? { s: sessionKey, f: fid, g: 0 } : { s: sessionKey, f: fid, g: 0, k: jkt };
    await store.kvSet(NS_MEMBER, hash, member, record.absoluteExpiresAt);
    // The new family id invalidates any earlier member of this session in the same write.
    await store.kvSet(NS_FAMILY, sessionKey, { fid, root: hash }, record.absoluteExpiresAt);
    if (previous) await deleteChain(previous.root);
    emit({
      type: 'refresh_issued',
      sessionKey,
      handle: record.handle,
      userId: record.userId,
      generation: 0,
      at,
    });
    return token;
  }

  async function deliver(
    successor: string,
    successorHash: string,
    member: MemberEntry,
    record: SessionRecord,
    at: number,
  ): Promise<RefreshRotation> {
    const next: MemberEntry = { s: member.s, f: member.f, g: member.g + 1 };
    if (member.k !== undefined) next.k = member.k;
    // Idempotent: the winner and any retry write the same entry; whoever comes first makes
    // the successor usable, so a crash between claim and this write loses nothing.
    await store.kvSet(NS_MEMBER, successorHash, next, record.absoluteExpiresAt, {
      ifAbsent: true,
    });
    const expiresAt = Math.min(at + idleMs, record.absoluteExpiresAt);
    if (!(await store.touch(record.key, at, expiresAt))) throw invalid();
    const rotation: RefreshRotation = {
      token: successor,
      sessionKey: record.key,
      record: { ...record, lastSeenAt: at, expiresAt },
      generation: next.g,
    };
    if (next.k !== undefined) rotation.jkt = next.k;
    return rotation;
  }

  /** Takes one of the spent token's few retries (atomically); false once all are taken. */
  async function claimRetry(hash: string, at: number): Promise<boolean> {
    for (let n = 0; n < MAX_GRACE_RETRIES; n++) {
      if (await store.kvSet(NS_RETRY, `${hash}.${n}`, at, at + graceMs, { ifAbsent: true })) {
        return true;
      }
    }
    return false;
  }

  async function reuse(member: MemberEntry, record: SessionRecord, at: number): Promise<never> {
    emit({
      type: 'refresh_reuse',
      sessionKey: record.key,
      handle: record.handle,
      userId: record.userId,
      generation: member.g,
      at,
    });
    await endFamily(record.key, 'reuse', record);
    throw new TesseraError(
      'ERR_REFRESH_REUSED',
      'refresh token was already used; the session has been revoked, sign in again',
    );
  }

  async function rotate(token: string, binding?: RefreshBinding): Promise<RefreshRotation> {
    const jkt = bindingKey(binding, 'rotate');
    // Syntax first: garbage never reaches the store.
    if (!isRefreshTokenShape(token)) throw invalid();
    const hash = hashRefreshToken(token);
    const member = readMember(await store.kvGet(NS_MEMBER, hash));
    if (!member) throw invalid();
    const [familyValue, record] = await Promise.all([
      store.kvGet(NS_FAMILY, member.s),
      store.get(member.s),
    ]);
    const family = readFamily(familyValue);
    const at = now();
    if (
      !family ||
      !sameDigest(family.fid, member.f) ||
      !record ||
      record.key !== member.s ||
      record.expiresAt <= at
    ) {
      throw invalid();
    }
    // A bound token in the hands of another key (or of a client without one) was stolen.
    if (member.k !== undefined && (jkt === undefined || !sameDigest(member.k, jkt))) {
      return reuse(member, record, at);
    }

    const successor = generateRefreshToken();
    const successorHash = hashRefreshToken(successor);
    const claim: SpentEntry = {
      at,
      nh: successorHash,
      box: sealSuccessor(successor, token, hash),
    };
    if (await store.kvSet(NS_SPENT, hash, claim, record.absoluteExpiresAt, { ifAbsent: true })) {
      const rotation = await deliver(successor, successorHash, member, record, at);
      emit({
        type: 'refresh_rotated',
        sessionKey: record.key,
        handle: record.handle,
        userId: record.userId,
        generation: rotation.generation,
        at,
      });
      return rotation;
    }

    // Already spent: by a concurrent rotation, an earlier request being retried, or a thief.
    const spent = readSpent(await store.kvGet(NS_SPENT, hash));
    if (!spent) throw invalid();
    const withinGrace = at - spent.at < graceMs;
    // A retry is benign only while its successor is still unused; once the successor has
    // itself been rotated, the old token has no honest holder left.
    const successorUnused = withinGrace && (await store.kvGet(NS_SPENT, spent.nh)) === null;
    if (withinGrace && successorUnused) {
      // Beyond the retry budget a replay gets nothing, and signs nobody out (the honest
      // holder has the successor); after the window it is reuse, below.
      if (!(await claimRetry(hash, at))) throw invalid();
      const same = openSuccessor(spent.box, token, hash);
      if (same === null || !sameDigest(hashRefreshToken(same), spent.nh)) throw invalid();
      const rotation = await deliver(same, spent.nh, member, record, at);
      emit({
        type: 'refresh_retried',
        sessionKey: record.key,
        handle: record.handle,
        userId: record.userId,
        generation: rotation.generation,
        at,
      });
      return rotation;
    }

    return reuse(member, record, at);
  }

  async function revokeFamily(sessionKey: string): Promise<boolean> {
    if (typeof sessionKey !== 'string' || sessionKey.length === 0) {
      throw new TesseraError(
        'ERR_INVALID_ARGUMENT',
        'refresh.revokeFamily: `sessionKey` must be the `key` of a session record',
      );
    }
    return endFamily(sessionKey, 'revoke', null);
  }

  return { issue, rotate, revokeFamily };
}
