/**
 * The admin commands of the `tessera` CLI: users, sessions, keys and gc. Each opens the
 * store named by `--store` (or TESSERA_STORE, or the default SQLite file), does one thing and
 * closes it, so it works beside a running service on the same store: revocations and key
 * rotations take effect there at once (sessions) or within 5 seconds (keys).
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { Store } from 'tessera-session';
import { createSessionManager, type SessionInfo, TesseraError } from 'tessera-session';
import { createRefreshTokens, loadKeyring } from 'tessera-session/tokens';
import { retireSigningKey, rotateSigningKey } from '../service/keys.js';
import { DEFAULT_STORE_URL, openStore } from '../service/open-store.js';
import { sessionJson } from '../service/session-json.js';
import { createUserDirectory, normalizeUserName } from '../service/users.js';

/** Where the commands write (tests pass their own). */
export interface Output {
  out(line: string): void;
  err(line: string): void;
}

type Env = Record<string, string | undefined>;

const STORE_HELP = `  --store URL            sqlite:PATH | memory: | file:DIR | redis://… | postgres://…
                         (env TESSERA_STORE, default ${DEFAULT_STORE_URL})`;

export const USAGES: Record<string, string> = {
  'users add': `Usage: tessera users add NAME [--password PW] [--store URL]

Adds a user. Without --password a strong password is generated and printed once.

Options:
  --password PW          the password (8 to 1024 characters)
${STORE_HELP}
  -h, --help             show this help`,
  'users list': `Usage: tessera users list [--json] [--store URL]

Lists the users (names and creation times; never a password hash).

Options:
  --json                 print a JSON array
${STORE_HELP}
  -h, --help             show this help`,
  'sessions list': `Usage: tessera sessions list [--user NAME] [--json] [--store URL]

Lists live signed-in sessions (browser sessions and token clients), of one user or of all.

Options:
  --user NAME            only this user's sessions
  --json                 print a JSON array (the objects of GET /api/sessions, plus "user")
${STORE_HELP}
  -h, --help             show this help`,
  'sessions revoke': `Usage: tessera sessions revoke ID [--store URL]
       tessera sessions revoke --user NAME [--store URL]

Ends one session (by its session_id) or every session of a user, with their refresh tokens.
Running services refuse them at once.

Options:
  --user NAME            end every session of this user
${STORE_HELP}
  -h, --help             show this help`,
  'keys list': `Usage: tessera keys list [--json] [--store URL]

Lists the access-token signing keys (kid, algorithm, active, activated at).
Set TESSERA_MASTER_KEY when the keys are stored encrypted.

Options:
  --json                 print a JSON array
${STORE_HELP}
  -h, --help             show this help`,
  'keys rotate': `Usage: tessera keys rotate [--store URL]

Makes a new EdDSA signing key the active one. Tokens signed by older keys keep verifying.
Running services pick the new key up within 5 seconds.

Options:
${STORE_HELP}
  -h, --help             show this help`,
  'keys retire': `Usage: tessera keys retire KID [--store URL]

Removes a signing key that is no longer active: tokens it signed stop verifying and it leaves
the JWKS. Running services drop it within 5 seconds. The active key cannot be retired:
rotate first, then retire the old key once its tokens have expired (the access-token
lifetime, 5 minutes by default).

Options:
${STORE_HELP}
  -h, --help             show this help`,
  gc: `Usage: tessera gc [--store URL]

Purges expired sessions and key-value entries from the store; prints how many.

Options:
${STORE_HELP}
  -h, --help             show this help`,
};

export const GROUP_USAGES: Record<string, string> = {
  users: `Usage: tessera users <add|list> [options]\n\n  users add NAME [--password PW]\n  users list [--json]`,
  sessions: `Usage: tessera sessions <list|revoke> [options]\n\n  sessions list [--user NAME] [--json]\n  sessions revoke ID | --user NAME`,
  keys: `Usage: tessera keys <list|rotate|retire> [options]\n\n  keys list [--json]\n  keys rotate\n  keys retire KID`,
};

interface Parsed {
  values: { store?: string; json?: boolean; user?: string; password?: string; help?: boolean };
  positionals: string[];
}

function parse(
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

async function withStore<T>(
  parsed: Parsed,
  env: Env,
  work: (store: Store) => Promise<T>,
): Promise<T> {
  const url =
    (parsed.values.store ?? env.TESSERA_STORE ?? DEFAULT_STORE_URL).trim() || DEFAULT_STORE_URL;
  const store = await openStore(url);
  try {
    return await work(store);
  } finally {
    await store.close().catch(() => {});
  }
}

function usageError(message: string): TesseraError {
  return new TesseraError('ERR_CONFIG', message);
}

function noPositionals(parsed: Parsed, command: string): void {
  if (parsed.positionals.length > 0) {
    throw usageError(`${command} takes no argument (got "${parsed.positionals[0]}"); see --help`);
  }
}

async function requireUser(store: Store, name: string): Promise<string> {
  const user = normalizeUserName(name);
  if (!(await createUserDirectory(store).exists(user))) {
    throw new TesseraError('ERR_INVALID_ARGUMENT', `unknown user "${user}"`);
  }
  return user;
}

function table(rows: string[][]): string[] {
  const widths =
    rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

/**
 * Runs one admin command; answers the exit code.
 * @example await runCommand('users', ['add', 'carol'], process.env, console);
 */
export async function runCommand(
  group: string,
  args: string[],
  env: Env,
  io: Output,
): Promise<number> {
  const [sub, ...rest] = args;
  const key = group === 'gc' ? 'gc' : `${group} ${sub ?? ''}`;
  const restArgs = group === 'gc' ? args : rest;
  const usage = USAGES[key];
  if (usage === undefined) {
    if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
      io.out(GROUP_USAGES[group] ?? '');
      return sub === undefined ? 2 : 0;
    }
    throw usageError(`unknown command "${group} ${sub}"; run tessera ${group} --help`);
  }
  switch (key) {
    case 'users add': {
      const parsed = parse(restArgs, { password: true });
      if (parsed.values.help) return help(io, usage);
      const [name, ...more] = parsed.positionals;
      if (name === undefined || more.length > 0)
        throw usageError('users add takes one NAME; see --help');
      const generated = parsed.values.password === undefined;
      const password = parsed.values.password ?? randomBytes(18).toString('base64url');
      await withStore(parsed, env, (store) => createUserDirectory(store).add(name, password));
      io.out(`added user ${normalizeUserName(name)}`);
      if (generated) io.out(`password: ${password}  (shown once; store it now)`);
      return 0;
    }
    case 'users list': {
      const parsed = parse(restArgs, { json: true });
      if (parsed.values.help) return help(io, usage);
      noPositionals(parsed, 'users list');
      const list = await withStore(parsed, env, (store) => createUserDirectory(store).list());
      if (parsed.values.json)
        io.out(JSON.stringify(list.map((u) => ({ name: u.name, created_at: u.createdAt }))));
      else if (list.length === 0) io.out('no users');
      else
        for (const line of table([['NAME', 'CREATED'], ...list.map((u) => [u.name, u.createdAt])]))
          io.out(line);
      return 0;
    }
    case 'sessions list': {
      const parsed = parse(restArgs, { json: true, user: true });
      if (parsed.values.help) return help(io, usage);
      noPositionals(parsed, 'sessions list');
      const rows = await withStore(parsed, env, async (store) => {
        const manager = createSessionManager({ store });
        const names =
          parsed.values.user !== undefined
            ? [await requireUser(store, parsed.values.user)]
            : (await createUserDirectory(store).list()).map((u) => u.name);
        const all: Array<{ user: string; info: SessionInfo }> = [];
        for (const user of names) {
          for (const info of await manager.listUserSessions(user)) all.push({ user, info });
        }
        return all;
      });
      if (parsed.values.json) {
        io.out(JSON.stringify(rows.map(({ user, info }) => ({ ...sessionJson(info, ''), user }))));
      } else if (rows.length === 0) {
        io.out('no sessions');
      } else {
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
      return 0;
    }
    case 'sessions revoke': {
      const parsed = parse(restArgs, { user: true });
      if (parsed.values.help) return help(io, usage);
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
        if (!record)
          throw new TesseraError('ERR_SESSION_NOT_FOUND', `no live session with ID "${id}"`);
        await createRefreshTokens({ store }).revokeFamily(record.key);
        io.out(`revoked session ${record.handle}${record.userId ? ` of ${record.userId}` : ''}`);
        return 0;
      });
    }
    case 'keys list': {
      const parsed = parse(restArgs, { json: true });
      if (parsed.values.help) return help(io, usage);
      noPositionals(parsed, 'keys list');
      const keys = await withStore(parsed, env, async (store) => {
        const ring = await loadKeyring(
          store,
          env.TESSERA_MASTER_KEY ? { masterKey: env.TESSERA_MASTER_KEY } : {},
        );
        return ring.list();
      });
      const rows = keys.map((k) => ({
        kid: k.kid,
        alg: k.alg,
        active: k.active,
        can_sign: k.canSign,
        activated_at: k.activatedAt === null ? null : new Date(k.activatedAt).toISOString(),
      }));
      if (parsed.values.json) io.out(JSON.stringify(rows));
      else if (rows.length === 0) io.out('no keys (tessera serve makes one on first start)');
      else {
        const lines = table([
          ['KID', 'ALG', 'ACTIVE', 'ACTIVATED'],
          ...rows.map((r) => [r.kid, r.alg, r.active ? 'yes' : 'no', r.activated_at ?? '-']),
        ]);
        for (const line of lines) io.out(line);
      }
      return 0;
    }
    case 'keys rotate': {
      const parsed = parse(restArgs, {});
      if (parsed.values.help) return help(io, usage);
      noPositionals(parsed, 'keys rotate');
      const kid = await withStore(parsed, env, (store) =>
        rotateSigningKey(store, env.TESSERA_MASTER_KEY || undefined),
      );
      io.out(`new active key ${kid} (running services use it within 5 s; older keys still verify)`);
      return 0;
    }
    case 'keys retire': {
      const parsed = parse(restArgs, {});
      if (parsed.values.help) return help(io, usage);
      const [kid, ...extra] = parsed.positionals;
      if (kid === undefined || extra.length > 0) {
        throw usageError('keys retire takes one key ID (see tessera keys list)');
      }
      await withStore(parsed, env, (store) =>
        retireSigningKey(store, kid, env.TESSERA_MASTER_KEY || undefined),
      );
      io.out(`retired key ${kid} (running services stop accepting its tokens within 5 s)`);
      return 0;
    }
    case 'gc': {
      const parsed = parse(restArgs, {});
      if (parsed.values.help) return help(io, usage);
      noPositionals(parsed, 'gc');
      const count = await withStore(parsed, env, (store) => store.purgeExpired());
      io.out(`purged ${count} expired ${count === 1 ? 'record' : 'records'}`);
      return 0;
    }
    default:
      throw usageError(`unknown command "${key}"`);
  }
}

function help(io: Output, usage: string): number {
  io.out(usage);
  return 0;
}
