/**
 * Account lifecycle shared by the CLI and the API: disabling or deleting a user ends every
 * session of that user at once — browser sessions, token sessions with their refresh
 * families, and so their access tokens (the service accepts a token only while its session
 * lives). A disabled user cannot sign in until enabled again.
 */
import type { SessionManager } from 'tessera-session';
import { TesseraError } from 'tessera-session';
import type { UserDirectory } from './users.js';

/** What happened to an account. */
export interface AccountChange {
  user: string;
  /** Sessions ended. */
  sessions: number;
}

/**
 * Disables (`'disable'`), enables (`'enable'`) or deletes (`'delete'`) a user; disabling and
 * deleting end every session. Throws ERR_INVALID_ARGUMENT for an unknown user.
 * @example await changeAccount(users, manager, 'mallory', 'disable');
 */
export async function changeAccount(
  users: UserDirectory,
  manager: Pick<SessionManager, 'revokeUserSessions'>,
  name: string,
  action: 'disable' | 'enable' | 'delete',
): Promise<AccountChange> {
  const found =
    action === 'delete'
      ? await users.remove(name)
      : await users.setDisabled(name, action === 'disable');
  if (!found) throw new TesseraError('ERR_INVALID_ARGUMENT', `unknown user "${name}"`);
  const sessions = action === 'enable' ? 0 : await manager.revokeUserSessions(name);
  return { user: name, sessions };
}
