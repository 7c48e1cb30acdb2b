/**
 * The Redis commands the store sends, and how they leave the process.
 *
 * On a standalone or Sentinel client, every command the store issues during one turn of the
 * event loop is queued and written at the end of that turn (`setImmediate`) as one ioredis
 * pipeline: one socket write, in the order the commands were issued. The next turn's batch
 * leaves at the end of the next turn, without waiting for the previous batch's replies.
 * ioredis's own auto-pipelining waits for them (one pipeline in flight per connection), and
 * flushes whatever was queued meanwhile the moment they arrive, before the callbacks that
 * issue the follow-up commands (a request's write after its read) have run; under concurrent
 * requests that splits the traffic into more, smaller batches, and each batch costs Redis a
 * read and a write system call and an event-loop pass. `npm run bench -- redis-batches`
 * measures it: Redis read calls per increment 0.067–0.068 this way against 0.102–0.104
 * through auto-pipelining (docs/benchmarks.md, ninth round).
 *
 * On a Cluster the store sends each command through the client's `call`: its auto-pipelining
 * groups commands by the node that serves their slot.
 */
import type { Cluster, Redis } from 'ioredis';

/** The commands the Redis store uses, with the replies ioredis gives them. */
export interface StoreCommands {
  hgetall(key: string): Promise<Record<string, string>>;
  hset(key: string, ...fieldsAndValues: string[]): Promise<number>;
  hmget(key: string, ...fields: string[]): Promise<Array<string | null>>;
  get(key: string): Promise<string | null>;
  /** SET with options (`PXAT <ms> NX`): 'OK', or null when NX found the key. */
  set(key: string, value: string, ...options: string[]): Promise<'OK' | null>;
  zadd(key: string, score: number, member: string): Promise<number>;
  zrem(key: string, ...members: string[]): Promise<number>;
  zrange(key: string, start: string, stop: string): Promise<string[]>;
  zremrangebyscore(key: string, min: string, max: string): Promise<number>;
  evalsha(sha: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
  eval(source: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
  /** One SCAN step over keys matching `pattern`: the next cursor ('0' at the end) and keys. */
  scan(cursor: string, pattern: string): Promise<[string, string[]]>;
}

interface Queued {
  command: Array<string | number>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

type Send = <T>(command: Array<string | number>) => Promise<T>;

/**
 * The store's commands for `client`: batched per event-loop turn on a standalone or Sentinel
 * client, through the client's own `call` (and its auto-pipelining) on a Cluster.
 * @example const commands = storeCommands(new Redis(), false); await commands.hgetall('key');
 */
export function storeCommands(client: Redis | Cluster, cluster: boolean): StoreCommands {
  const send: Send = cluster
    ? <T>(command: Array<string | number>) =>
        client.call(command[0] as string, ...command.slice(1)) as Promise<T>
    : batchedSend(client as Redis);
  return {
    hgetall: (key) => send(['hgetall', key]),
    hset: (key, ...pairs) => send(['hset', key, ...pairs]),
    hmget: (key, ...fields) => send(['hmget', key, ...fields]),
    get: (key) => send(['get', key]),
    set: (key, value, ...options) => send(['set', key, value, ...options]),
    zadd: (key, score, member) => send(['zadd', key, score, member]),
    zrem: (key, ...members) => send(['zrem', key, ...members]),
    zrange: (key, start, stop) => send(['zrange', key, start, stop]),
    zremrangebyscore: (key, min, max) => send(['zremrangebyscore', key, min, max]),
    evalsha: (sha, numKeys, ...args) => send(['evalsha', sha, numKeys, ...args]),
    eval: (source, numKeys, ...args) => send(['eval', source, numKeys, ...args]),
    scan: (cursor, pattern) => send(['scan', cursor, 'MATCH', pattern, 'COUNT', 1000]),
  };
}

/** A `send` that queues a command for the pipeline written at the end of this turn. */
function batchedSend(client: Redis): Send {
  let queue: Queued[] | null = null;

  function flush(): void {
    const batch = queue ?? [];
    queue = null;
    const settle = (error: unknown, results?: Array<[Error | null, unknown]> | null): void => {
      for (let i = 0; i < batch.length; i++) {
        const queued = batch[i] as Queued;
        const result = results?.[i];
        if (result === undefined) queued.reject(error ?? new Error('Redis pipeline: no reply'));
        else if (result[0]) queued.reject(result[0]);
        else queued.resolve(result[1]);
      }
    };
    try {
      client.pipeline(batch.map((queued) => queued.command)).exec(settle);
    } catch (error) {
      // Thrown here it would end the process (this runs from setImmediate): fail the batch.
      settle(error);
    }
  }

  function send<T>(command: Array<string | number>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (queue === null) {
        queue = [];
        setImmediate(flush);
      }
      queue.push({ command, resolve: resolve as (value: unknown) => void, reject });
    });
  }

  return send;
}
