import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests import the library by its public names (`tessera-session/express`, …), resolved to the
// TypeScript sources so the suite needs no build and loads one copy of every module.
const pkg = JSON.parse(readFileSync('packages/session/package.json', 'utf8')) as {
  exports: Record<string, string | { import: { default: string } }>;
};
const alias = Object.entries(pkg.exports)
  .flatMap(([subpath, target]) =>
    typeof target === 'string' ? [] : [[subpath, target.import] as const],
  )
  .map(([subpath, target]) => ({
    find: new RegExp(`^tessera-session${subpath === '.' ? '' : subpath.slice(1)}$`),
    replacement: fileURLToPath(
      new URL(
        `./packages/session/${target.default.replace('./dist/', 'src/').replace(/\.js$/, '.ts')}`,
        import.meta.url,
      ),
    ),
  }));

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
