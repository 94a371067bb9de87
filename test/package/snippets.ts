import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { docExamples } from '../helpers/examples.js';

/** A TypeScript program shown to users: a ```ts block of a guide or a doc comment's `@example`. */
export interface Snippet {
  /** Where it is, e.g. `docs/clipping.md:42` or `src/transforms/chain.ts: chain`. */
  readonly source: string;
  /** A file name that says where it comes from. */
  readonly file: string;
  readonly code: string;
}

/** The guides users read: README.md, docs/*.md and the examples' READMEs. */
export function markdownFiles(root: string): string[] {
  const mdIn = (dir: string): string[] =>
    readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? mdIn(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : [],
    );
  return ['README.md', ...mdIn('docs').filter((f) => !f.startsWith(join('docs', 'api'))), ...mdIn('examples')];
}

/** Every ```ts (or ```typescript) block of the guides, with the line it starts on. */
export function markdownSnippets(root: string): Snippet[] {
  return markdownFiles(root).flatMap((file) => {
    const text = readFileSync(join(root, file), 'utf8');
    const out: Snippet[] = [];
    for (const match of text.matchAll(/^```(?:ts|typescript)\n([\s\S]*?)^```/gm)) {
      const line = text.slice(0, match.index).split('\n').length;
      out.push({
        source: `${file}:${line}`,
        file: `${file.replace(/[^\w]+/g, '_')}_${line}.ts`,
        code: match[1] as string,
      });
    }
    return out;
  });
}

/** Every `@example` of an exported declaration's doc comment in src/. */
export function docCommentSnippets(root: string): Snippet[] {
  return docExamples(root).map((e, i) => ({
    source: e.source,
    file: `${relative(root, e.source.split(':')[0] as string).replace(/[^\w]+/g, '_')}_${e.name}_${i}.ts`,
    code: e.code,
  }));
}

/**
 * The same program as a CommonJS module: imports stay at the top (TypeScript turns them into `require` calls), the
 * rest runs inside an async function, since a CommonJS module has no top-level await.
 */
export function asCommonJs(code: string): string {
  const source = ts.createSourceFile('snippet.ts', code, ts.ScriptTarget.ES2022, true);
  const imports: string[] = [];
  const body: string[] = [];
  for (const statement of source.statements) {
    const text = code.slice(statement.getFullStart(), statement.getEnd());
    if (ts.isImportDeclaration(statement) || ts.isImportEqualsDeclaration(statement)) imports.push(text);
    else if (!ts.isExportDeclaration(statement)) body.push(text);
  }
  return `${imports.join('')}\n\nasync function main(): Promise<void> {${body.join('')}\n}\nvoid main();\nexport {};\n`;
}
