/**
 * Doc examples cannot rot: every TypeScript/JavaScript block in README.md and docs/ is
 * type-checked as its own module against the library's sources (strict, the repo's
 * tsconfig, `tessera-session/*` through its `paths`), and the blocks marked runnable are run.
 * The markers are described in `test/support/doc-examples.ts` and CONTRIBUTING.md.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DocExample, docFiles, extractExamples } from './support/doc-examples.js';

const ROOT = resolve(import.meta.dirname, '..');
const TSX = join(ROOT, 'node_modules/tsx/dist/esm/index.mjs');
const RUN_DIR = join(ROOT, '.tmp/docs-examples');
const examples = docFiles(ROOT).flatMap((file) => extractExamples(ROOT, file));

const compilerOptions = ((): ts.CompilerOptions => {
  const parsed = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (!parsed) throw new Error('tsconfig.json could not be read');
  return {
    ...parsed.options,
    noEmit: true,
    declaration: false,
    sourceMap: false,
    allowJs: true,
    checkJs: true,
    // Only Node's types, as in a fresh app: no @types/express-session from the dev tree.
    types: ['node'],
  };
})();

// One cache of parsed files for all the programs: the lib files and the library's sources
// are parsed once, each example is checked in its own program (its own module scope).
const sourceCache = new Map<string, ts.SourceFile>();
const baseHost = ts.createCompilerHost(compilerOptions, true);

function fileNameOf(example: DocExample): string {
  const slug = example.where.replace(/[^A-Za-z0-9]+/g, '-');
  const js = example.lang === 'js' || example.lang === 'javascript';
  const cjs = js && /\brequire\(/.test(example.code);
  // Virtual files (never written) in test/, so an example written for a test file there
  // resolves `./support/…` as the real one would.
  return join(ROOT, 'test', `docs-example-${slug}.${cjs ? 'cjs' : js ? 'mjs' : 'ts'}`);
}

/** An example as a source file: prelude first, `export {}` so it is always a module. */
function sourceOf(example: DocExample): { fileName: string; text: string; preludeLines: number } {
  const preludeLines = example.prelude === '' ? 0 : example.prelude.split('\n').length;
  const prelude = example.prelude === '' ? '' : `${example.prelude}\n`;
  return {
    fileName: fileNameOf(example),
    text: `${prelude}${example.code}\nexport {};\n`,
    preludeLines,
  };
}

/**
 * Type-checks examples in one program and answers each one's complaints as
 * `file:line: message` lines. Each example is its own module, so names never leak between
 * them; examples that augment global or module types get a program of their own.
 */
function typeCheck(group: DocExample[]): Map<DocExample, string[]> {
  const sources = new Map(group.map((example) => [example, sourceOf(example)]));
  const texts = new Map([...sources.values()].map((s) => [s.fileName, s.text]));
  const host: ts.CompilerHost = {
    ...baseHost,
    fileExists: (name) => texts.has(name) || baseHost.fileExists(name),
    readFile: (name) => texts.get(name) ?? baseHost.readFile(name),
    getSourceFile: (name, language, onError) => {
      const text = texts.get(name);
      if (text !== undefined) return ts.createSourceFile(name, text, language, true);
      const cached = sourceCache.get(name);
      if (cached) return cached;
      const file = baseHost.getSourceFile(name, language, onError);
      if (file) sourceCache.set(name, file);
      return file;
    },
  };
  const program = ts.createProgram({
    rootNames: [...texts.keys()],
    options: compilerOptions,
    host,
  });
  const result = new Map<DocExample, string[]>();
  for (const [example, { fileName, preludeLines }] of sources) {
    const source = program.getSourceFile(fileName);
    const diagnostics = [
      ...program.getSyntacticDiagnostics(source),
      ...program.getSemanticDiagnostics(source),
    ];
    const [file, startLine] = example.where.split(/:(?=\d+$)/) as [string, string];
    result.set(
      example,
      diagnostics.map((d) => {
        const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
        if (d.file?.fileName !== fileName || d.start === undefined) return message;
        const line = d.file.getLineAndCharacterOfPosition(d.start).line - preludeLines;
        const at = line < 0 ? 'fragment prelude' : `${file}:${Number(startLine) + 1 + line}`;
        return `${at}: TS${d.code} ${message}`;
      }),
    );
  }
  return result;
}

/** Every example's complaints: the self-contained ones share a program (one checker). */
function typeCheckAll(): Map<DocExample, string[]> {
  const augments = (e: DocExample): boolean =>
    /^\s*declare\s+(global|module)\b/m.test(`${e.prelude}\n${e.code}`);
  const shared = examples.filter((e) => !augments(e));
  const alone = examples.filter(augments);
  const result = typeCheck(shared);
  for (const example of alone) {
    for (const [e, complaints] of typeCheck([example])) result.set(e, complaints);
  }
  return result;
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const children = new Set<ChildProcess>();
const dirs: string[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Runs one example with tsx in an empty working directory; `PORT` is a free port. */
function start(example: DocExample, port: number): { child: ChildProcess; output: () => string } {
  mkdirSync(RUN_DIR, { recursive: true });
  const file = join(RUN_DIR, fileNameOf(example).split('/').pop() ?? 'example.ts');
  writeFileSync(file, example.code);
  const cwd = mkdtempSync(join(tmpdir(), 'tessera-doc-example-'));
  dirs.push(cwd);
  const child = spawn(process.execPath, ['--import', TSX, file], {
    cwd,
    env: {
      ...process.env,
      PORT: String(port),
      SESSION_SECRET: 'doc-example-secret-0123456789abcdef0123456789',
      TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  return { child, output: () => text };
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((done) => child.once('exit', (code) => done(code)));
}

async function waitForServer(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      await fetch(url, { method: 'HEAD' });
      return;
    } catch {
      await new Promise((wake) => setTimeout(wake, 100));
    }
  }
  throw new Error(`no server on ${url}`);
}

/** Two `GET /` with the first answer's cookies: the session must carry state. */
async function twoRequests(url: string): Promise<[string, string]> {
  const first = await fetch(url);
  const cookies = first.headers.getSetCookie().map((line) => line.split(';')[0]);
  expect(first.status, 'first answer').toBe(200);
  expect(cookies.length, 'the first answer sets a session cookie').toBeGreaterThan(0);
  const second = await fetch(url, { headers: { cookie: cookies.join('; ') } });
  expect(second.status, 'second answer').toBe(200);
  return [await first.text(), await second.text()];
}

describe('doc examples', () => {
  it('finds the examples', () => {
    expect(examples.length).toBeGreaterThan(40);
  });

  let complaints = new Map<DocExample, string[]>();
  beforeAll(() => {
    const started = Date.now();
    complaints = typeCheckAll();
    console.log(`type-checked ${complaints.size} examples in ${Date.now() - started} ms`);
  }, 240_000); // generous: 57 s was measured on a 2-core machine at load average 20
  it.each(examples.map((e) => [e.where, e] as const))('%s type-checks', (_where, example) => {
    expect(complaints.get(example)).toEqual([]);
  });

  const runnable = examples.filter((e) => e.run !== 'none');
  it('marks the README quick starts runnable', () => {
    expect(runnable.map((e) => e.where.split(':')[0])).toContain('README.md');
  });

  it.each(runnable.map((e) => [e.where, e] as const))(
    '%s runs',
    async (_where, example) => {
      const port = await freePort();
      const { child, output } = start(example, port);
      if (example.run === 'exit') {
        const code = await exitOf(child);
        expect(code, output()).toBe(0);
        return;
      }
      try {
        await waitForServer(`http://127.0.0.1:${port}/`, child);
        const [first, second] = await twoRequests(`http://127.0.0.1:${port}/`);
        expect(second, 'the second answer shows the session state').not.toBe(first);
      } catch (error) {
        throw new Error(`${String(error)}\n--- example output ---\n${output()}`);
      } finally {
        child.kill('SIGTERM');
        await exitOf(child);
      }
    },
    90_000,
  );
});
