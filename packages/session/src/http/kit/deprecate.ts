/**
 * Deprecation notices of a drop-in adapter, shown the way the `depd` package shows its
 * peer's (express-session uses depd): `<namespace> deprecated <message>` on stderr, once per
 * message per process; silenced by `--no-deprecation` or by the namespace in the
 * `NO_DEPRECATION` environment variable (comma or space separated, `*` for all); handed to
 * `process.on('deprecation')` listeners instead of printed when there are any.
 */

/** Where notices go (tests inject one); default: depd's rules on the process. */
export type DeprecationSink = (namespace: string, message: string) => void;

const shown = new Set<string>();

function silenced(namespaces: readonly string[]): boolean {
  if ((process as { noDeprecation?: boolean }).noDeprecation) return true;
  const listed = (process.env.NO_DEPRECATION ?? '').split(/[\s,]+/).filter(Boolean);
  return listed.some((entry) => entry === '*' || namespaces.includes(entry));
}

/**
 * The default sink: depd's observable behaviour. `aliases` are other namespaces whose
 * silencing also applies (a drop-in honours its peer's `NO_DEPRECATION=express-session`).
 * @example processDeprecation(['express-session'])('tessera-session/express', 'undefined resave option; provide resave option');
 */
export function processDeprecation(aliases: readonly string[] = []): DeprecationSink {
  return (namespace, message) => {
    const key = `${namespace}\u0000${message}`;
    if (shown.has(key) || silenced([namespace, ...aliases])) return;
    shown.add(key);
    if (process.listenerCount('deprecation') > 0) {
      const error = Object.assign(new Error(message), { name: 'DeprecationError', namespace });
      process.emit('deprecation' as never, error as never);
      return;
    }
    process.stderr.write(`${namespace} deprecated ${message}\n`);
  };
}
