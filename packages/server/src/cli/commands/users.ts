/**
 * `tessera users add NAME [--password PW]` and `tessera users list [--json]`.
 */
import { randomBytes } from 'node:crypto';
import { createSessionManager } from 'tessera-session';
import { changeAccount } from '../../service/account.js';
import { createUserDirectory, normalizeUserName } from '../../service/users.js';
import {
  type Command,
  dispatch,
  help,
  noPositionals,
  parse,
  STORE_HELP,
  table,
  usageError,
  withStore,
} from './shared.js';

export const ADD_USAGE = `Usage: tessera users add NAME [--password PW] [--store URL]

Adds a user. Without --password a strong password is generated and printed once.

Options:
  --password PW          the password (8 to 1024 characters)
${STORE_HELP}
  -h, --help             show this help`;

export const LIST_USAGE = `Usage: tessera users list [--json] [--store URL]

Lists the users (names and creation times; never a password hash).

Options:
  --json                 print a JSON array
${STORE_HELP}
  -h, --help             show this help`;

export const CHANGE_USAGE = `Usage: tessera users <disable|enable|delete> NAME [--store URL]

disable: the user can no longer sign in, and every session ends at once (browser sessions,
         token sessions with their refresh tokens, and so their access tokens).
enable:  the user can sign in again.
delete:  removes the user and ends every session, as disable does.
Running services refuse the ended sessions and tokens at once.

Options:
${STORE_HELP}
  -h, --help             show this help`;

const GROUP_USAGE = `Usage: tessera users <add|list|disable|enable|delete> [options]

  users add NAME [--password PW]
  users list [--json]
  users disable NAME | users enable NAME | users delete NAME`;

const add: Command = async (args, env, io) => {
  const parsed = parse(args, { password: true });
  if (parsed.values.help) return help(io, ADD_USAGE);
  const [name, ...more] = parsed.positionals;
  if (name === undefined || more.length > 0)
    throw usageError('users add takes one NAME; see --help');
  const generated = parsed.values.password === undefined;
  const password = parsed.values.password ?? randomBytes(18).toString('base64url');
  await withStore(parsed, env, (store) => createUserDirectory(store).add(name, password));
  io.out(`added user ${normalizeUserName(name)}`);
  if (generated) io.out(`password: ${password}  (shown once; store it now)`);
  return 0;
};

const list: Command = async (args, env, io) => {
  const parsed = parse(args, { json: true });
  if (parsed.values.help) return help(io, LIST_USAGE);
  noPositionals(parsed, 'users list');
  const users = await withStore(parsed, env, (store) => createUserDirectory(store).list());
  if (parsed.values.json) {
    io.out(
      JSON.stringify(
        users.map((u) => ({ name: u.name, created_at: u.createdAt, disabled: u.disabled })),
      ),
    );
  } else if (users.length === 0) {
    io.out('no users');
  } else {
    const rows = users.map((u) => [u.name, u.createdAt, u.disabled ? 'disabled' : '']);
    for (const line of table([['NAME', 'CREATED', 'STATUS'], ...rows])) {
      io.out(line);
    }
  }
  return 0;
};

function change(action: 'disable' | 'enable' | 'delete'): Command {
  return async (args, env, io) => {
    const parsed = parse(args, {});
    if (parsed.values.help) return help(io, CHANGE_USAGE);
    const [name, ...more] = parsed.positionals;
    if (name === undefined || more.length > 0) {
      throw usageError(`users ${action} takes one NAME; see --help`);
    }
    const user = normalizeUserName(name);
    const result = await withStore(parsed, env, (store) =>
      changeAccount(createUserDirectory(store), createSessionManager({ store }), user, action),
    );
    const ended =
      action === 'enable'
        ? ''
        : ` (${result.sessions} ${result.sessions === 1 ? 'session' : 'sessions'} ended)`;
    io.out(`${action === 'delete' ? 'deleted' : `${action}d`} user ${user}${ended}`);
    return 0;
  };
}

/**
 * @example process.exitCode = await usersCommand(['list'], process.env, console);
 */
export const usersCommand: Command = (args, env, io) =>
  dispatch(
    'users',
    args,
    { add, list, disable: change('disable'), enable: change('enable'), delete: change('delete') },
    GROUP_USAGE,
    env,
    io,
  );
