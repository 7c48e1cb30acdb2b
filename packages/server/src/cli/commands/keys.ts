/**
 * `tessera keys list [--json]`, `tessera keys rotate` and `tessera keys retire KID`: the
 * access-token signing keys in the store. Running services pick changes up within 5 s.
 */
import { loadKeyring } from 'tessera-session/tokens';
import { retireSigningKey, rotateSigningKey } from '../../service/keys.js';
import { resolveMasterKey } from '../../service/master-key.js';
import {
  type Command,
  dispatch,
  type Env,
  help,
  noPositionals,
  type Output,
  type Parsed,
  parse,
  STORE_HELP,
  storeUrl,
  table,
  usageError,
  withStore,
} from './shared.js';

export const LIST_USAGE = `Usage: tessera keys list [--json] [--store URL]

Lists the access-token signing keys (kid, algorithm, active, activated at).
The private parts are sealed with the service's master key: TESSERA_MASTER_KEY, else the
key file beside the store (TESSERA_MASTER_KEY_FILE, default ./data/tessera.key).

Options:
  --json                 print a JSON array
${STORE_HELP}
  -h, --help             show this help`;

export const ROTATE_USAGE = `Usage: tessera keys rotate [--store URL]

Makes a new EdDSA signing key the active one. Tokens signed by older keys keep verifying.
Running services pick the new key up within 5 seconds.

Options:
${STORE_HELP}
  -h, --help             show this help`;

export const RETIRE_USAGE = `Usage: tessera keys retire KID [--store URL]

Removes a signing key that is no longer active: tokens it signed stop verifying and it leaves
the JWKS. Running services drop it within 5 seconds. The active key cannot be retired:
rotate first, then retire the old key once its tokens have expired (the access-token
lifetime, 5 minutes by default).

Options:
${STORE_HELP}
  -h, --help             show this help`;

const GROUP_USAGE = `Usage: tessera keys <list|rotate|retire> [options]\n\n  keys list [--json]\n  keys rotate\n  keys retire KID`;

/** The master key the service uses for this store (TESSERA_MASTER_KEY, or the key file). */
function masterKeyOf(parsed: Parsed, env: Env): string | undefined {
  return resolveMasterKey(storeUrl(parsed, env), env).key;
}

interface KeyRow {
  kid: string;
  alg: string;
  active: boolean;
  can_sign: boolean;
  activated_at: string | null;
}

function print(io: Output, rows: KeyRow[]): void {
  if (rows.length === 0) {
    io.out('no keys (tessera serve makes one on first start)');
    return;
  }
  const lines = table([
    ['KID', 'ALG', 'ACTIVE', 'ACTIVATED'],
    ...rows.map((r) => [r.kid, r.alg, r.active ? 'yes' : 'no', r.activated_at ?? '-']),
  ]);
  for (const line of lines) io.out(line);
}

const list: Command = async (args, env, io) => {
  const parsed = parse(args, { json: true });
  if (parsed.values.help) return help(io, LIST_USAGE);
  noPositionals(parsed, 'keys list');
  const masterKey = masterKeyOf(parsed, env);
  const keys = await withStore(parsed, env, async (store) =>
    (await loadKeyring(store, masterKey === undefined ? {} : { masterKey })).list(),
  );
  const rows: KeyRow[] = keys.map((k) => ({
    kid: k.kid,
    alg: k.alg,
    active: k.active,
    can_sign: k.canSign,
    activated_at: k.activatedAt === null ? null : new Date(k.activatedAt).toISOString(),
  }));
  if (parsed.values.json) io.out(JSON.stringify(rows));
  else print(io, rows);
  return 0;
};

const rotate: Command = async (args, env, io) => {
  const parsed = parse(args, {});
  if (parsed.values.help) return help(io, ROTATE_USAGE);
  noPositionals(parsed, 'keys rotate');
  const kid = await withStore(parsed, env, (store) =>
    rotateSigningKey(store, masterKeyOf(parsed, env)),
  );
  io.out(`new active key ${kid} (running services use it within 5 s; older keys still verify)`);
  return 0;
};

const retire: Command = async (args, env, io) => {
  const parsed = parse(args, {});
  if (parsed.values.help) return help(io, RETIRE_USAGE);
  const [kid, ...extra] = parsed.positionals;
  if (kid === undefined || extra.length > 0) {
    throw usageError('keys retire takes one key ID (see tessera keys list)');
  }
  await withStore(parsed, env, (store) => retireSigningKey(store, kid, masterKeyOf(parsed, env)));
  io.out(`retired key ${kid} (running services stop accepting its tokens within 5 s)`);
  return 0;
};

/**
 * @example process.exitCode = await keysCommand(['rotate'], process.env, console);
 */
export const keysCommand: Command = (args, env, io) =>
  dispatch('keys', args, { list, rotate, retire }, GROUP_USAGE, env, io);
