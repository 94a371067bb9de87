import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import * as tf from '@tensorflow/tfjs';

/** Every test file runs tfjs on the cpu backend (the one that needs no binary and is exact). */
export async function useCpu(): Promise<void> {
  tf.env().set('IS_TEST', true); // silences the "install tfjs-node" banner
  await tf.setBackend('cpu');
  await tf.ready();
}

/**
 * Switches to `name` ('cpu' or 'wasm'): the numerics tests run on both, since tfjs's kernels differ between backends
 * (wasm's clip drops NaN). On wasm, production mode: IS_TEST's kernel-leak checks misfire on its in-place reshapes.
 */
export async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  if (name === 'cpu') {
    tf.env().set('PROD', false);
    return useCpu();
  }
  const { setWasmPaths } = await import('@tensorflow/tfjs-backend-wasm');
  const pkg = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  setWasmPaths(`${join(pkg, 'dist')}${sep}`);
  tf.enableProdMode();
  tf.env().set('IS_TEST', false); // the flag that turns the kernel-leak checks on (useCpu sets it)
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not start');
}

type Backend = {
  readSync: (...args: unknown[]) => unknown;
  read: (...args: unknown[]) => Promise<unknown>;
};
type Engine = { runKernelFunc: (...args: unknown[]) => unknown };

/**
 * Counts blocking reads (`readSync` on the active backend) that the code under test makes while `fn` runs. Not
 * counted: a readSync nested in a `read()` (the cpu and wasm backends implement `read()` with it), and one a kernel
 * makes of its own input while it runs: the wasm backend's Slice, Gather and Identity kernels view their input in
 * the wasm heap with readSync, on a backend whose kernels all run synchronously anyway; nothing waits for a device.
 */
export async function countBlockingReads(fn: () => unknown | Promise<unknown>): Promise<number> {
  const backend = tf.backend() as unknown as Backend;
  const engine = tf.engine() as unknown as Engine;
  const { readSync, read } = backend;
  const ownRunner = Object.hasOwn(engine, 'runKernelFunc');
  const runKernelFunc = engine.runKernelFunc;
  let nested = 0;
  let count = 0;
  const nest = <A extends unknown[], R>(f: (...args: A) => R) =>
    function (this: unknown, ...args: A): R {
      nested++;
      try {
        return f.apply(this, args);
      } finally {
        nested--;
      }
    };
  backend.readSync = function (this: Backend, ...args: unknown[]) {
    if (nested === 0) count++;
    return readSync.apply(this, args);
  };
  backend.read = nest(read);
  engine.runKernelFunc = nest(runKernelFunc);
  try {
    await fn();
  } finally {
    backend.readSync = readSync;
    backend.read = read;
    if (ownRunner) engine.runKernelFunc = runKernelFunc;
    else delete (engine as Partial<Engine>).runKernelFunc;
  }
  return count;
}

/** Counts asynchronous reads (`read` on the active backend: `data()`, `array()`) while `fn` runs. */
export async function countAsyncReads(fn: () => unknown | Promise<unknown>): Promise<number> {
  const backend = tf.backend() as unknown as Backend;
  const read = backend.read;
  let count = 0;
  backend.read = function (this: Backend, ...args: unknown[]) {
    count++;
    return read.apply(this, args);
  };
  try {
    await fn();
  } finally {
    backend.read = read;
  }
  return count;
}

/** Tensors left behind by `fn` (run it once before to warm up lazily created state). */
export async function tensorsLeftBy(fn: () => unknown | Promise<unknown>): Promise<number> {
  const before = tf.memory().numTensors;
  await fn();
  return tf.memory().numTensors - before;
}

/** A float32 tensor's values as a plain array (test-side read). */
export function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

/** Asserts two arrays are elementwise close: |a - b| <= atol + rtol * |b|. Returns the largest violation. */
export function maxViolation(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol = 0): number {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (Number.isNaN(a) && Number.isNaN(e)) continue;
    if (a === e) continue;
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    worst = Math.max(worst, Number.isNaN(excess) ? Number.POSITIVE_INFINITY : excess);
  }
  return worst;
}
