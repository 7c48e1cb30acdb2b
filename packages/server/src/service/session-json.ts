/**
 * The JSON shape of a session in `GET /api/sessions` and `tessera sessions list --json`.
 */
import type { SessionInfo } from 'tessera-session';

/**
 * One session as the API shows it; `current` when its handle is `currentHandle`.
 * @example sessionJson(info, caller.handle) // { session_id, current, strategy, … }
 */
export function sessionJson(info: SessionInfo, currentHandle: string): Record<string, unknown> {
  return {
    session_id: info.handle,
    current: info.handle === currentHandle,
    strategy: info.strategy,
    created_at: new Date(info.createdAt).toISOString(),
    last_seen_at: new Date(info.lastSeenAt).toISOString(),
    expires_at: new Date(info.expiresAt).toISOString(),
    user_agent: info.userAgent,
    ip: info.ip,
  };
}
