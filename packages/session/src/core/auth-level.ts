/**
 * The authentication level of a session (ASVS 5.0 7.5): how strongly its user proved who
 * they are, on a ladder the app defines (e.g. 1 = password, 2 = a second factor), and the
 * methods used (short names like OpenID Connect's `amr`: `pwd`, `otp`, `hwk`). Both live in
 * the record's `meta` (`authLevel`, `authMethods`), which every store merges key by key, so
 * no store needs a schema change. They describe the session's latest authentication, the one
 * at `authAt`: an old strong sign-in never vouches for a later, weaker one.
 */
import { TesseraError } from '../shared/errors.js';
import type { SessionMeta } from '../stores/store.js';

/** The level a sign-in records when the app names none (a password, say). */
export const DEFAULT_AUTH_LEVEL = 1;

/** At most this many methods per authentication. */
const MAX_METHODS = 16;
/** A method is a short token: letters, digits, `_`, `-`, `.`, `:`; 1 to 32 characters. */
const METHOD = /^[A-Za-z0-9_.:-]{1,32}$/;

/** How strongly a user authenticated: what `login` and `stepUp` record on a session. */
export interface AuthLevelFacts {
  /** A positive integer on the app's own ladder. */
  level: number;
  /** The methods used, in order, without duplicates. */
  methods: string[];
}

/**
 * Checks a level and methods given to `login` or `stepUp`; throws `ERR_INVALID_ARGUMENT`
 * naming what is wrong. Answers them with the defaults applied.
 * @example authLevelFacts('stepUp', 2, ['pwd', 'otp']) // { level: 2, methods: ['pwd', 'otp'] }
 */
export function authLevelFacts(
  operation: string,
  level: unknown,
  methods: unknown,
): AuthLevelFacts {
  const chosen = level === undefined ? DEFAULT_AUTH_LEVEL : level;
  if (typeof chosen !== 'number' || !Number.isSafeInteger(chosen) || chosen < 1) {
    throw new TesseraError(
      'ERR_INVALID_ARGUMENT',
      `${operation}: level must be a positive integer (1 = a password, 2 = a second factor, …), got ${describe(level)}`,
    );
  }
  if (methods === undefined) return { level: chosen, methods: [] };
  if (!Array.isArray(methods) || methods.length > MAX_METHODS) {
    throw new TesseraError(
      'ERR_INVALID_ARGUMENT',
      `${operation}: methods must be an array of at most ${MAX_METHODS} short strings, e.g. ['pwd', 'otp']`,
    );
  }
  for (const method of methods) {
    if (typeof method !== 'string' || !METHOD.test(method)) {
      throw new TesseraError(
        'ERR_INVALID_ARGUMENT',
        `${operation}: each method must be 1 to 32 letters, digits or _ . : - (like 'pwd' or 'otp'), got ${describe(method)}`,
      );
    }
  }
  return { level: chosen, methods: [...new Set(methods as string[])] };
}

/**
 * The level a stored session records: its `meta.authLevel`, 1 for a signed-in session stored
 * before levels existed, null for an anonymous one.
 * @example authLevelOf(session.userId, session.meta) // 2
 */
export function authLevelOf(userId: string | null, meta: SessionMeta): number | null {
  if (userId === null) return null;
  const level = meta.authLevel;
  return typeof level === 'number' && Number.isSafeInteger(level) && level >= 1
    ? level
    : DEFAULT_AUTH_LEVEL;
}

/**
 * The methods a stored session records (empty when none were given or nobody is signed in).
 * @example authMethodsOf(session.userId, session.meta) // ['pwd', 'otp']
 */
export function authMethodsOf(userId: string | null, meta: SessionMeta): string[] {
  const methods = meta.authMethods;
  if (userId === null || !Array.isArray(methods)) return [];
  return methods.filter((method): method is string => typeof method === 'string');
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 40));
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) {
    return String(value);
  }
  return typeof value;
}
