import { afterEach, describe, expect, it, vi } from 'vitest';

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

async function freshSink(aliases: string[] = []) {
  vi.resetModules();
  const { processDeprecation } = await import('./deprecate.js');
  return processDeprecation(aliases);
}

describe('processDeprecation (depd-style notices)', () => {
  it('prints "<namespace> deprecated <message>" on stderr once per message', async () => {
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    const deprecate = await freshSink();
    deprecate('tessera-session/express', 'undefined resave option; provide resave option');
    deprecate('tessera-session/express', 'undefined resave option; provide resave option');
    expect(written).toEqual([
      'tessera-session/express deprecated undefined resave option; provide resave option\n',
    ]);
  });

  it('is silenced by NO_DEPRECATION naming the namespace or an alias, or by *', async () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    for (const value of ['express-session', 'tessera-session/express', 'foo,*']) {
      vi.stubEnv('NO_DEPRECATION', value);
      const deprecate = await freshSink(['express-session']);
      deprecate('tessera-session/express', 'undefined resave option; provide resave option');
    }
    expect(write).not.toHaveBeenCalled();
  });

  it('hands the notice to process "deprecation" listeners instead of printing', async () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const seen: Array<{ name: string; namespace: string; message: string }> = [];
    const listener = (error: { name: string; namespace: string; message: string }): void => {
      seen.push(error);
    };
    process.on('deprecation' as never, listener);
    try {
      const deprecate = await freshSink();
      deprecate('tessera-session/express', 'req.secret; provide secret option');
    } finally {
      process.off('deprecation' as never, listener);
    }
    expect(write).not.toHaveBeenCalled();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      name: 'DeprecationError',
      namespace: 'tessera-session/express',
      message: 'req.secret; provide secret option',
    });
  });
});
