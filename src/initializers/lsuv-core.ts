import * as tf from '@tensorflow/tfjs-core';
import { fail, optionsObject, positiveFinite, wholeNumber } from '../internal/validate.js';
import { orthogonal } from './orthogonal.js';

/**
 * What LSUV did to one layer:
 * - `'scaled'`: its kernel was rescaled (`iterations` >= 1 times) and its output variance is now within tolerance of 1.
 * - `'withinTolerance'`: its output variance was already within tolerance (after the orthogonal pre-init, if any);
 *   the kernel was not rescaled.
 * - `'notConverged'`: rescaled `maxIterations` times and still outside tolerance (the output is not proportional
 *   to the kernel: a bounded activation measured after it, a large bias, a kernel constraint...). It keeps its
 *   last kernel, usually much closer to unit variance than before.
 * - `'dead'`: its output variance is 0 or not finite on this batch (every output equal, or NaN/Infinity), so
 *   there is nothing to divide by, or a rescaling did not change it (no signal reaches the kernel: a constant
 *   input, the bias alone sets the output). It is left as it was (a rescaling that led there is undone).
 * - `'skipped'`: not touched at all: not a layer LSUV can scale, frozen, or smaller than `minUnits`.
 */
export type LsuvStatus = 'scaled' | 'withinTolerance' | 'notConverged' | 'dead' | 'skipped';

/** One layer (or step) of an {@link LsuvReport}, in model order. Variances are over every entry of the output. */
export interface LsuvLayerReport {
  /** The layer's name (`layer.name`), or the step's name in {@link lsuvVariables}. */
  readonly name: string;
  /** The layer's tfjs class name (`'Dense'`, `'Conv2D'`...); `null` for the steps of {@link lsuvVariables}. */
  readonly className: string | null;
  /** What was done; see {@link LsuvStatus}. */
  readonly status: LsuvStatus;
  /** Why, for `'skipped'`, `'dead'` and `'notConverged'` layers; absent otherwise. */
  readonly reason?: string;
  /** Output values per example (the output's size without the batch axis); `null` when not known. */
  readonly units: number | null;
  /** Whether its kernel was replaced by an orthogonal matrix before the rescaling. */
  readonly orthogonalInit: boolean;
  /** How many times its kernel was rescaled (0 to `maxIterations`). */
  readonly iterations: number;
  /** The factor its kernel was multiplied by in all (after the orthogonal pre-init); 1 when not rescaled. */
  readonly scale: number;
  /**
   * Output variance before the first rescaling (after the orthogonal pre-init); `null` when not measured (skipped).
   * NaN or Infinity for a dead layer whose output is not finite (`JSON.stringify` writes those as null).
   */
  readonly varianceBefore: number | null;
  /** Output variance with the kernel it has now, i.e. the last measurement; `null` when not measured (skipped). */
  readonly varianceAfter: number | null;
}

/** What {@link lsuv} and {@link lsuvVariables} did, layer by layer. Plain data: log it or `JSON.stringify` it. */
export interface LsuvReport {
  /** One entry per layer of the model (or per step), in order, including the skipped ones. */
  readonly layers: readonly LsuvLayerReport[];
  /** True when every layer that was not skipped ended within tolerance (none `'notConverged'` or `'dead'`). */
  readonly converged: boolean;
}

/** Resolved options of the shared algorithm. */
export interface LsuvSettings {
  readonly tolerance: number;
  readonly maxIterations: number;
  readonly orthogonalInit: boolean;
  readonly seed: number | undefined;
  readonly minUnits: number;
}

/** A layer the loop can scale: a kernel it reads and writes, and a forward pass to that layer's output. */
export interface ScalableEntry {
  readonly kind: 'scale';
  readonly name: string;
  readonly className: string | null;
  /** Output values per example when known without running the layer (a model's static shapes). */
  readonly units?: number;
  /** Whether an orthogonal pre-init applies to this kernel (not to a depthwise kernel). */
  readonly orthogonalizable: boolean;
  /** The kernel's current value (not to be disposed). */
  read(): tf.Tensor;
  /** Sets the kernel (the value may be disposed after the call). */
  write(value: tf.Tensor): void;
  /** The layer's output on the batch with the current kernel; called inside `tf.tidy`. */
  forward(): tf.Tensor;
}

/** A layer the loop leaves alone, with the reason. */
export interface SkippedEntry {
  readonly kind: 'skip';
  readonly name: string;
  readonly className: string | null;
  readonly reason: string;
}

export type LsuvEntry = ScalableEntry | SkippedEntry;

const COMMON_KEYS = ['tolerance', 'maxIterations', 'orthogonalInit', 'seed', 'minUnits'] as const;

/** Validates the options both forms share (plus `extra` keys the caller reads itself). */
export function resolveSettings<T extends object>(
  fn: string,
  options: unknown,
  extra: readonly string[] = [],
): { settings: LsuvSettings; opts: Partial<T> } {
  const opts = optionsObject<Record<string, unknown>>(fn, options, [...COMMON_KEYS, ...extra]);
  const tolerance = opts.tolerance === undefined ? 0.1 : positiveFinite(fn, 'tolerance', opts.tolerance);
  const maxIterations = opts.maxIterations === undefined ? 10 : wholeNumber(fn, 'maxIterations', opts.maxIterations, 1);
  const minUnits = opts.minUnits === undefined ? 32 : wholeNumber(fn, 'minUnits', opts.minUnits, 0);
  if (opts.orthogonalInit !== undefined && typeof opts.orthogonalInit !== 'boolean') {
    fail(fn, 'orthogonalInit must be a boolean', opts.orthogonalInit);
  }
  if (opts.seed !== undefined && (typeof opts.seed !== 'number' || !Number.isFinite(opts.seed))) {
    fail(fn, 'seed must be a finite number', opts.seed);
  }
  const settings: LsuvSettings = {
    tolerance,
    maxIterations,
    minUnits,
    orthogonalInit: opts.orthogonalInit !== false,
    seed: opts.seed as number | undefined,
  };
  return { settings, opts: opts as Partial<T> };
}

interface Measurement {
  readonly variance: number;
  readonly units: number;
}

/** One forward pass: the population variance over every entry of the output, read with one async `data()`. */
async function measure(entry: ScalableEntry): Promise<Measurement> {
  let shape: readonly number[] = [];
  const variance = tf.tidy(() => {
    const output = entry.forward();
    shape = output.shape;
    return tf.moments(tf.cast(output, 'float32')).variance;
  });
  try {
    const value = (await variance.data())[0] as number;
    return { variance: value, units: shape.slice(1).reduce((a, b) => a * b, 1) };
  } finally {
    variance.dispose();
  }
}

const usable = (v: number): boolean => Number.isFinite(v) && v > 0;

/**
 * Whether a rescaling left the variance where it was: it should move it (nearly) all the way from `v` to 1, and it
 * did not move it a thousandth of that. Not judged within 1e-4 of 1, where float32 rounding is of that size.
 */
function deaf(v: number, next: number): boolean {
  const expected = Math.abs(1 - v);
  return expected > 1e-4 && Math.abs(next - v) <= 1e-3 * expected;
}

function deadReason(v: number, factor?: number, previous?: number): string {
  if (factor === undefined) {
    const what = v === 0 ? 'is 0 (every output equal: a dead layer or a constant input)' : `is ${v} (not finite)`;
    return `output variance ${what}, so there is nothing to divide by`;
  }
  const what = usable(v)
    ? `stayed at ${previous} after rescaling by ${factor}: the output does not depend on the kernel (a constant input?)`
    : `became ${v} after rescaling by ${factor}`;
  return `output variance ${what}; that rescaling was undone`;
}

/** A layer's report with its keys in a fixed order (the order they are logged in). */
function layerReport(
  entry: { readonly name: string; readonly className: string | null },
  status: LsuvStatus,
  reason: string | undefined,
  fields: Partial<Omit<LsuvLayerReport, 'name' | 'className' | 'status' | 'reason'>> = {},
): LsuvLayerReport {
  return {
    name: entry.name,
    className: entry.className,
    status,
    ...(reason === undefined ? {} : { reason }),
    units: fields.units ?? null,
    orthogonalInit: fields.orthogonalInit ?? false,
    iterations: fields.iterations ?? 0,
    scale: fields.scale ?? 1,
    varianceBefore: fields.varianceBefore ?? null,
    varianceAfter: fields.varianceAfter ?? null,
  };
}

async function scaleOne(entry: ScalableEntry, index: number, settings: LsuvSettings): Promise<LsuvLayerReport> {
  let first: Measurement | undefined;
  let units = entry.units;
  if (units === undefined) {
    first = await measure(entry);
    units = first.units;
  }
  if (units < settings.minUnits) {
    const reason = `has ${units} output units per example, fewer than minUnits (${settings.minUnits})`;
    return layerReport(entry, 'skipped', reason, { units });
  }
  const orthogonalInit = settings.orthogonalInit && entry.orthogonalizable;
  if (orthogonalInit) {
    const init = orthogonal(settings.seed === undefined ? {} : { seed: settings.seed + index });
    tf.tidy(() => entry.write(init.apply(entry.read().shape)));
    first = undefined;
  }
  let v = (first ?? (await measure(entry))).variance;
  const varianceBefore = v;
  let iterations = 0;
  let scale = 1;
  const done = (status: LsuvStatus, reason?: string) =>
    layerReport(entry, status, reason, { units, orthogonalInit, iterations, scale, varianceBefore, varianceAfter: v });
  if (!usable(v)) return done('dead', deadReason(v));
  while (Math.abs(v - 1) >= settings.tolerance && iterations < settings.maxIterations) {
    const factor = 1 / Math.sqrt(v);
    const previous = tf.clone(entry.read());
    try {
      tf.tidy(() => entry.write(tf.mul(entry.read(), factor)));
      const next = (await measure(entry)).variance;
      if (!usable(next) || deaf(v, next)) {
        tf.tidy(() => entry.write(previous));
        return done('dead', deadReason(next, factor, v));
      }
      v = next;
      iterations++;
      scale *= factor;
    } finally {
      previous.dispose();
    }
  }
  if (Math.abs(v - 1) < settings.tolerance) return done(iterations === 0 ? 'withinTolerance' : 'scaled');
  return done(
    'notConverged',
    `output variance ${v} is still not within ${settings.tolerance} of 1 after ${iterations} rescalings (maxIterations)`,
  );
}

/**
 * The LSUV loop shared by {@link lsuv} and {@link lsuvVariables}: layer by layer in order, optionally an orthogonal
 * pre-init, then `W <- W / sqrt(Var(output))` until the variance is within tolerance of 1 or `maxIterations`.
 */
export async function runLsuv(entries: readonly LsuvEntry[], settings: LsuvSettings): Promise<LsuvReport> {
  const layers: LsuvLayerReport[] = [];
  let kernels = 0; // the i-th scalable kernel gets seed + i, whatever else the model holds
  for (const entry of entries) {
    layers.push(
      entry.kind === 'skip' ? layerReport(entry, 'skipped', entry.reason) : await scaleOne(entry, kernels++, settings),
    );
  }
  const converged = layers.every((l) => l.status !== 'notConverged' && l.status !== 'dead');
  return { layers, converged };
}
