import { describe, expect, it } from 'vitest';
import { TesseraError } from './errors.js';
import { assertPeer, requirePeer } from './require-peer.js';

describe('requirePeer / assertPeer', () => {
  it('loads an installed peer', () => {
    const cookie = requirePeer<{ parse: unknown }>('cookie', 'tessera-session/x');
    expect(typeof cookie.parse).toBe('function');
    expect(() => assertPeer('cookie', 'tessera-session/x')).not.toThrow();
  });

  it('turns a missing peer into one ERR_CONFIG line naming the package to install', () => {
    for (const call of [
      () => requirePeer('tessera-no-such-driver', 'tessera-session/stores/x'),
      () => assertPeer('tessera-no-such-driver', 'tessera-session/stores/x'),
    ]) {
      let error: unknown;
      try {
        call();
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(TesseraError);
      expect(error).toMatchObject({
        code: 'ERR_CONFIG',
        message:
          'tessera-session/stores/x needs the "tessera-no-such-driver" package: npm install tessera-no-such-driver',
      });
    }
  });
});
