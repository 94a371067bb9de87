import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as gradstab from '../src/index.js';
import { docExamples, withPrintChecks } from './helpers/examples.js';
import { useCpu } from './helpers/tf.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const workDir = join(root, 'test', '.examples');
const examples = docExamples(root);

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

describe('every documented example runs and prints what its comments say', () => {
  it('found the examples', () => expect(examples.length).toBeGreaterThan(10));

  it.each(examples.map((e, i) => [e.source, e, i] as const))('%s', async (_, example, i) => {
    const srcIndex = relative(workDir, join(root, 'src', 'index.js')).replace(/\\/g, '/');
    const code = withPrintChecks(example.code).replace(/from 'gradstab'/g, `from '${srcIndex}'`);
    const file = join(workDir, `example-${i}.ts`);
    writeFileSync(file, `${code}\nexport {};\n`);
    (globalThis as Record<string, unknown>).__expectPrinted = expectPrinted;
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
