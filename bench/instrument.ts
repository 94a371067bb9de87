/** Instrumentation for the benchmark harness: blocking-read counting, forced GC, kernel profiles. */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as tf from '@tensorflow/tfjs';
import type { Variant } from './harness.js';

/** Counts reads on the active backend while installed. */
export interface ReadCounter {
  readonly syncReads: number;
  readonly asyncReads: number;
  /** Stack traces of the blocking reads, when asked for. */
  readonly stacks: readonly string[];
  uninstall(): void;
}

type ReadFns = { read: (...args: unknown[]) => Promise<unknown>; readSync: (...args: unknown[]) => unknown };

type KernelRunner = { runKernelFunc: (...args: unknown[]) => unknown };

/**
 * Wraps the active backend's `read` and `readSync`. A `readSync` counts as blocking only when it is not nested
 * inside a `read` (the cpu and wasm backends implement `read` by calling `readSync`), inside another `readSync`, or
 * inside a kernel: the wasm backend's Slice kernel (behind `split` and `slice`) and tfjs's RNN kernels read their
 * input with `readSync`, a view of the wasm heap on a backend that runs every kernel synchronously anyway, not a
 * wait for a device that the caller could avoid.
 */
export function installReadCounter(options: { captureStacks?: boolean } = {}): ReadCounter {
  const backend = tf.backend() as unknown as ReadFns;
  const engine = tf.engine() as unknown as KernelRunner;
  const hadOwn = { read: Object.hasOwn(backend, 'read'), readSync: Object.hasOwn(backend, 'readSync') };
  const hadOwnRunner = Object.hasOwn(engine, 'runKernelFunc');
  const original = { read: backend.read, readSync: backend.readSync, runKernelFunc: engine.runKernelFunc };
  let depth = 0;
  const counts = { syncReads: 0, asyncReads: 0, stacks: [] as string[] };
  engine.runKernelFunc = function (this: unknown, ...args: unknown[]) {
    depth++;
    try {
      return original.runKernelFunc.apply(this, args);
    } finally {
      depth--;
    }
  };
  backend.read = function (this: unknown, ...args: unknown[]) {
    counts.asyncReads++;
    depth++;
    try {
      return original.read.apply(this, args);
    } finally {
      depth--;
    }
  };
  backend.readSync = function (this: unknown, ...args: unknown[]) {
    if (depth === 0) {
      counts.syncReads++;
      if (options.captureStacks) counts.stacks.push(new Error('readSync').stack ?? '');
    }
    depth++;
    try {
      return original.readSync.apply(this, args);
    } finally {
      depth--;
    }
  };
  return {
    get syncReads() {
      return counts.syncReads;
    },
    get asyncReads() {
      return counts.asyncReads;
    },
    get stacks() {
      return counts.stacks;
    },
    uninstall() {
      const b = backend as unknown as Record<string, unknown>;
      if (hadOwn.read) backend.read = original.read;
      else delete b.read;
      if (hadOwn.readSync) backend.readSync = original.readSync;
      else delete b.readSync;
      if (hadOwnRunner) engine.runKernelFunc = original.runKernelFunc;
      else delete (engine as unknown as Record<string, unknown>).runKernelFunc;
    },
  };
}

let gcFn: (() => void) | undefined | null = null;
/** A full GC if the runtime can be persuaded to expose one (no command-line flag needed). */
export function fullGC(): void {
  if (gcFn === null) {
    try {
      setFlagsFromString('--expose-gc');
      gcFn = runInNewContext('gc') as () => void;
    } catch {
      gcFn = undefined;
    }
  }
  gcFn?.();
}

/** Runs `n` steps of a variant, awaiting the async ones. */
export async function runSteps(v: Variant, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = v.step();
    if (r) await r;
  }
}

export interface KernelProfile {
  /** Kernels launched by one step. */
  readonly kernels: number;
  /** Kernel name -> [count, total ms] over one step, sorted by time. */
  readonly byKernel: readonly { name: string; count: number; ms: number }[];
  /** Sum of kernel times, ms (excludes JS overhead between kernels). */
  readonly kernelMs: number;
}

/**
 * Profiles `steps` steps with `tf.profile`: which kernels ran, how often, and how long (as the backend timed
 * them), averaged per step.
 */
export async function profileStep(v: Variant, steps = 3): Promise<KernelProfile> {
  const info = await tf.profile(async () => {
    await runSteps(v, steps);
  });
  const agg = new Map<string, { count: number; ms: number }>();
  let kernelMs = 0;
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    kernelMs += ms;
    const a = agg.get(k.name) ?? { count: 0, ms: 0 };
    a.count++;
    a.ms += ms;
    agg.set(k.name, a);
  }
  const byKernel = [...agg.entries()]
    .map(([name, a]) => ({ name, count: a.count / steps, ms: a.ms / steps }))
    .sort((x, y) => y.ms - x.ms);
  return { kernels: info.kernels.length / steps, byKernel, kernelMs: kernelMs / steps };
}
