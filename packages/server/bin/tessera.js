#!/usr/bin/env node
// The `tessera` command. The code lives in dist/cli (built by `npm run build`, which
// `npm ci` runs through the `prepare` script).
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(`tessera: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
