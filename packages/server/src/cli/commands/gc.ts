/**
 * `tessera gc`: purges expired sessions and key-value entries from the store.
 */
import { type Command, help, noPositionals, parse, STORE_HELP, withStore } from './shared.js';

export const GC_USAGE = `Usage: tessera gc [--store URL]

Purges expired sessions and key-value entries from the store; prints how many.

Options:
${STORE_HELP}
  -h, --help             show this help`;

/**
 * @example process.exitCode = await gcCommand([], process.env, console);
 */
export const gcCommand: Command = async (args, env, io) => {
  const parsed = parse(args, {});
  if (parsed.values.help) return help(io, GC_USAGE);
  noPositionals(parsed, 'gc');
  const count = await withStore(parsed, env, (store) => store.purgeExpired());
  io.out(`purged ${count} expired ${count === 1 ? 'record' : 'records'}`);
  return 0;
};
