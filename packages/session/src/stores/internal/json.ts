/**
 * JSON checks shared by every store. Session data, meta and key-value values are stored as
 * JSON, so a value that JSON would silently change (a function dropped, `NaN` turned into
 * `null`, a `Map` turned into `{}`) or cannot encode at all (a `BigInt`, a cycle) is refused
 * up front with `ERR_STORE_DATA` instead of coming back different from what was written.
 */
import { TesseraError } from '../../shared/errors.js';

/** Deepest nesting accepted; deeper values are refused rather than risking a stack overflow. */
export const MAX_JSON_DEPTH = 64;

/**
 * Throws `ERR_STORE_DATA` unless `value` survives a JSON round trip with its meaning intact:
 * `null`, booleans, strings, finite numbers, arrays and plain objects of those. An object
 * property whose value is `undefined` is allowed and dropped (as `JSON.stringify` does);
 * `undefined` anywhere else is refused. Objects with a `toJSON` method (a `Date`) are checked
 * through what `toJSON` returns, so a `Date` is stored as its ISO string.
 *
 * @param what names the value in the error message, e.g. `session data`.
 * @example
 * assertJsonValue({ cart: [1, 2] }, 'session data'); // fine
 * assertJsonValue({ n: 10n }, 'session data'); // throws ERR_STORE_DATA naming `n`
 */
export function assertJsonValue(value: unknown, what: string): void {
  try {
    check(value, 0);
  } catch (error) {
    if (!(error instanceof JsonProblem)) throw error;
    const shown = error.path.length > 8 ? [...error.path.slice(0, 8), '…'] : error.path;
    const where = shown
      .map((part) => (typeof part === 'number' ? `[${part}]` : `.${part}`))
      .join('')
      .replace(/^\./, '');
    throw new TesseraError(
      'ERR_STORE_DATA',
      `The ${what}${where ? ` at ${where}` : ''} holds ${error.problem}; store only JSON values ` +
        '(plain objects, arrays, strings, finite numbers, booleans, null).',
    );
  }
}

/**
 * The JSON text of `value`, after `assertJsonValue`.
 * @example const text = toJsonText(record.data, 'session data');
 */
export function toJsonText(value: unknown, what: string): string {
  assertJsonValue(value, what);
  return JSON.stringify(value);
}

/**
 * Parses JSON text a store wrote itself; a text that does not parse is reported as
 * `ERR_STORE_DATA` (a corrupted backend), never as a bare `SyntaxError`.
 * @example const data = parseJsonText(row.data, 'session data');
 */
export function parseJsonText(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new TesseraError(
      'ERR_STORE_DATA',
      `The stored ${what} is not valid JSON; the backend holds a corrupted entry (delete it).`,
      { cause: error },
    );
  }
}

/**
 * True for an object literal (or `Object.create(null)`): the only object kind a record's
 * `data` and `meta` may be.
 * @example isPlainObject({}) // true; isPlainObject([]) // false
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** What `check` throws: the problem, and the path to it filled in while unwinding. */
class JsonProblem {
  readonly problem: string;
  readonly path: Array<string | number> = [];
  constructor(problem: string) {
    this.problem = problem;
  }
}

/**
 * Walks `value` without allocating on the happy path. A cycle is caught by the depth limit
 * (it nests forever), so no set of visited objects is needed.
 */
function check(value: unknown, depth: number): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new JsonProblem(`the non-finite number ${value}`);
      return;
    case 'object':
      break;
    default:
      // undefined (outside an object property), bigint, symbol, function
      throw new JsonProblem(`a value of type ${typeof value}`);
  }
  if (value === null) return;
  if (depth >= MAX_JSON_DEPTH) {
    throw new JsonProblem(`values nested deeper than ${MAX_JSON_DEPTH} levels (or a cycle)`);
  }
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      checkChild(value[index], depth, index);
    }
    return;
  }
  if (isPlainObject(value)) {
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      const child = value[key];
      if (child !== undefined) checkChild(child, depth, key);
    }
    return;
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON !== 'function') {
    const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'object';
    throw new JsonProblem(`a ${name} (only plain objects and arrays keep their shape in JSON)`);
  }
  check((toJSON as () => unknown).call(value), depth + 1);
}

function checkChild(child: unknown, depth: number, key: string | number): void {
  try {
    check(child, depth + 1);
  } catch (error) {
    if (error instanceof JsonProblem) error.path.unshift(key);
    throw error;
  }
}
