/**
 * Every public option says its default and its unit: each optional property of an exported
 * `*Options` interface of a public entry point of tessera-session has a `@defaultValue` tag,
 * and each duration (a number whose name speaks of time) names its unit in its TSDoc. This is
 * what the generated API reference (docs/api) shows users.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const SESSION = join(ROOT, 'packages/session');
const DURATION = /timeout|ttl|interval|maxage|grace|leeway|tolerance/i;

function entryPoints(): string[] {
  const pkg = JSON.parse(readFileSync(join(SESSION, 'package.json'), 'utf8')) as {
    exports: Record<string, string | { import: { default: string } }>;
  };
  return Object.values(pkg.exports)
    .filter((target): target is { import: { default: string } } => typeof target === 'object')
    .map((target) =>
      join(SESSION, target.import.default.replace('./dist/', 'src/').replace(/\.js$/, '.ts')),
    );
}

interface OptionDoc {
  name: string;
  text: string;
  hasDefault: boolean;
  isNumber: boolean;
}

/** The optional properties of every exported `*Options` interface, with their docs. */
function publicOptions(): Map<string, OptionDoc[]> {
  const roots = entryPoints();
  const program = ts.createProgram(roots, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    types: ['node'],
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const result = new Map<string, OptionDoc[]>();
  for (const root of roots) {
    const file = program.getSourceFile(root);
    const moduleSymbol = file && checker.getSymbolAtLocation(file);
    if (!moduleSymbol) continue;
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      if (!exported.name.endsWith('Options')) continue;
      const symbol =
        exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      if (!(symbol.flags & ts.SymbolFlags.Interface)) continue;
      const type = checker.getDeclaredTypeOfSymbol(symbol);
      const options: OptionDoc[] = [];
      for (const property of checker.getPropertiesOfType(type)) {
        const declaration = property.valueDeclaration ?? property.declarations?.[0];
        if (!declaration || declaration.getSourceFile().fileName.includes('node_modules')) continue;
        if (!(property.flags & ts.SymbolFlags.Optional)) continue;
        const propertyType = checker.getNonNullableType(checker.getTypeOfSymbol(property));
        options.push({
          name: property.name,
          text: ts.displayPartsToString(property.getDocumentationComment(checker)),
          hasDefault: property.getJsDocTags(checker).some((tag) => tag.name === 'defaultValue'),
          isNumber: (propertyType.flags & ts.TypeFlags.NumberLike) !== 0,
        });
      }
      result.set(symbol.name, options);
    }
  }
  return result;
}

describe('public options in the API reference', () => {
  const options = publicOptions();

  it('finds the option interfaces of the public entry points', () => {
    for (const name of [
      'SessionManagerOptions',
      'ExpressSessionOptions',
      'FastifySessionPluginOptions',
      'FetchSessionOptions',
      'AccessTokensOptions',
      'RefreshTokensOptions',
      'CookieCodecOptions',
      'CsrfGuardOptions',
      'MemoryStoreOptions',
      'RedisStoreOptions',
    ]) {
      expect(options.has(name), name).toBe(true);
    }
  });

  it('gives every optional option a @defaultValue', () => {
    const missing = [...options].flatMap(([owner, list]) =>
      list.filter((o) => !o.hasDefault).map((o) => `${owner}.${o.name}`),
    );
    expect(missing).toEqual([]);
  });

  it('names the unit of every duration (seconds or milliseconds)', () => {
    const missing = [...options].flatMap(([owner, list]) =>
      list
        .filter((o) => o.isNumber && DURATION.test(o.name))
        .filter((o) => !/\b(seconds|milliseconds)\b/i.test(o.text))
        .map((o) => `${owner}.${o.name}`),
    );
    expect(missing).toEqual([]);
  });
});
