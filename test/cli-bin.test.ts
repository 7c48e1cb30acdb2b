/**
 * The installed `tessera` command (the `bin` of tessera-server, run from the built dist/ as
 * `npx tessera` and `npm start` run it in a clone after `npm ci`), not the sources.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'node_modules/.bin/tessera');

describe('the tessera bin', () => {
  it('runs from the workspace root after a build (npx tessera --help)', () => {
    expect(existsSync(join(ROOT, 'packages/server/dist/cli/main.js')), 'run `npm run build`').toBe(
      true,
    );
    const result = spawnSync(BIN, ['--help'], { cwd: ROOT, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage: tessera <command>');
  });
});
