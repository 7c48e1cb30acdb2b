/**
 * Shared pieces of the property-based (fuzz) suites: the run count every property uses and a
 * generator of modified copies of a valid input (substitution, insertion, deletion,
 * truncation, extension), never equal to the original.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { isTesseraError } from '../../packages/session/src/shared/errors.js';

/** Runs per property: at least 10,000 (raise with FUZZ_RUNS, never lower). */
export const RUNS = Math.max(10_000, Number(process.env.FUZZ_RUNS ?? 0) || 0);

/** Characters worth trying in a cookie or token: the base64url alphabet and its neighbours. */
const EDIT_CHARS = fc.oneof(
  fc.constantFrom(
    ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ;,"\\%\t\r\n\0',
  ),
  fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }),
);

/**
 * A modified copy of `original`: a character replaced, inserted or deleted, the value cut
 * short or extended. Never equal to `original`.
 */
export function modified(original: string): fc.Arbitrary<string> {
  const n = original.length;
  const at = fc.nat({ max: Math.max(0, n - 1) });
  return fc
    .oneof(
      fc.tuple(at, EDIT_CHARS).map(([i, c]) => original.slice(0, i) + c + original.slice(i + 1)),
      fc
        .tuple(fc.nat({ max: n }), EDIT_CHARS)
        .map(([i, c]) => original.slice(0, i) + c + original.slice(i)),
      at.map((i) => original.slice(0, i) + original.slice(i + 1)),
      at.map((i) => original.slice(0, i)),
      fc.string({ minLength: 1, maxLength: 8 }).map((tail) => original + tail),
    )
    .filter((value) => value !== original);
}

/** Runs `fn`; any exception other than a TesseraError fails the property. */
export function onlyTesseraErrors<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (error) {
    expect(isTesseraError(error), `threw ${String(error)}`).toBe(true);
    return undefined;
  }
}

/** Awaits `promise`; a rejection other than a TesseraError fails the property. */
export async function settleTessera<T>(
  promise: Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; code: string }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    expect(isTesseraError(error), `rejected with ${String(error)}`).toBe(true);
    return { ok: false, code: (error as { code: string }).code };
  }
}
