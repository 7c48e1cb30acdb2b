/**
 * `tessera users add NAME [--password PW]` and `tessera users list [--json]`.
 */
import { randomBytes } from 'node:crypto';
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

const GROUP_USAGE = `Usage: tessera users <add|list> [options]\n\n  users add NAME [--password PW]\n  users list [--json]`;

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
    io.out(JSON.stringify(users.map((u) => ({ name: u.name, created_at: u.createdAt }))));
  } else if (users.length === 0) {
    io.out('no users');
  } else {
    for (const line of table([['NAME', 'CREATED'], ...users.map((u) => [u.name, u.createdAt])])) {
      io.out(line);
    }
  }
  return 0;
};

/**
 * @example process.exitCode = await usersCommand(['list'], process.env, console);
 */
export const usersCommand: Command = (args, env, io) =>
  dispatch('users', args, { add, list }, GROUP_USAGE, env, io);
