/**
 * The demo accounts `alice` / `alice-password` and `bob` / `bob-password`: created by `--demo`
 * when absent, and removed (with every session they have) when the service starts without
 * `--demo`, so published passwords never outlive the demo. An account counts as a demo
 * account when its password is the published one, whoever created it.
 */
import type { Logger } from 'pino';
import type { SessionManager } from 'tessera-session';
import type { UserDirectory } from './users.js';

/** The demo accounts and their published passwords. */
export const DEMO_USERS: ReadonlyArray<readonly [string, string]> = [
  ['alice', 'alice-password'],
  ['bob', 'bob-password'],
];

/**
 * With `demo`, adds the demo users when absent; without, removes them and ends their sessions.
 * @example await syncDemoUsers(users, manager, config.demo, logger);
 */
export async function syncDemoUsers(
  users: UserDirectory,
  manager: Pick<SessionManager, 'revokeUserSessions'>,
  demo: boolean,
  logger: Logger,
): Promise<void> {
  for (const [name, password] of DEMO_USERS) {
    if (demo) {
      if (await users.addIfAbsent(name, password)) {
        logger.info({ event: 'demo_user', user: name }, 'demo user created');
      }
    } else if ((await users.verify(name, password)) !== null) {
      await users.remove(name);
      const ended = await manager.revokeUserSessions(name);
      logger.warn(
        { event: 'demo_user_removed', user: name, sessions: ended },
        'demo user removed (the service runs without --demo)',
      );
    }
  }
}
