import { describe, expect, it, vi } from 'vitest';

// The real CSPRNG, observed: every ID must come from node:crypto's randomBytes.
const calls = vi.hoisted(() => ({ randomBytes: [] as number[] }));
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return {
    ...real,
    randomBytes: (size: number) => {
      calls.randomBytes.push(size);
      return real.randomBytes(size);
    },
  };
});

const { generateHandle, generateSessionId, isValidSessionId } = await import('./ids.js');

describe('session IDs (checklist SID-01)', () => {
  it('100,000 IDs: 32 bytes each from the CSPRNG, base64url only, no collisions, all valid', () => {
    calls.randomBytes.length = 0;
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const id = generateSessionId();
      expect(id.length).toBe(43);
      seen.add(id);
    }
    expect(seen.size).toBe(100_000);
    expect(calls.randomBytes).toHaveLength(100_000);
    expect(calls.randomBytes.every((size) => size === 32)).toBe(true);
    for (const id of seen) {
      if (!/^[A-Za-z0-9_-]{43}$/.test(id) || !isValidSessionId(id)) throw new Error(`bad ID ${id}`);
      if (Buffer.from(id, 'base64url').length !== 32) throw new Error(`short ID ${id}`);
    }
  }, 120_000);

  it('handles are 128 random bits, distinct from IDs', () => {
    calls.randomBytes.length = 0;
    const handle = generateHandle();
    expect(calls.randomBytes).toEqual([16]);
    expect(Buffer.from(handle, 'base64url').length).toBe(16);
    expect(isValidSessionId(handle)).toBe(false);
  });
});
