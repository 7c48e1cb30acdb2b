/**
 * The Redis store: sessions as Redis hashes (one field per data key), written by Lua scripts
 * and plain commands that touch one hash slot each (a data change that only sets fields is one
 * HSET), so it runs on standalone Redis, Sentinel and Cluster alike.
 * ioredis is imported here only, so users of other stores never load it.
 *
 * Keys (prefix `tessera:` by default): `s:{<key>}` session hash, `h:{<handle>}` handle → key,
 * `u:{<userId>}` the user's sessions (sorted set scored by an expiry bound, cleaned as it is
 * read), `kv:{ns:<ns>}:<key>` a key-value entry and `kvi:{ns:<ns>}` its namespace index.
 */
import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { withDeadline } from '../../shared/deadline.js';
import { isTesseraError, TesseraError } from '../../shared/errors.js';
import { requirePeer } from '../../shared/require-peer.js';
import { parseJsonText } from '../internal/json.js';
import { markSelfBounded } from '../internal/prompt-stores.js';
import {
  validateExpiry,
  validateKey,
  validateKvValue,
  validatePatch,
  validateRecord,
  validateTime,
  validateUserLimit,
} from '../internal/records.js';
import type {
  CreateWithinLimitResult,
  KeyValueEntry,
  SessionPatch,
  SessionRecord,
  Store,
  StoreClockOptions,
} from '../store.js';
import { storeCommands } from './internal/commands.js';
import {
  decodeRecord,
  encodeEntries,
  type PatchFields,
  packFixed,
  packMeta,
  patchFields,
  separateFixed,
  unpackFixed,
} from './internal/records.js';
import {
  CREATE_SESSION,
  DELETE_SESSION,
  EXTEND_HANDLE,
  KV_DELETE,
  KV_LIST,
  KV_PURGE,
  KV_SET,
  PATCH_FIELDS,
  PATCH_SESSION,
  PURGE_SESSION,
  RELEASE_HANDLE,
  RESERVE_USER_SLOT,
  SETTLE_FIELDS,
  SWAP_HANDLE,
  TOUCH_SESSION,
} from './internal/scripts.js';

// Loaded here, synchronously, so a missing ioredis is one clear line (shared/require-peer.ts).
const ioredis = requirePeer<typeof import('ioredis')>('ioredis', 'tessera-session/stores/redis');

/** An ioredis client: a standalone/Sentinel `Redis` or a `Cluster`. */
export type RedisClient = Redis | Cluster;

/** Where the Redis store connects. */
export type RedisConnection =
  /** `redis://`, `rediss://` or `redis+cluster://host1:port1,host2:port2` (`rediss+cluster://` for TLS). */
  | { url: string }
  /** An existing ioredis client or Cluster (Sentinel: a client made with `sentinels`); not closed by the store. */
  | { client: RedisClient };

export interface RedisStoreOptions extends StoreClockOptions {
  /**
   * Prefix of every key and channel.
   * @defaultValue 'tessera:'
   */
  prefix?: string;
  /**
   * Milliseconds after which a call fails with `ERR_STORE_UNAVAILABLE`.
   * @defaultValue 2000
   */
  timeoutMs?: number;
  /**
   * How a session's fixed fields and a new session's meta are written. `'packed'`: one hash
   * field for the fixed fields (`_p`) and one for the meta (`_m`), the shortest reply to read;
   * sessions written separate by an earlier version move their fixed fields to it on their
   * next touch or full patch. `'separate'`: six fixed fields and a field per meta key, as
   * versions before the packed layout wrote and read them; for a rolling upgrade, while
   * instances of such a version share the Redis, then switch to `'packed'`. Both layouts are
   * always read.
   * @defaultValue 'packed'
   */
  layout?: 'packed' | 'separate';
}

/** The Redis store, with what `createRedisInvalidation` needs. */
export interface RedisStore extends Store {
  /** Always present on this store: the per-user cap is atomic here. */
  createWithinLimit: NonNullable<Store['createWithinLimit']>;
  readonly kind: 'redis';
  /** The ioredis client in use (for pub/sub, health checks). */
  readonly client: RedisClient;
  /** The key prefix in use. */
  readonly prefix: string;
}

interface Script {
  source: string;
  sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * Most fields (pairs and deletions, as ARGV entries) the set-only HSET and the small patch
 * script take; larger patches go through the full script, which writes in chunks (Lua's
 * unpack has a stack limit).
 */
const FAST_PATCH_MAX_ARGS = 400;

const scripts = {
  create: script(CREATE_SESSION),
  patch: script(PATCH_SESSION),
  patchFields: script(PATCH_FIELDS),
  settleFields: script(SETTLE_FIELDS),
  touch: script(TOUCH_SESSION),
  delete: script(DELETE_SESSION),
  purge: script(PURGE_SESSION),
  swapHandle: script(SWAP_HANDLE),
  releaseHandle: script(RELEASE_HANDLE),
  extendHandle: script(EXTEND_HANDLE),
  reserveUserSlot: script(RESERVE_USER_SLOT),
  kvSet: script(KV_SET),
  kvDelete: script(KV_DELETE),
  kvList: script(KV_LIST),
  kvPurge: script(KV_PURGE),
};

/**
 * Refuses, at construction, a client that is not ioredis (a node-redis `createClient()`
 * client has other method names and would fail every call later).
 */
function assertIoredisClient(client: unknown): void {
  const c = client as Partial<Record<'evalsha' | 'hgetall' | 'zadd', unknown>> & {
    status?: unknown;
  };
  if (
    typeof c.evalsha === 'function' &&
    typeof c.hgetall === 'function' &&
    typeof c.zadd === 'function' &&
    typeof c.status === 'string'
  ) {
    return;
  }
  const nodeRedis = typeof (client as { hGetAll?: unknown }).hGetAll === 'function';
  throw new TesseraError(
    'ERR_CONFIG',
    `createRedisStore: { client } must be an ioredis Redis or Cluster${
      nodeRedis ? ' (this is a node-redis client)' : ''
    }. Pass { url: "redis://…" } and Tessera connects with ioredis itself, or, to keep a ` +
      'node-redis client, use it through connect-redis as an express-session store.',
  );
}

/**
 * An ioredis client for a store URL, made to fail fast while Redis is away: a command
 * timeout, one retry per command, and reconnects every second at most. Auto-pipelining is
 * on: commands issued in the same tick leave in one socket write, which cuts the CPU each
 * command costs both here and in Redis under concurrent requests. (On a standalone or
 * Sentinel client the store batches its own commands itself, one pipeline per event-loop
 * turn: `internal/commands.ts`.)
 * @example const client = connectRedis('redis+cluster://10.0.0.1:7000,10.0.0.2:7000', 2000);
 */
export function connectRedis(url: string, timeoutMs: number): RedisClient {
  const parsed = parseUrl(url);
  const retryStrategy = (times: number): number => Math.min(times * 100, 1000);
  if (parsed.cluster) {
    const cluster = new ioredis.Cluster(parsed.nodes, {
      clusterRetryStrategy: retryStrategy,
      enableOfflineQueue: true,
      enableAutoPipelining: true,
      redisOptions: {
        connectTimeout: timeoutMs,
        commandTimeout: timeoutMs,
        maxRetriesPerRequest: 1,
        ...(parsed.username ? { username: parsed.username } : {}),
        ...(parsed.password ? { password: parsed.password } : {}),
        ...(parsed.tls ? { tls: {} } : {}),
      },
    });
    cluster.on('error', () => {
      // Reported to callers as ERR_STORE_UNAVAILABLE; an unheard 'error' would be logged.
    });
    return cluster;
  }
  const client = new ioredis.Redis(url, {
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    enableAutoPipelining: true,
    retryStrategy,
  });
  client.on('error', () => {
    // As above.
  });
  return client;
}

interface ParsedUrl {
  cluster: boolean;
  tls: boolean;
  nodes: Array<{ host: string; port: number }>;
  username?: string;
  password?: string;
}

function parseUrl(url: string): ParsedUrl {
  const match = /^(rediss?)(\+cluster)?:\/\/(?:([^@/]*)@)?([^/?#]*)/.exec(url);
  if (!match) {
    throw new TesseraError(
      'ERR_CONFIG',
      'createRedisStore: `url` must start with redis://, rediss:// or redis+cluster://host:port,…',
    );
  }
  const [, scheme, cluster, auth, hosts] = match;
  if (!cluster) return { cluster: false, tls: scheme === 'rediss', nodes: [] };
  const nodes = (hosts ?? '').split(',').map((part) => {
    const at = part.lastIndexOf(':');
    const host = at > 0 ? part.slice(0, at) : part;
    const port = at > 0 ? Number(part.slice(at + 1)) : 6379;
    if (!host || !Number.isInteger(port) || port <= 0 || port > 65535) {
      throw new TesseraError(
        'ERR_CONFIG',
        `createRedisStore: \`url\` has a bad cluster node "${part}"; write host:port pairs separated by commas.`,
      );
    }
    return { host: host.replace(/^\[|\]$/g, ''), port };
  });
  const parsed: ParsedUrl = { cluster: true, tls: scheme === 'rediss', nodes };
  if (auth) {
    const colon = auth.indexOf(':');
    const user = decodeURIComponent(colon >= 0 ? auth.slice(0, colon) : auth);
    const password = colon >= 0 ? decodeURIComponent(auth.slice(colon + 1)) : '';
    if (colon >= 0) {
      if (user) parsed.username = user;
      parsed.password = password;
    } else {
      parsed.password = user;
    }
  }
  return parsed;
}

function unavailable(message: string, cause?: unknown): TesseraError {
  return new TesseraError('ERR_STORE_UNAVAILABLE', message, cause ? { cause } : undefined);
}

const FAILING_STATES = new Set(['reconnecting', 'close', 'end', 'disconnecting']);

/**
 * Creates a Redis store.
 * @example
 * import { createRedisStore } from 'tessera-session/stores/redis';
 * const store = createRedisStore({ url: 'redis://127.0.0.1:6379' });
 * const cluster = createRedisStore({ url: 'redis+cluster://10.0.0.1:7000,10.0.0.2:7000' });
 */
export function createRedisStore(
  connection: RedisConnection,
  options: RedisStoreOptions = {},
): RedisStore {
  const prefix = options.prefix ?? 'tessera:';
  if (typeof prefix !== 'string') {
    throw new TesseraError('ERR_CONFIG', 'createRedisStore: `prefix` must be a string.');
  }
  const timeoutMs = options.timeoutMs ?? 2000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new TesseraError(
      'ERR_CONFIG',
      'createRedisStore: `timeoutMs` must be a positive number.',
    );
  }
  const layout = options.layout ?? 'packed';
  if (layout !== 'packed' && layout !== 'separate') {
    throw new TesseraError(
      'ERR_CONFIG',
      "createRedisStore: `layout` must be 'packed' or 'separate'.",
    );
  }
  /** '1' when sessions in the separate-field layout stay in it (script argument). */
  const keepSeparate = layout === 'separate' ? '1' : '0';
  const now = options.now ?? Date.now;
  /** Whether the store's clock is the one Redis expires keys by (no injected `now`). */
  const wallClockStore = options.now === undefined;
  let client: RedisClient;
  let owned: boolean;
  if ('client' in connection && connection.client) {
    client = connection.client;
    owned = false;
    assertIoredisClient(client);
  } else if ('url' in connection && typeof connection.url === 'string') {
    client = connectRedis(connection.url, timeoutMs);
    owned = true;
  } else {
    throw new TesseraError(
      'ERR_CONFIG',
      'createRedisStore: pass { url: "redis://…" } or { client } (an ioredis Redis or Cluster).',
    );
  }
  const isCluster = client instanceof ioredis.Cluster;
  const commands = storeCommands(client, isCluster);
  let closed = false;

  const sessionKey = (key: string): string => `${prefix}s:{${key}}`;
  const handleKey = (handle: string): string => `${prefix}h:{${handle}}`;
  const userKey = (userId: string): string => `${prefix}u:{${userId}}`;
  const kvPrefix = (ns: string): string => `${prefix}kv:{ns:${ns}}:`;
  const kvIndex = (ns: string): string => `${prefix}kvi:{ns:${ns}}`;
  /** The wall-clock time at which Redis should drop something that dies at `at` (store clock). */
  const wallClock = (at: number): string => String(Math.ceil(Date.now() + (at - now())));

  /** Throws when no operation can start: the store is closed or Redis is known to be away. */
  function assertUsable(operation: string): void {
    if (closed) {
      throw new TesseraError('ERR_STORE_CLOSED', `RedisStore.${operation}: the store is closed.`);
    }
    if (FAILING_STATES.has(client.status)) {
      throw unavailable(`RedisStore.${operation}: Redis is unreachable (${client.status}).`);
    }
  }

  /** `work` within one overall timeout, driver failures as ERR_STORE_UNAVAILABLE. */
  async function bounded<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await withDeadline(work(), timeoutMs, () =>
        unavailable(`RedisStore.${operation}: no answer within ${timeoutMs} ms.`),
      );
    } catch (error) {
      if (isTesseraError(error)) throw error;
      throw unavailable(`RedisStore.${operation}: Redis command failed.`, error);
    }
  }

  /** Runs one store operation: closed and connection checks, one overall timeout. */
  function run<T>(operation: string, body: () => Promise<T>): Promise<T> {
    try {
      assertUsable(operation);
    } catch (error) {
      return Promise.reject(error);
    }
    return bounded(operation, body);
  }

  function evalScript(s: Script, keys: string[], args: Array<string | number>): Promise<unknown> {
    return commands.evalsha(s.sha, keys.length, ...keys, ...args).catch((error: unknown) => {
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
        return commands.eval(s.source, keys.length, ...keys, ...args);
      }
      throw error;
    });
  }

  /** The live record a session hash holds (as HGETALL answers it), or null. */
  function liveRecord(key: string, fields: Record<string, string>): SessionRecord | null {
    const record = decodeRecord(key, fields);
    if (!record || record.expiresAt <= now()) return null;
    return record;
  }

  /**
   * A patch that only sets fields (data, meta, authAt): one HSET, no script. HSET answers how
   * many of the fields it added; none means every field was already there, so the hash existed
   * and Redis had not expired it, and Redis expires it at the session's `expiresAt`: with the
   * store on the wall clock, the session was live and that answer is final (one command, one
   * round trip). Otherwise (a field is new, the hash was gone, or an injected clock decides
   * expiry) a small script settles it: it answers the stored expiry, or, when the hash holds no
   * fixed fields (the session was deleted or expired and the HSET created the hash anew),
   * deletes it again, so no read ever returns what such a patch wrote. One HSET is atomic: the
   * fields land together.
   */
  async function setFields(key: string, pairs: string[]): Promise<boolean> {
    const hash = sessionKey(key);
    const added = await commands.hset(hash, ...pairs);
    if (added === 0 && wallClockStore) return true;
    const expires = await evalScript(scripts.settleFields, [hash], []);
    return expires !== '' && Number(expires) > now();
  }

  async function hgetall(key: string): Promise<SessionRecord | null> {
    return liveRecord(key, await commands.hgetall(sessionKey(key)));
  }

  /** Index clean-up after a session is gone; failures only leave stale entries behind. */
  async function dropIndexes(key: string, userId: string, handle: string): Promise<void> {
    const work: Array<Promise<unknown>> = [];
    if (handle) work.push(evalScript(scripts.releaseHandle, [handleKey(handle)], [key]));
    if (userId) work.push(commands.zrem(userKey(userId), key));
    await Promise.all(work);
  }

  /** Claims `handle` for `key`: 'claimed', 'ours' (already pointed at key) or 'taken'. */
  async function claimHandle(handle: string, key: string, bound: number): Promise<string> {
    const hk = handleKey(handle);
    const pxat = wallClock(bound);
    for (let attempt = 0; attempt < 5; attempt++) {
      if ((await commands.set(hk, key, 'PXAT', pxat, 'NX')) === 'OK') return 'claimed';
      const current = await commands.get(hk);
      if (current === null) continue;
      if (current === key) return 'ours';
      const holder = await hgetall(current);
      if (holder && holder.handle === handle) return 'taken';
      if ((await evalScript(scripts.swapHandle, [hk], [current, key, pxat])) === 1) {
        return 'claimed';
      }
    }
    return 'taken';
  }

  async function scanAll(pattern: string): Promise<string[]> {
    // Every master of a Cluster in turn; a standalone client through the store's own queue.
    const scanners = isCluster
      ? (client as Cluster).nodes('master').map((node) => storeCommands(node, true))
      : [commands];
    const found: string[] = [];
    for (const scanner of scanners) {
      let cursor = '0';
      do {
        const [next, keys] = await scanner.scan(cursor, pattern);
        cursor = next;
        found.push(...keys);
      } while (cursor !== '0');
    }
    return found;
  }

  function escapeGlob(text: string): string {
    return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
  }

  function kvText(value: unknown, expiresAt: number | null): string {
    validateKvValue(value);
    return `${expiresAt === null ? '' : String(expiresAt)}|${JSON.stringify(value)}`;
  }

  function kvDecode(stored: string): { expiresAt: number | null; value: unknown } {
    const bar = stored.indexOf('|');
    const head = stored.slice(0, bar);
    return {
      expiresAt: head === '' ? null : Number(head),
      value: parseJsonText(stored.slice(bar + 1), 'key-value value'),
    };
  }

  function assertNs(ns: unknown, key: unknown): void {
    validateKey(ns, 'ns');
    validateKey(key, 'key');
  }

  /**
   * Claims the handle and writes the session hash (not the user index); the expiry bound.
   * Throws ERR_STORE_CONFLICT when the key or handle is taken.
   */
  async function writeSession(record: SessionRecord): Promise<number> {
    const bound = Math.max(record.expiresAt, record.absoluteExpiresAt);
    const fields: string[] =
      layout === 'packed' ? ['_p', packFixed(record, bound)] : separateFixed(record, bound);
    if (record.userId !== null) fields.push('_u', record.userId);
    if (record.authAt !== null) fields.push('_a', String(record.authAt));
    fields.push(...encodeEntries('d:', record.data));
    fields.push(
      ...(layout === 'packed' ? packMeta(record.meta) : encodeEntries('m:', record.meta)),
    );

    const claim = await claimHandle(record.handle, record.key, bound);
    if (claim === 'taken') {
      throw new TesseraError(
        'ERR_STORE_CONFLICT',
        'create: a live session already has this handle; generate a new one.',
      );
    }
    const created = await evalScript(
      scripts.create,
      [sessionKey(record.key)],
      [now(), wallClock(record.expiresAt), ...fields],
    );
    if (created !== 1) {
      if (claim === 'claimed') {
        await evalScript(scripts.releaseHandle, [handleKey(record.handle)], [record.key]);
      }
      throw new TesseraError(
        'ERR_STORE_CONFLICT',
        'create: a live session already has this key; generate a new session ID.',
      );
    }
    return bound;
  }

  /**
   * The user's indexed sessions that are still live, oldest first; entries of dead sessions
   * (idle-expired, deleted, moved to another user) are dropped from the index on the way.
   */
  async function liveIndexEntries(userId: string): Promise<string[]> {
    const index = userKey(userId);
    const keys = await commands.zrange(index, '0', '-1');
    const at = now();
    const rows = await Promise.all(
      keys.map((key) => commands.hmget(sessionKey(key), '_p', '_u', '_e', '_c')),
    );
    const live: Array<{ key: string; createdAt: number }> = [];
    const dead: string[] = [];
    rows.forEach(([packed, owner, legacyExpires, legacyCreated], i) => {
      const key = keys[i] as string;
      // The packed layout or the separate fields.
      const fixed = typeof packed === 'string' ? unpackFixed(packed) : null;
      const expires = (fixed === null ? legacyExpires : fixed.expires) ?? null;
      const created = fixed === null ? legacyCreated : fixed.created;
      if (expires !== null && expires !== '' && Number(expires) > at && owner === userId) {
        live.push({ key, createdAt: Number(created) });
      } else {
        dead.push(key);
      }
    });
    if (dead.length > 0) await commands.zrem(index, ...dead);
    live.sort((a, b) => a.createdAt - b.createdAt || (a.key < b.key ? -1 : 1));
    return live.map((entry) => entry.key);
  }

  /**
   * A patch that may move the expiry or change the user (or is too large for one unpack):
   * the full script, then the handle key and user index when the bound grew or the user changed.
   */
  async function fullPatch(
    key: string,
    patch: SessionPatch,
    { pairs, dels, lastSeenAt }: PatchFields,
  ): Promise<boolean> {
    const userChange = patch.userId === undefined ? '0' : patch.userId === null ? '2' : '1';
    const result = await evalScript(
      scripts.patch,
      [sessionKey(key)],
      [
        now(),
        patch.expiresAt === undefined ? '' : wallClock(patch.expiresAt),
        lastSeenAt,
        pairs.length / 2,
        dels.length,
        ...pairs,
        ...dels,
        patch.expiresAt === undefined ? '' : String(patch.expiresAt),
        patch.absoluteExpiresAt === undefined ? '' : String(patch.absoluteExpiresAt),
        userChange,
        typeof patch.userId === 'string' ? patch.userId : '',
        keepSeparate,
      ],
    );
    if (!Array.isArray(result)) return false;
    const [oldUser, newUser, handle, bound] = result as string[];
    if (bound) {
      const work: Array<Promise<unknown>> = [
        evalScript(
          scripts.extendHandle,
          [handleKey(handle ?? '')],
          [key, wallClock(Number(bound))],
        ),
      ];
      if (oldUser && oldUser !== newUser) work.push(commands.zrem(userKey(oldUser), key));
      if (newUser) work.push(commands.zadd(userKey(newUser), Number(bound), key));
      await Promise.all(work);
    }
    return true;
  }

  const store: RedisStore = {
    kind: 'redis',
    client,
    prefix,

    // The hot path of every request: one command, one deadline, one async step.
    async get(key) {
      assertUsable('get');
      if (typeof key !== 'string' || key.length === 0) return null;
      const fields = await bounded('get', () => commands.hgetall(sessionKey(key)));
      return liveRecord(key, fields);
    },

    getByHandle(handle) {
      return run('getByHandle', async () => {
        if (typeof handle !== 'string' || handle.length === 0) return null;
        const key = await commands.get(handleKey(handle));
        if (key === null) return null;
        const record = await hgetall(key);
        return record && record.handle === handle ? record : null;
      });
    },

    create(record) {
      return run('create', async () => {
        validateRecord(record);
        const bound = await writeSession(record);
        if (record.userId !== null) {
          await commands.zadd(userKey(record.userId), bound, record.key);
        }
      });
    },

    createWithinLimit(record, limit) {
      return run('create', async () => {
        validateRecord(record);
        validateUserLimit(record, limit);
        const userId = record.userId as string;
        // The hash first, the index entry second: an index entry whose hash is missing is
        // then always a dead one, which the clean-up below may drop without racing a create.
        const bound = await writeSession(record);
        const candidates = await liveIndexEntries(userId);
        const answer = (await evalScript(
          scripts.reserveUserSlot,
          [userKey(userId)],
          [now(), limit.maxPerUser, limit.onLimit, record.key, bound, ...candidates],
        )) as Array<number | string>;
        if (answer[0] !== 1) {
          await evalScript(scripts.delete, [sessionKey(record.key)], [now(), '']);
          await dropIndexes(record.key, '', record.handle);
          return { created: false, evicted: [] };
        }
        const evicted: CreateWithinLimitResult['evicted'] = [];
        for (const key of answer.slice(1) as string[]) {
          const gone = (await evalScript(scripts.delete, [sessionKey(key)], [now(), userId])) as
            | [number, string, string]
            | [];
          if (gone.length === 0) continue;
          const [, , handle] = gone as [number, string, string];
          await dropIndexes(key, '', handle);
          evicted.push({ key, handle, userId });
        }
        return { created: true, evicted };
      });
    },

    async patch(key, patch) {
      assertUsable('patch');
      validateKey(key, 'key');
      validatePatch(patch);
      const fields = patchFields(patch);
      const { pairs, dels } = fields;
      if (
        patch.userId === undefined &&
        patch.expiresAt === undefined &&
        patch.absoluteExpiresAt === undefined &&
        pairs.length + dels.length <= FAST_PATCH_MAX_ARGS
      ) {
        if (fields.lastSeenAt === '' && dels.length === 0 && pairs.length > 0) {
          // What a request that changes its data sends: no script at all.
          return bounded('patch', () => setFields(key, pairs));
        }
        // The rest of the common case (deletions, lastSeenAt): one small script, no index work.
        const args: Array<string | number> = [
          now(),
          fields.lastSeenAt,
          pairs.length,
          ...pairs,
          ...dels,
        ];
        const applied = await bounded('patch', () =>
          evalScript(scripts.patchFields, [sessionKey(key)], args),
        );
        return applied === 1;
      }
      return bounded('patch', () => fullPatch(key, patch, fields));
    },

    touch(key, lastSeenAt, expiresAt) {
      return run('touch', async () => {
        validateKey(key, 'key');
        validateTime(lastSeenAt, 'lastSeenAt');
        validateTime(expiresAt, 'expiresAt');
        const result = await evalScript(
          scripts.touch,
          [sessionKey(key)],
          [now(), String(lastSeenAt), String(expiresAt), wallClock(expiresAt), keepSeparate],
        );
        if (!Array.isArray(result)) return false;
        if (result[0] === 2) {
          const [, userId, handle, bound] = result as [number, string, string, string];
          const work: Array<Promise<unknown>> = [
            evalScript(scripts.extendHandle, [handleKey(handle)], [key, wallClock(Number(bound))]),
          ];
          if (userId) work.push(commands.zadd(userKey(userId), Number(bound), key));
          await Promise.all(work);
        }
        return true;
      });
    },

    delete(key) {
      return run('delete', async () => {
        if (typeof key !== 'string' || key.length === 0) return false;
        const result = (await evalScript(scripts.delete, [sessionKey(key)], [now(), ''])) as
          | [number, string, string]
          | [];
        if (result.length === 0) return false;
        const [live, userId, handle] = result as [number, string, string];
        await dropIndexes(key, userId, handle);
        return live === 1;
      });
    },

    listByUser(userId) {
      return run('listByUser', async () => {
        validateKey(userId, 'userId');
        const index = userKey(userId);
        const at = now();
        await commands.zremrangebyscore(index, '-inf', String(at));
        const keys = await commands.zrange(index, '0', '-1');
        const records = await Promise.all(keys.map((key) => hgetall(key)));
        const live: SessionRecord[] = [];
        const stale: string[] = [];
        records.forEach((record, i) => {
          if (record && record.userId === userId) live.push(record);
          else if (!record) stale.push(keys[i] as string);
        });
        if (stale.length > 0) await commands.zrem(index, ...stale);
        return live.sort((a, b) => a.createdAt - b.createdAt);
      });
    },

    deleteByUser(userId, exceptKey) {
      return run('deleteByUser', async () => {
        validateKey(userId, 'userId');
        const index = userKey(userId);
        const keys = (await commands.zrange(index, '0', '-1')).filter((key) => key !== exceptKey);
        const at = now();
        let count = 0;
        await Promise.all(
          keys.map(async (key) => {
            const result = (await evalScript(scripts.delete, [sessionKey(key)], [at, userId])) as
              | [number, string, string]
              | [];
            if (result.length > 0) {
              const [live, , handle] = result as [number, string, string];
              if (live === 1) count++;
              await dropIndexes(key, userId, handle);
            } else {
              // Gone or moved to another user: only the index entry is stale.
              const record = await hgetall(key);
              if (!record || record.userId !== userId) await commands.zrem(index, key);
            }
          }),
        );
        return count;
      });
    },

    purgeExpired() {
      return run('purgeExpired', async () => {
        const at = now();
        let count = 0;
        const sessionPrefix = `${prefix}s:{`;
        const sessions = await scanAll(`${escapeGlob(prefix)}s:*`);
        for (const redisKey of sessions) {
          const result = await evalScript(scripts.purge, [redisKey], [at]);
          if (!Array.isArray(result)) continue;
          count++;
          const key = redisKey.slice(sessionPrefix.length, -1);
          const [userId, handle] = result as [string, string];
          await dropIndexes(key, userId, handle);
        }
        const indexes = await scanAll(`${escapeGlob(prefix)}kvi:*`);
        for (const index of indexes) {
          const entryPrefix = `${prefix}kv:${index.slice(prefix.length + 4)}:`;
          for (;;) {
            const removed = Number(
              await evalScript(scripts.kvPurge, [index], [String(at), entryPrefix]),
            );
            count += removed;
            if (removed < 1000) break;
          }
        }
        return count;
      });
    },

    kvGet(ns, key) {
      return run('kvGet', async () => {
        assertNs(ns, key);
        const stored = await commands.get(kvPrefix(ns) + key);
        if (stored === null) return null;
        const entry = kvDecode(stored);
        if (entry.expiresAt !== null && entry.expiresAt <= now()) return null;
        return entry.value;
      });
    },

    kvSet(ns, key, value, expiresAt, setOptions) {
      return run('kvSet', async () => {
        assertNs(ns, key);
        validateExpiry(expiresAt);
        const text = kvText(value, expiresAt);
        const written = await evalScript(
          scripts.kvSet,
          [kvPrefix(ns) + key, kvIndex(ns)],
          [
            now(),
            setOptions?.ifAbsent ? '1' : '0',
            text,
            expiresAt === null ? '' : String(expiresAt),
            expiresAt === null ? '' : wallClock(expiresAt),
            key,
          ],
        );
        return written === 1;
      });
    },

    kvDelete(ns, key) {
      return run('kvDelete', async () => {
        assertNs(ns, key);
        const deleted = await evalScript(
          scripts.kvDelete,
          [kvPrefix(ns) + key, kvIndex(ns)],
          [now(), key],
        );
        return deleted === 1;
      });
    },

    kvList(ns) {
      return run('kvList', async () => {
        validateKey(ns, 'ns');
        const at = now();
        const flat = (await evalScript(
          scripts.kvList,
          [kvIndex(ns)],
          [at, kvPrefix(ns)],
        )) as string[];
        const entries: KeyValueEntry[] = [];
        for (let i = 0; i < flat.length; i += 2) {
          const entry = kvDecode(flat[i + 1] as string);
          if (entry.expiresAt !== null && entry.expiresAt <= at) continue;
          entries.push({ key: flat[i] as string, value: entry.value, expiresAt: entry.expiresAt });
        }
        return entries;
      });
    },

    async close() {
      if (closed) return;
      closed = true;
      if (!owned) return;
      // Commands issued in this turn leave at its end (internal/commands.ts): let them go out
      // ahead of QUIT, which Redis then answers after them.
      await new Promise((resolve) => setImmediate(resolve));
      try {
        await Promise.race([
          client.quit(),
          new Promise((resolve) => setTimeout(resolve, timeoutMs).unref()),
        ]);
      } catch {
        // Already disconnected.
      }
      client.disconnect();
    },
  };
  // Every method above is bounded by `timeoutMs` (through `run`, or `bounded` on the two hot
  // paths): the core need not arm a second deadline around each call (one it is given with a
  // shorter timeout still does).
  return markSelfBounded(store, timeoutMs);
}
