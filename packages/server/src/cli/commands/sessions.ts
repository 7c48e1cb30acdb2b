/**
 * `tessera sessions list [--user NAME] [--json]` and `tessera sessions revoke ID | --user NAME`.
 * Revocations take effect on running services on the same store at once.
 */
import type { Store } from 'tessera-session';
import { createSessionManager, type SessionInfo, TesseraError } from 'tessera-session';
import { createRefreshTokens } from 'tessera-session/tokens';
import { sessionJson } from '../../service/session-json.js';
import { createUserDirectory } from '../../service/users.js';
import {
  type Command,
  dispatch,
  help,
  noPositionals,
  type Output,
  parse,
  requireUser,
  STORE_HELP,
  table,
  usageError,
  withStore,
} from './shared.js';

export const LIST_USAGE = `Usage: tessera sessions list [--user NAME] [--json] [--store URL]

Lists live signed-in sessions (browser sessions and token clients), of one user or of all.

Options:
  --user NAME            only this user's sessions
  --json                 print a JSON array (the objects of GET /api/sessions, plus "user")
${STORE_HELP}
  -h, --help             show this help`;

export const REVOKE_USAGE = `Usage: tessera sessions revoke ID [--store URL]
       tessera sessions revoke --user NAME [--store URL]

Ends one session (by its session_id) or every session of a user, with their refresh tokens.
Running services refuse them at once.

Options:
  --user NAME            end every session of this user
${STORE_HELP}
  -h, --help             show this help`;

const GROUP_USAGE = `Usage: tessera sessions <list|revoke> [options]\n\n  sessions list [--user NAME] [--json]\n  sessions revoke ID | --user NAME`;

type Row = { user: string; info: SessionInfo };

async function collect(store: Store, user: string | undefined): Promise<Row[]> {
  const manager = createSessionManager({ store });
  const names =
    user !== undefined
      ? [await requireUser(store, user)]
      : (await createUserDirectory(store).list()).map((u) => u.name);
  const all: Row[] = [];
  for (const name of names) {
    for (const info of await manager.listUserSessions(name)) all.push({ user: name, info });
  }
  return all;
}

function print(io: Output, rows: Row[]): void {
  if (rows.length === 0) {
    io.out('no sessions');
    return;
  }
  const lines = table([
    ['SESSION_ID', 'USER', 'STRATEGY', 'LAST SEEN', 'IP', 'USER AGENT'],
    ...rows.map(({ user, info }) => [
      info.handle,
      user,
      info.strategy,
      new Date(info.lastSeenAt).toISOString(),
      info.ip ?? '-',
      (info.userAgent ?? '-').slice(0, 60),
    ]),
  ]);
  for (const line of lines) io.out(line);
}

const list: Command = async (args, env, io) => {
  const parsed = parse(args, { json: true, user: true });
  if (parsed.values.help) return help(io, LIST_USAGE);
  noPositionals(parsed, 'sessions list');
  const rows = await withStore(parsed, env, (store) => collect(store, parsed.values.user));
  if (parsed.values.json) {
    io.out(JSON.stringify(rows.map(({ user, info }) => ({ ...sessionJson(info, ''), user }))));
  } else {
    print(io, rows);
  }
  return 0;
};

const revoke: Command = async (args, env, io) => {
  const parsed = parse(args, { user: true });
  if (parsed.values.help) return help(io, REVOKE_USAGE);
  const [id, ...more] = parsed.positionals;
  const user = parsed.values.user;
  if ((id === undefined) === (user === undefined) || more.length > 0) {
    throw usageError('sessions revoke takes either one session ID or --user NAME; see --help');
  }
  return withStore(parsed, env, async (store) => {
    if (user !== undefined) {
      const name = await requireUser(store, user);
      const count = await createSessionManager({ store }).revokeUserSessions(name);
      io.out(`revoked ${count} ${count === 1 ? 'session' : 'sessions'} of ${name}`);
      return 0;
    }
    const record = await store.getByHandle(String(id));
    if (!record) throw new TesseraError('ERR_SESSION_NOT_FOUND', `no live session with ID "${id}"`);
    await createRefreshTokens({ store }).revokeFamily(record.key);
    io.out(`revoked session ${record.handle}${record.userId ? ` of ${record.userId}` : ''}`);
    return 0;
  });
};

/**
 * @example process.exitCode = await sessionsCommand(['list', '--json'], process.env, console);
 */
export const sessionsCommand: Command = (args, env, io) =>
  dispatch('sessions', args, { list, revoke }, GROUP_USAGE, env, io);
