/**
 * Finds the code examples in README.md and docs/ for `test/docs-examples.test.ts`.
 *
 * Every ```ts, ```typescript, ```js and ```javascript block is an example, compiled as its own
 * module. An HTML comment right before a block (blank lines between are fine) says more:
 * - `<!-- example: fragment` followed by TypeScript declarations and `-->`: the block uses
 *   names it does not define (`app`, `req`, `store`…); the declarations are put in front of
 *   it when it is compiled (readers do not see them).
 * - `<!-- example: run -->`: the block is complete; it is compiled, then run and must exit 0.
 * - `<!-- example: run server -->`: the block starts an HTTP server on `process.env.PORT`;
 *   it is run, `GET /` is requested twice with the first answer's cookies, and the two
 *   answers must differ (the session carried the state).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export type RunMode = 'none' | 'exit' | 'server';

export interface DocExample {
  /** `docs/express.md:21` — where the block's opening fence is (1-based line). */
  where: string;
  /** The fence's language: `ts`, `typescript`, `js` or `javascript`. */
  lang: string;
  /** The block's code. */
  code: string;
  /** Declarations of the fragment's free names ('' for a complete block). */
  prelude: string;
  run: RunMode;
}

const FENCE = /^```(ts|typescript|js|javascript)\s*$/;
const MARKER = /<!--\s*example:\s*([\s\S]*?)-->\s*$/;

/**
 * The markdown files whose examples are checked: README.md, the packages' READMEs (what npm
 * shows) and docs/**\/*.md but the generated docs/api.
 */
export function docFiles(root: string): string[] {
  const files = [
    join(root, 'README.md'),
    ...readdirSync(join(root, 'packages'))
      .map((name) => join(root, 'packages', name, 'README.md'))
      .filter((path) => existsSync(path)),
  ];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && path !== join(root, 'docs/api')) walk(path);
      else if (entry.isFile() && entry.name.endsWith('.md')) files.push(path);
    }
  };
  walk(join(root, 'docs'));
  return files.sort();
}

/** The examples of one markdown file, with their markers. */
export function extractExamples(root: string, file: string): DocExample[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const examples: DocExample[] = [];
  let inOther = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (inOther) {
      if (line.startsWith('```')) inOther = false;
      continue;
    }
    const fence = FENCE.exec(line);
    if (!fence) {
      if (line.startsWith('```')) inOther = true;
      continue;
    }
    const end = lines.findIndex((l, j) => j > i && l.startsWith('```'));
    if (end === -1) throw new Error(`${relative(root, file)}:${i + 1}: unclosed code block`);
    const marker = markerBefore(lines, i);
    examples.push({
      where: `${relative(root, file)}:${i + 1}`,
      lang: fence[1] ?? 'ts',
      code: lines.slice(i + 1, end).join('\n'),
      ...parseMarker(marker, `${relative(root, file)}:${i + 1}`),
    });
    i = end;
  }
  return examples;
}

/** The `<!-- example: … -->` comment ending on the last non-blank line before `index`. */
function markerBefore(lines: string[], index: number): string | null {
  let last = index - 1;
  while (last >= 0 && (lines[last] ?? '').trim() === '') last--;
  if (last < 0 || !(lines[last] ?? '').trimEnd().endsWith('-->')) return null;
  let first = last;
  while (first >= 0 && !(lines[first] ?? '').includes('<!--')) first--;
  if (first < 0) return null;
  const match = MARKER.exec(lines.slice(first, last + 1).join('\n'));
  return match ? (match[1] ?? '').trim() : null;
}

function parseMarker(marker: string | null, where: string): Pick<DocExample, 'prelude' | 'run'> {
  if (marker === null) return { prelude: '', run: 'none' };
  if (marker === 'run') return { prelude: '', run: 'exit' };
  if (marker === 'run server') return { prelude: '', run: 'server' };
  if (marker.startsWith('fragment'))
    return { prelude: marker.slice('fragment'.length), run: 'none' };
  throw new Error(`${where}: unknown example marker "${marker}" (fragment, run, run server)`);
}
