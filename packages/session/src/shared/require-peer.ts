/**
 * Loads an optional peer dependency (a database driver) the moment a store's subpath is
 * imported, synchronously, so that both `import` and `require()` of the subpath work, and so
 * that a missing peer fails with one line that names the package to install instead of
 * Node's `ERR_MODULE_NOT_FOUND` from deep inside the package.
 */
import { createRequire } from 'node:module';
import { TesseraError } from './errors.js';

const load = createRequire(import.meta.url);

/**
 * `require(name)`, or `ERR_CONFIG` "<subpath> needs the "<name>" package: npm install <name>"
 * when it is not installed.
 * @example const ioredis = requirePeer<typeof import('ioredis')>('ioredis', 'tessera-session/stores/redis');
 */
export function requirePeer<T>(name: string, subpath: string): T {
  try {
    return load(name) as T;
  } catch (error) {
    // No `cause`: Node would print the resolver's error and require stack under it, and the
    // point is one line that says what to do.
    if (isMissing(error, name)) {
      throw new TesseraError(
        'ERR_CONFIG',
        `${subpath} needs the "${name}" package: npm install ${name}`,
      );
    }
    throw error;
  }
}

/**
 * Throws the same one-line `ERR_CONFIG` as `requirePeer` when `name` cannot be found, without
 * loading it (for an ES-module-only peer such as Vitest, imported after this check).
 * @example assertPeer('vitest', 'tessera-session/testing');
 */
export function assertPeer(name: string, subpath: string): void {
  try {
    load.resolve(name);
  } catch (error) {
    if (isMissing(error, name)) {
      throw new TesseraError(
        'ERR_CONFIG',
        `${subpath} needs the "${name}" package: npm install ${name}`,
      );
    }
    throw error;
  }
}

/** True when `name` itself (not one of its own dependencies) could not be found. */
function isMissing(error: unknown, name: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return (
    code === 'MODULE_NOT_FOUND' &&
    typeof message === 'string' &&
    message.startsWith(`Cannot find module '${name}'`)
  );
}
