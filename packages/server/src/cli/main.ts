/**
 * The `tessera` command line. Every command takes `--store URL`, prints help with `--help`
 * and exits non-zero with a one-line reason on error (no stack trace).
 */
import { parseArgs } from 'node:util';
import { TesseraError } from 'tessera-session';
import { resolveServiceConfig } from '../service/config.js';
import type { Output } from './commands.js';

const USAGE = `Usage: tessera <command> [options]

Commands:
  serve                              run the reference service (what \`npm start\` runs)
  users add NAME [--password PW]     add a user (a password is generated when omitted)
  users list [--json]                list users
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

const SERVE_USAGE = `Usage: tessera serve [options]

Options:
  --port N               port to listen on (env PORT, default 3000; 0 picks a free one)
  --host ADDR            address to bind (env HOST, default 127.0.0.1)
  --store URL            sqlite:PATH | memory: | file:DIR | redis://… | rediss://…
                         | redis+cluster://h1:p1,h2:p2 | postgres://…
                         (env TESSERA_STORE, default sqlite:./data/tessera.db)
  --demo                 create demo users alice and bob (env TESSERA_DEMO=1)
  --secure-cookies V     auto | true | false (env TESSERA_SECURE_COOKIES, default auto)
  -h, --help             show this help

Environment: TESSERA_ACCESS_TTL, TESSERA_IDLE_TTL, TESSERA_ABSOLUTE_TTL,
TESSERA_CLOCK_TOLERANCE, TESSERA_REFRESH_GRACE, TESSERA_MASTER_KEY,
TESSERA_ANOMALY_ACTION (note | reauthenticate | revoke), TESSERA_LOG_LEVEL,
TESSERA_TRUST_PROXY (see docs/service.md).`;

const consoleOutput: Output = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
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
  try {
    switch (command) {
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        io.out(USAGE);
        return command === undefined ? 2 : 0;
      case 'serve':
        return await serve(rest, env, io);
      case 'users':
      case 'sessions':
      case 'keys':
      case 'gc':
        // Imported on demand: an admin command never loads Express, pino or prom-client.
        return await (await import('./commands.js')).runCommand(command, rest, env, io);
      default:
        io.err(`tessera: unknown command "${command}"; run tessera --help`);
        return 2;
    }
  } catch (error) {
    io.err(`tessera: ${oneLine(error)}`);
    const usage =
      (error instanceof TesseraError && error.code === 'ERR_CONFIG') ||
      String((error as { code?: unknown })?.code ?? '').startsWith('ERR_PARSE_ARGS');
    return usage ? 2 : 1;
  }
}

async function serve(
  args: string[],
  env: Record<string, string | undefined>,
  io: Output,
): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      store: { type: 'string' },
      demo: { type: 'boolean' },
      'secure-cookies': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    io.out(SERVE_USAGE);
    return 0;
  }
  const config = resolveServiceConfig(values, env);
  const { redact, startService } = await import('../service/serve.js');
  const service = await startService(config);
  io.out(`tessera: listening on ${service.url} (store ${redact(config.store)})`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      service.close().then(resolve, resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  return 0;
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}
