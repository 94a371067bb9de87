import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { root, sh } from './project.js';
import { asCommonJs, docCommentSnippets, markdownSnippets, type Snippet } from './snippets.js';

/**
 * The packed package type-checked as a strict consumer would: every documented program (README and guides, every
 * doc comment's @example) and test/package/consumer/uses.ts, under each module setting, as ES modules and as
 * CommonJS, with skipLibCheck on and off. With skipLibCheck off, the only errors allowed in node_modules are those a
 * bare `import '@tensorflow/tfjs'` already gives (tfjs's own d.ts are not clean).
 */

interface Cell {
  readonly name: string;
  readonly module: string;
  readonly moduleResolution: string;
  /** `esm` (package.json `"type": "module"`) or `cjs` (`"type": "commonjs"`, programs wrapped for no top-level await). */
  readonly dir: 'esm' | 'cjs';
  readonly skipLibCheck: boolean;
}

const settings: Omit<Cell, 'skipLibCheck' | 'name'>[] = [
  { module: 'esnext', moduleResolution: 'node10', dir: 'esm' },
  { module: 'commonjs', moduleResolution: 'node10', dir: 'cjs' },
  { module: 'node16', moduleResolution: 'node16', dir: 'esm' },
  { module: 'node16', moduleResolution: 'node16', dir: 'cjs' },
  { module: 'nodenext', moduleResolution: 'nodenext', dir: 'esm' },
  { module: 'nodenext', moduleResolution: 'nodenext', dir: 'cjs' },
  { module: 'esnext', moduleResolution: 'bundler', dir: 'esm' },
  { module: 'preserve', moduleResolution: 'bundler', dir: 'esm' },
];
const cells: Cell[] = [true, false].flatMap((skipLibCheck) =>
  settings.map((s) => ({
    ...s,
    skipLibCheck,
    name: `${s.moduleResolution}/${s.module} ${s.dir === 'esm' ? 'ESM' : 'CJS'} skipLibCheck=${skipLibCheck}`,
  })),
);

const baseline = `import * as tf from '@tensorflow/tfjs';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
console.log(tf.version, vega.version, vegaLite.version);
`;

let programs: Snippet[] = [];

const dir = inject('consumer');

beforeAll(() => {
  programs = [
    {
      source: 'test/package/consumer/uses.ts',
      file: 'uses.ts',
      code: readFileSync(join(root, 'test/package/consumer/uses.ts'), 'utf8'),
    },
    ...markdownSnippets(root).map((s) => ({ ...s, file: `md_${s.file}` })),
    ...docCommentSnippets(root).map((s) => ({ ...s, file: `doc_${s.file}` })),
  ];
  for (const [sub, type, transform] of [
    ['esm', 'module', (code: string) => code],
    ['cjs', 'commonjs', asCommonJs],
  ] as const) {
    rmSync(join(dir, sub), { recursive: true, force: true });
    mkdirSync(join(dir, sub));
    writeFileSync(join(dir, sub, 'package.json'), JSON.stringify({ type }));
    writeFileSync(join(dir, sub, 'baseline.ts'), transform(baseline));
    for (const p of programs) writeFileSync(join(dir, sub, p.file), transform(p.code));
  }
});

interface Diagnostic {
  readonly file: string;
  readonly key: string;
  readonly text: string;
}

/** Runs tsc over `files` with the cell's options; returns its diagnostics. */
async function typecheck(cell: Cell, name: string, files: string[]): Promise<Diagnostic[]> {
  const config = {
    compilerOptions: {
      target: 'ES2022',
      lib: ['ES2022', 'DOM'],
      module: cell.module,
      moduleResolution: cell.moduleResolution,
      strict: true,
      skipLibCheck: cell.skipLibCheck,
      noEmit: true,
      esModuleInterop: true,
      types: ['node'],
    },
    files: files.map((f) => `${cell.dir}/${f}`),
  };
  const tsconfig = join(dir, `tsconfig.${name}.json`);
  writeFileSync(tsconfig, JSON.stringify(config, null, 2));
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const out = await sh(process.execPath, [tsc, '-p', tsconfig, '--pretty', 'false'], dir).catch((err: Error) => ({
    stdout: err.message,
    stderr: '',
  }));
  const diagnostics: Diagnostic[] = [];
  for (const line of out.stdout.split('\n')) {
    const m = /^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/.exec(line);
    if (m) diagnostics.push({ file: m[1] as string, key: `${m[1]}(${m[2]},${m[3]}) ${m[4]}`, text: line });
    else if (diagnostics.length > 0 && line.startsWith(' ')) {
      const last = diagnostics.pop() as Diagnostic;
      diagnostics.push({ ...last, text: `${last.text}\n${line}` });
    }
  }
  if (!/error TS/.test(out.stdout) && out.stdout.includes('failed')) throw new Error(out.stdout);
  return diagnostics;
}

describe.concurrent('a strict TypeScript consumer of the packed package', () => {
  for (const cell of cells) {
    it(`${cell.name}: every documented program compiles`, async () => {
      const id = `${cell.moduleResolution}-${cell.module}-${cell.dir}-${cell.skipLibCheck ? 'skip' : 'full'}`;
      const base = await typecheck(cell, `${id}-baseline`, ['baseline.ts']);
      // What tfjs's own types (and vega's, for the plot examples) give a program that only imports them.
      const allowed = new Set(base.map((d) => d.key));
      const unresolved = new Set(base.flatMap((d) => /TS2307: Cannot find module '([^']+)'/.exec(d.text)?.[1] ?? []));
      const diagnostics = await typecheck(
        cell,
        id,
        programs.map((p) => p.file),
      );
      const bad = diagnostics.filter((d) => {
        if (d.file.includes('node_modules/')) return !allowed.has(d.key);
        const missing = /TS2307: Cannot find module '([^']+)'/.exec(d.text)?.[1];
        return missing === undefined || !unresolved.has(missing);
      });
      const bySource = bad.map((d) => {
        const program = programs.find((p) => d.file.endsWith(`/${p.file}`));
        return program ? `${program.source}: ${d.text.replace(/^[^:]*: /, '')}` : d.text;
      });
      expect(bySource).toEqual([]);
    });
  }

  it('the programs use every export of the package', () => {
    const dts = readFileSync(join(root, 'dist', 'index.d.ts'), 'utf8');
    const list = /export \{([^}]*)\};\s*$/.exec(dts)?.[1] ?? '';
    const names = list.split(',').map(
      (n) =>
        n
          .trim()
          .replace(/^type /, '')
          .split(' as ')
          .pop() as string,
    );
    expect(names.length).toBeGreaterThan(100);
    const used = programs.map((p) => p.code).join('\n');
    expect(names.filter((n) => !new RegExp(`\\b${n}\\b`).test(used))).toEqual([]);
  });
});
