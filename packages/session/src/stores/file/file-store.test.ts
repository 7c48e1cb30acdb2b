import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeRecord, testStore } from '../conformance/index.js';
import type { SessionRecord } from '../store.js';
import { createFileStore } from './file-store.js';

const root = mkdtempSync(join(tmpdir(), 'tessera-file-store-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every file under `dir`, with its contents. */
function dumpDir(dir: string): string {
  const out: string[] = [];
  const walk = (path: string): void => {
    for (const name of readdirSync(path)) {
      const child = join(path, name);
      if (statSync(child).isDirectory()) walk(child);
      else out.push(`${child}\n${readFileSync(child, 'utf8')}`);
    }
  };
  walk(dir);
  return out.join('\n');
}

let counter = 0;
testStore(
  'file',
  ({ now }) => createFileStore({ dir: join(root, `conformance-${counter++}`), now }),
  { dumpBackend: async () => dumpDir(root) },
);

function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = Date.now();
  return makeRecord(now, {
    userId: 'u1',
    data: { a: 1 },
    expiresAt: now + 60_000,
    absoluteExpiresAt: now + 3_600_000,
    ...overrides,
  });
}

describe('file store specifics', () => {
  it('keeps every session across a restart (a new store on the same directory)', async () => {
    const dir = join(root, 'restart');
    const first = createFileStore({ dir });
    const records = [record(), record(), record({ userId: null })];
    for (const r of records) await first.create(r);
    await first.kvSet('ns', 'k', { v: 1 }, null);
    await first.close();
    const second = createFileStore({ dir });
    for (const r of records) expect(await second.get(r.key)).toEqual(r);
    expect(await second.getByHandle(records[1]!.handle)).toEqual(records[1]);
    expect(await second.listByUser('u1')).toHaveLength(2);
    expect(await second.kvGet('ns', 'k')).toEqual({ v: 1 });
    await second.close();
  });

  it('writes one private file per session and leaves no temporary files', async () => {
    const dir = join(root, 'layout');
    const store = createFileStore({ dir });
    const stored = record();
    await store.create(stored);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.patch(stored.key, { set: { [i]: i } })),
    );
    expect(readdirSync(join(dir, 'sessions'))).toEqual([`${stored.key}.json`]);
    expect(statSync(join(dir, 'sessions', `${stored.key}.json`)).mode & 0o777).toBe(0o600);
    await store.close();
  });

  it('refuses a key that is not a safe file name, and never reads outside its directory', async () => {
    const store = createFileStore({ dir: join(root, 'names') });
    await expect(store.create(record({ key: '../escape' }))).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    expect(await store.get('../../etc/passwd')).toBeNull();
    expect(await store.delete('../x')).toBe(false);
    await store.close();
  });

  it('reports an unusable directory as ERR_STORE_UNAVAILABLE', async () => {
    const blocker = join(root, 'not-a-dir');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(blocker, 'x');
    const store = createFileStore({ dir: blocker });
    await expect(store.get(record().key)).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    await store.close();
  });
});
