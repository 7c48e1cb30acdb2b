/**
 * Typed session events. Listeners get facts (public handle, user, time, reason), never a raw
 * session ID or token, so events can be logged as they are.
 */

export interface SessionEventBase {
  /** Public handle of the session (safe to log). */
  handle: string;
  userId: string | null;
  /** Milliseconds since the epoch. */
  at: number;
}

export interface SessionEvents {
  created: SessionEventBase & { strategy: string };
  regenerated: SessionEventBase & {
    previousHandle: string;
    reason: 'regenerate' | 'login' | 'step-up';
  };
  touched: SessionEventBase & { expiresAt: number };
  expired: SessionEventBase & { reason: 'idle' | 'absolute' };
  revoked: SessionEventBase & { reason: 'revoke' | 'revoke-user' | 'limit' | 'anomaly' };
  destroyed: SessionEventBase;
  anomaly: SessionEventBase & {
    kind: 'user-agent' | 'network';
    previous: string;
    current: string;
    action: AnomalyAction;
  };
}

export type SessionEventName = keyof SessionEvents;

/** What the manager does when a session is used from a new browser family or network. */
export type AnomalyAction = 'note' | 'reauthenticate' | 'revoke';

export type SessionEventListener<E extends SessionEventName> = (event: SessionEvents[E]) => void;

/** A minimal typed emitter: no Node `events` dependency, listener errors never break a request. */
export class SessionEventEmitter {
  readonly #listeners = new Map<SessionEventName, Set<(event: never) => void>>();

  /**
   * Subscribes to one event; answers a function that unsubscribes.
   * @example const off = manager.on('revoked', (e) => log.info(e));
   */
  on<E extends SessionEventName>(name: E, listener: SessionEventListener<E>): () => void {
    let set = this.#listeners.get(name);
    if (!set) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener as (event: never) => void);
    return () => {
      set.delete(listener as (event: never) => void);
    };
  }

  emit<E extends SessionEventName>(name: E, event: SessionEvents[E]): void {
    const set = this.#listeners.get(name);
    if (!set) return;
    for (const listener of set) {
      try {
        (listener as SessionEventListener<E>)(event);
      } catch {
        // A failing listener must not turn a session operation into a failure.
      }
    }
  }
}
