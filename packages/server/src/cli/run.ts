/**
 * Runs the CLI from source (`node --import tsx src/cli/run.ts …`), as `bin/tessera.js` runs
 * the built one; tests use it so they never depend on a stale build.
 */
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`tessera: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
