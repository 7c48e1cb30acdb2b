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
 * On a Cluster the store uses the client's own methods: its auto-pipelining groups commands
 * by the node that serves their slot.
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
}

interface Queued {
  command: Array<string | number>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * The store's commands for `client`: batched per event-loop turn on a standalone or Sentinel
 * client, the client's own methods on a Cluster.
 * @example const commands = storeCommands(new Redis()); await commands.hgetall('key');
 */
export function storeCommands(client: Redis | Cluster, cluster: boolean): StoreCommands {
  return cluster ? directCommands(client) : batchedCommands(client as Redis);
}

function directCommands(client: Redis | Cluster): StoreCommands {
  return {
    hgetall: (key) => client.hgetall(key),
    hset: (key, ...pairs) => client.hset(key, ...pairs),
    hmget: (key, ...fields) => client.hmget(key, ...fields),
    get: (key) => client.get(key),
    set: (key, value, ...options) =>
      client.call('set', key, value, ...options) as Promise<'OK' | null>,
    zadd: (key, score, member) => client.zadd(key, score, member) as Promise<number>,
    zrem: (key, ...members) => client.zrem(key, ...members),
    zrange: (key, start, stop) => client.zrange(key, start, stop),
    zremrangebyscore: (key, min, max) => client.zremrangebyscore(key, min, max),
    evalsha: (sha, numKeys, ...args) => client.evalsha(sha, numKeys, ...args),
    eval: (source, numKeys, ...args) => client.eval(source, numKeys, ...args),
  };
}

function batchedCommands(client: Redis): StoreCommands {
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
  };
}
