import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface DocExample {
  /** Where it comes from, e.g. `src/transforms/clip-norm.ts: clipByGlobalNorm`. */
  readonly source: string;
  /** The exported function or class the doc comment belongs to. */
  readonly name: string;
  readonly code: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Every ```ts block under an `@example` tag in the doc comment of an exported declaration in src/. */
export function docExamples(root: string): DocExample[] {
  const out: DocExample[] = [];
  for (const file of sourceFiles(join(root, 'src'))) {
    const text = readFileSync(file, 'utf8');
    const docThenDecl =
      /\/\*\*([\s\S]*?)\*\/\s*export\s+(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(?:function|class|const)\s+(\w+)/g;
    for (const match of text.matchAll(docThenDecl)) {
      const body = (match[1] as string).replace(/^\s*\* ?/gm, '');
      const example = body.split('@example')[1];
      if (!example) continue;
      for (const block of example.matchAll(/```ts\n([\s\S]*?)```/g)) {
        out.push({
          source: `${relative(root, file)}: ${match[2]}`,
          name: match[2] as string,
          code: block[1] as string,
        });
      }
    }
  }
  return out;
}

/**
 * Turns `x.print(); // [0.6, 0.8]` lines into checks of the tensor's values against the comment, so that the
 * documented outputs cannot drift from what the code does.
 */
export function withPrintChecks(code: string): string {
  return code.replace(/^(\s*)(.+?)\.print\(\);\s*\/\/\s*(.+)$/gm, (_, indent, expr, expected) => {
    return `${indent}__expectPrinted(${expr}, ${JSON.stringify(expected)});`;
  });
}
