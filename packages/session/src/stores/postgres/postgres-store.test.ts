import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgresServer } from '../../../../../test/support/postgres-server.js';
import { makeRecord, testStore } from '../conformance/index.js';
import type { SessionRecord } from '../store.js';
import { createPostgresStore, type PostgresStore } from './postgres-store.js';
import { schemaStatements } from './schema.js';

const server = await startPostgresServer();
afterAll(() => server.destroy());

/** Every row of both tables as text: what a database dump would show. */
async function dumpTables(store: PostgresStore): Promise<string> {
  const sessions = await store.pool.query(`SELECT t::text AS row FROM ${store.tables.sessions} t`);
  const kv = await store.pool.query(`SELECT t::text AS row FROM ${store.tables.kv} t`);
  return [...sessions.rows, ...kv.rows].map((row) => (row as { row: string }).row).join('\n');
}

testStore(
  'postgres',
  ({ now }) => createPostgresStore({ connectionString: server.connectionString }, { now }),
  {
    dumpBackend: (store) => dumpTables(store as PostgresStore),
    outage: { stop: () => server.stop(), start: () => server.start() },
  },
);

function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = Date.now();
  return makeRecord(now, {
    data: { a: 1 },
    expiresAt: now + 60_000,
    absoluteExpiresAt: now + 3_600_000,
    ...overrides,
  });
}

describe('postgres store specifics', () => {
  let pool: pg.Pool;
  beforeAll(() => {
    pool = new pg.Pool({ connectionString: server.connectionString });
  });
  afterAll(() => pool.end());

  it('works on a pool passed in, with a schema created by hand, and leaves the pool open', async () => {
    for (const sql of schemaStatements('manual_sessions')) await pool.query(sql);
    const store = createPostgresStore({ pool }, { table: 'manual_sessions', createSchema: false });
    const stored = record({ data: { cart: [1, 2] } });
    await store.create(stored);
    expect(await store.get(stored.key)).toEqual(stored);
    await store.close();
    const { rows } = await pool.query('SELECT user_id, data FROM manual_sessions WHERE key = $1', [
      stored.key,
    ]);
    expect(rows).toEqual([{ user_id: null, data: { cart: '[1,2]' } }]);
  });

  it('creates its schema once when many instances start at the same time', async () => {
    const stores = Array.from({ length: 5 }, () =>
      createPostgresStore(
        { connectionString: server.connectionString },
        { table: 'racing_sessions' },
      ),
    );
    const records = stores.map(() => record());
    await Promise.all(stores.map((store, i) => store.create(records[i]!)));
    for (const r of records) expect(await stores[0]!.get(r.key)).toEqual(r);
    await Promise.all(stores.map((store) => store.close()));
  });

  it('purges in batches, safely from several instances at once', async () => {
    const a = createPostgresStore({ pool }, { table: 'purge_sessions' });
    const b = createPostgresStore({ pool }, { table: 'purge_sessions' });
    const past = Date.now() - 1;
    await a.get('warm-up');
    await pool.query(
      `INSERT INTO purge_sessions (key, handle, data, meta, created_at, last_seen_at, expires_at, absolute_expires_at)
       SELECT 'k' || i, 'h' || i, '{}', '{}', 0, 0, $1, $1 FROM generate_series(1, 2500) AS i`,
      [past],
    );
    const live = record();
    await a.create(live);
    const counts = await Promise.all([a.purgeExpired(), b.purgeExpired()]);
    expect(counts[0] + counts[1]).toBe(2500);
    expect(await a.get(live.key)).toEqual(live);
    await a.close();
    await b.close();
  });

  it('refuses a bad table name with ERR_CONFIG', () => {
    expect(() =>
      createPostgresStore(
        { connectionString: server.connectionString },
        { table: 'x; DROP TABLE y' },
      ),
    ).toThrow(/table/);
  });
});
