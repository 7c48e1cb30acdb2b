/**
 * The `tessera` command line: dispatches to one file per command under `commands/`. Every
 * command takes `--store URL`, prints help with `--help` and exits non-zero with a one-line
 * reason on error (no stack trace).
 */
import { TesseraError } from 'tessera-session';
import { redact } from '../service/open-store.js';
import type { Command, Output } from './commands/shared.js';

const USAGE = `Usage: tessera <command> [options]

Commands:
  serve                              run the reference service (what \`npm start\` runs)
  users add NAME [--password PW]     add a user (a password is generated when omitted)
  users list [--json]                list users
  users disable|enable|delete NAME   disable, enable or delete a user (ends every session)
  sessions list [--user NAME] [--json]
                                     list signed-in sessions
  sessions revoke ID                 end one session (its session_id)
  sessions revoke --user NAME        end every session of a user
  keys list [--json]                 list access-token signing keys
  keys rotate                        make a new signing key active
  keys retire KID                    remove a key that no longer signs
  gc                                 purge expired records

Every command takes --store URL (env TESSERA_STORE, default sqlite:./data/tessera.db).
Run \`tessera <command> --help\` for a command's options.`;

const consoleOutput: Output = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
};

/** Each command's module, loaded only when that command runs. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./commands/serve.js')).serveCommand,
  users: async () => (await import('./commands/users.js')).usersCommand,
  sessions: async () => (await import('./commands/sessions.js')).sessionsCommand,
  keys: async () => (await import('./commands/keys.js')).keysCommand,
  gc: async () => (await import('./commands/gc.js')).gcCommand,
};

/**
 * Runs the CLI; answers the exit code.
 * @example process.exitCode = await main(process.argv.slice(2));
 */
export async function main(
  args: string[],
  env: Record<string, string | undefined> = process.env,
  io: Output = consoleOutput,
): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    io.out(USAGE);
    return command === undefined ? 2 : 0;
  }
  const load = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!load) {
    io.err(`tessera: unknown command "${command}"; run tessera --help`);
    return 2;
  }
  try {
    return await (await load())(rest, env, io);
  } catch (error) {
    io.err(`tessera: ${oneLine(error)}`);
    const usage =
      (error instanceof TesseraError && error.code === 'ERR_CONFIG') ||
      String((error as { code?: unknown })?.code ?? '').startsWith('ERR_PARSE_ARGS');
    return usage ? 2 : 1;
  }
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // A driver's message may quote the store URL: never print its credentials.
  return (message.split('\n')[0] ?? message).replace(/[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, redact);
}
