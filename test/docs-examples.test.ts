import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as gradstab from '../src/index.js';
import { docExamples, withPrintChecks } from './helpers/examples.js';
import { expectLogs, matchesOutput, withOutputChecks } from './helpers/output-checks.js';
import { useCpu } from './helpers/tf.js';
import { markdownSnippets } from './package/snippets.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const workDir = join(root, 'test', '.examples');
const examples = docExamples(root);
/** The ```ts programs of README.md, docs/*.md and the examples' READMEs: those the package test type-checks. */
const programs = markdownSnippets(root);
/** How the programs import gradstab: from src, through a path relative to the files written in `workDir`. */
const srcIndex = relative(workDir, join(root, 'src', 'index.js')).replace(/\\/g, '/');

beforeAll(async () => {
  await useCpu();
  mkdirSync(workDir, { recursive: true });
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** The leading value of a comment: a number, or an array (nested or not) up to its matching bracket. */
function leadingValue(comment: string): string | undefined {
  if (!comment.startsWith('[')) return comment.match(/^-?[\d.e+-]+/)?.[0];
  let depth = 0;
  for (let i = 0; i < comment.length; i++) {
    if (comment[i] === '[') depth++;
    if (comment[i] === ']' && --depth === 0) return comment.slice(0, i + 1);
  }
  return undefined;
}

/** Compares a printed tensor with the values written in the example's comment (`[0.6, 0.8]`, `[[1], [2]]`, `5`). */
function expectPrinted(t: tf.Tensor, comment: string): void {
  const head = leadingValue(comment);
  if (!head) throw new Error(`cannot read the expected value in the comment: ${comment}`);
  const expected = (JSON.parse(head.startsWith('[') ? head : `[${head}]`) as unknown[]).flat(Infinity) as number[];
  const actual = Array.from(t.dataSync());
  expect(actual).toHaveLength(expected.length);
  actual.forEach((a, i) => {
    expect(a).toBeCloseTo(expected[i] as number, 3);
  });
}

describe('the output checker', () => {
  it('matches printed text against comments: numbers within 1e-4, quotes and spaces free, remarks after : or (', () => {
    expect(matchesOutput('0.20000000298023224', '0.2')).toBe(true);
    expect(matchesOutput('0.21', '0.2')).toBe(false);
    expect(matchesOutput("[ 'a', 'b' ]", '["a", "b"]')).toBe(true);
    expect(matchesOutput("[ 'a', 'b' ]", "['a', 'c']")).toBe(false);
    expect(matchesOutput('true', 'true: the first of two')).toBe(true);
    expect(matchesOutput('2', '2 (two epochs)')).toBe(true);
    expect(matchesOutput('2', '2 epochs')).toBe(false);
    expect(matchesOutput('1 0', '1 0')).toBe(true);
    expect(matchesOutput('1', '1 0')).toBe(false);
    expect(matchesOutput('dense_Dense12 scaled', 'dense_Dense1 scaled')).toBe(false);
    expect(matchesOutput('NaN Infinity', 'NaN Infinity')).toBe(true);
  });

  it('wraps printing statements and their comments, and refuses a comment it cannot check', async () => {
    const code = withOutputChecks('console.log(1 + 1); // 2\nfor (const x of [1, 2]) console.log(x);\n// 1\n// 2', 't');
    expect(code.match(/__expectLogs/g)).toHaveLength(2);
    await expect(expectLogs(async () => console.log(3), ['2'], 'where')).rejects.toThrow(
      'where: printed "3", the comment says "2"',
    );
    expect(() => withOutputChecks('const y = 1; console.log(y); // 1', 't')).toThrow('an output comment must follow');
  });
});

describe('every documented example runs and prints what its comments say', () => {
  it('found the examples', () => expect(examples.length).toBeGreaterThan(10));

  it.each(examples.map((e, i) => [e.source, e, i] as const))('%s', async (_, example, i) => {
    const checked = withOutputChecks(withPrintChecks(example.code), example.source);
    const code = checked.replace(/from 'gradstab'/g, `from '${srcIndex}'`);
    const file = join(workDir, `example-${i}.ts`);
    writeFileSync(file, `${code}\nexport {};\n`);
    (globalThis as Record<string, unknown>).__expectPrinted = expectPrinted;
    (globalThis as Record<string, unknown>).__expectLogs = expectLogs;
    const log = console.log;
    console.log = () => {};
    try {
      await import(/* @vite-ignore */ file);
    } finally {
      console.log = log;
      tf.disposeVariables();
    }
  });

  it('every runtime export has an example in its doc comment', () => {
    const documented = new Set(examples.map((e) => e.name));
    const missing = Object.keys(gradstab).filter((name) => !documented.has(name));
    expect(missing).toEqual([]);
  });
});

/**
 * A program meant only for the browser (the webgl backend, the DOM) starts with this line. The package test still
 * type-checks it (with lib DOM); here, on Node and the cpu backend, it could only fail, so it is skipped.
 */
const BROWSER_ONLY = '// browser only';

describe('every program of the guides runs', () => {
  it('found the programs', () => expect(programs.length).toBeGreaterThan(30));

  for (const [i, program] of programs.entries()) {
    const browserOnly = program.code.split('\n', 1)[0]?.trim() === BROWSER_ONLY;
    // Named by file and line (`docs/clipping.md:28`, the line of the opening fence), so a failure says which block.
    it.skipIf(browserOnly)(
      program.source,
      async () => {
        const file = join(workDir, `guide-${i}.ts`);
        const checked = withOutputChecks(withPrintChecks(program.code), program.source);
        writeFileSync(file, `${checked.replace(/from 'gradstab'/g, `from '${srcIndex}'`)}\nexport {};\n`);
        (globalThis as Record<string, unknown>).__expectPrinted = expectPrinted;
        (globalThis as Record<string, unknown>).__expectLogs = expectLogs;
        // Programs write files where they run (`writeGradientHealthSvg(history, 'gradients.svg')`): not here.
        const cwd = process.cwd();
        const dir = mkdtempSync(join(tmpdir(), 'gradstab-guide-'));
        const original = { log: console.log, info: console.info, warn: console.warn };
        console.log = console.info = console.warn = () => {}; // what they print is not checked here
        // As users run them: IS_TEST (set by useCpu) adds a per-kernel leak check that misfires on tfjs's own
        // softmaxCrossEntropy under a gradient tape (a step leaves no tensor); PROD keeps tfjs's notes quiet instead.
        const flags = { IS_TEST: tf.env().getBool('IS_TEST'), PROD: tf.env().getBool('PROD') };
        tf.env().set('IS_TEST', false);
        tf.env().set('PROD', true);
        process.chdir(dir);
        try {
          await import(/* @vite-ignore */ file);
        } finally {
          process.chdir(cwd);
          for (const [flag, value] of Object.entries(flags)) tf.env().set(flag, value);
          Object.assign(console, original);
          rmSync(dir, { recursive: true, force: true });
          tf.disposeVariables();
        }
      },
      10_000, // tiny data on purpose: each takes well under a second on cpu; this only catches a runaway
    );
  }
});
