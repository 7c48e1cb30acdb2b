/**
 * What every admin command shares: the output sink, argument parsing, opening the store
 * named by `--store` (closed again when the command is done), usage errors and tables.
 */
import { parseArgs } from 'node:util';
import type { Store } from 'tessera-session';
import { TesseraError } from 'tessera-session';
import { DEFAULT_STORE_URL, openStore } from '../../service/open-store.js';
import { prepareStoreFiles, tightenStoreFiles } from '../../service/store-files.js';
import { createUserDirectory, normalizeUserName } from '../../service/users.js';

/** Where the commands write (tests pass their own). */
export interface Output {
  out(line: string): void;
  err(line: string): void;
}

export type Env = Record<string, string | undefined>;

/** A subcommand: its arguments after the subcommand name; answers the exit code. */
export type Command = (args: string[], env: Env, io: Output) => Promise<number>;

export const STORE_HELP = `  --store URL            sqlite:PATH | memory: | file:DIR | redis://… | postgres://…
                         (env TESSERA_STORE, default ${DEFAULT_STORE_URL})`;

export interface Parsed {
  values: { store?: string; json?: boolean; user?: string; password?: string; help?: boolean };
  positionals: string[];
}

/**
 * Parses a command's arguments: `--store` and `--help` always, the others on request.
 * @example const parsed = parse(args, { json: true });
 */
export function parse(
  args: string[],
  extra: { json?: boolean; user?: boolean; password?: boolean },
): Parsed {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    store: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  };
  if (extra.json) options.json = { type: 'boolean' };
  if (extra.user) options.user = { type: 'string' };
  if (extra.password) options.password = { type: 'string' };
  return parseArgs({ args, options, allowPositionals: true, strict: true }) as Parsed;
}

/** The store URL a command uses: `--store`, then TESSERA_STORE, then the default. */
export function storeUrl(parsed: Parsed, env: Env): string {
  return (
    (parsed.values.store ?? env.TESSERA_STORE ?? DEFAULT_STORE_URL).trim() || DEFAULT_STORE_URL
  );
}

/**
 * Opens the command's store, runs `work`, closes the store.
 * @example await withStore(parsed, env, (store) => store.purgeExpired());
 */
export async function withStore<T>(
  parsed: Parsed,
  env: Env,
  work: (store: Store) => Promise<T>,
): Promise<T> {
  const url = storeUrl(parsed, env);
  prepareStoreFiles(url);
  const store = await openStore(url);
  try {
    tightenStoreFiles(url);
    return await work(store);
  } finally {
    await store.close().catch(() => {});
  }
}

/** A usage error: exit code 2 and a one-line reason. */
export function usageError(message: string): TesseraError {
  return new TesseraError('ERR_CONFIG', message);
}

/** Throws a usage error when the command got positional arguments it does not take. */
export function noPositionals(parsed: Parsed, command: string): void {
  if (parsed.positionals.length > 0) {
    throw usageError(`${command} takes no argument (got "${parsed.positionals[0]}"); see --help`);
  }
}

/** The normalised name of an existing user, or ERR_INVALID_ARGUMENT. */
export async function requireUser(store: Store, name: string): Promise<string> {
  const user = normalizeUserName(name);
  if (!(await createUserDirectory(store).exists(user))) {
    throw new TesseraError('ERR_INVALID_ARGUMENT', `unknown user "${user}"`);
  }
  return user;
}

/** Rows as aligned text columns. */
export function table(rows: string[][]): string[] {
  const widths =
    rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

/** Prints `usage`; exit code 0. */
export function help(io: Output, usage: string): number {
  io.out(usage);
  return 0;
}

/**
 * Dispatches `group sub args` to one of `subcommands`, printing the group's usage for
 * `--help` or no subcommand.
 * @example return dispatch('keys', args, { list, rotate, retire }, GROUP_USAGE, env, io);
 */
export function dispatch(
  group: string,
  args: string[],
  subcommands: Record<string, Command>,
  usage: string,
  env: Env,
  io: Output,
): Promise<number> {
  const [sub, ...rest] = args;
  const command = sub === undefined ? undefined : subcommands[sub];
  if (command && Object.hasOwn(subcommands, sub as string)) return command(rest, env, io);
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.out(usage);
    return Promise.resolve(sub === undefined ? 2 : 0);
  }
  throw usageError(`unknown command "${group} ${sub}"; run tessera ${group} --help`);
}
