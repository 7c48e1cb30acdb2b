/**
 * Refuses options an adapter does not know: an option that is accepted must be honoured, so
 * a misspelt or unsupported one is an `ERR_CONFIG` naming it, at construction.
 */
import { TesseraError } from '../../shared/errors.js';

/**
 * Throws `ERR_CONFIG` naming the first own key of `options` not in `known`.
 * @example rejectUnknownOptions('session()', options, ['secret', 'name', 'cookie']);
 */
export function rejectUnknownOptions(
  label: string,
  options: object,
  known: readonly string[],
  hint = '',
): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    throw new TesseraError(
      'ERR_CONFIG',
      `${label}: unknown option '${key}' (supported: ${known.join(', ')})${hint}`,
    );
  }
}
