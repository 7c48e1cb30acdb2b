/**
 * The runtime entry of `tessera-session/testing` (its types are `index.ts`'s). Vitest is an
 * optional peer that `index.ts` imports statically; an ES module's static imports are
 * resolved before any of its code runs, so this entry checks for Vitest first and then loads
 * the suite, turning a missing Vitest into one line that says what to install.
 * @example
 * import { testStore } from 'tessera-session/testing';
 * testStore('memory', () => createMemoryStore());
 */
import { assertPeer } from '../../shared/require-peer.js';

assertPeer('vitest', 'tessera-session/testing');
const suite = await import('./index.js');

export type { MakeStore, ManualClock, StoreTestOptions } from './index.js';
export const { createManualClock, makeRecord, recordStoreCalls, testStore } = suite;
