import * as tf from '@tensorflow/tfjs-core';
import type { Callback } from '@tensorflow/tfjs-layers';
import { checkParams, viewGradients } from '../internal/grads.js';
import { brandClass, isInstance } from '../internal/identity.js';
import { Ring } from '../internal/ring.js';
import { assertSingleTfjs } from '../internal/single-tfjs.js';
import { fail, optionsObject, wholeNumber, withCaller } from '../internal/validate.js';
import { VariableOwner } from '../internal/variable-owner.js';
import { registerBuiltInTransform } from '../transforms/registry.js';
import { StepStats, statsOf } from '../transforms/step-stats.js';
import type { GradientTransform } from '../transforms/types.js';
import {
  DEFAULT_THRESHOLDS,
  type DetectorState,
  detect,
  type HealthThresholds,
  INITIAL_DETECTOR_STATE,
  resolveThresholds,
} from './detectors.js';
import { type PackLayout, packedLength, packStepStats, type RecordedFigures, unpackStepStats } from './device-stats.js';
import { monitorCallback } from './fit-callback.js';
import { defaultLayerOf, groupByLayer, type LayerGroups } from './layer-groups.js';
import { ReadBuffer } from './read-buffer.js';
import { addVerdict, buildReport, formatSummary, type HealthReport, historyToCsv, type Verdict } from './report.js';
import type { MonitorEvent, MonitorEventName, StepRecord } from './types.js';

/** Options of {@link GradientHealthMonitor}. */
export interface GradientHealthMonitorOptions {
  /**
   * The recording interval, a whole number from 1 to 1000. Every step, the monitor measures what catches a problem
   * as it happens: one sum of squares per variable (or the norm parts a clipping transform in the same pipeline
   * computed anyway), which gives the global norm and each layer's norm, so a NaN or Infinity (and which layers hold
   * one), a spike, and vanishing or exploding layers raise their events on the step they happen. Every `every`-th
   * step is **recorded**: it measures each layer's norm overflow-safe, its max |g| and its count of non-finite
   * entries, and, on a recorded step at least `sampleEvery` steps after the last, the weight norms and update ratios.
   * The history holds the recorded steps, and every other step that raised an event (marked `partial`: there a
   * layer's `nonFinite` is 1 or 0, its `maxAbs` NaN unless a clip measured it, and a layer norm above ~1.8e19, whose
   * float32 sum of squares overflows, reads as Infinity). The figures are read back once per interval, in one
   * asynchronous `data()` call (the steps in between append theirs to one buffer on the device). Defaults to 1:
   * everything every step, events a step or so late. `every: 10` records a tenth of the steps, costs less, and
   * reports up to 10 steps late.
   */
  readonly every?: number;
  /** How many steps the history keeps, a whole number >= 1 (a ring: the oldest go first). Defaults to 2000. */
  readonly historySize?: number;
  /**
   * Measure the weight norms and the update ratio `||dW|| / ||W||` (the update the optimizer really applied at the
   * step before) on the first recorded step and then on recorded steps at least `sampleEvery` steps apart. Defaults
   * to 10. Needs the weights: automatic through {@link withTransforms}; pass them to
   * {@link GradientHealthMonitor.observe} in a raw loop. The weights of the step before are held in variables kept
   * from one measurement to the next (no new tensor per step: one copy of the weights' values is held meanwhile).
   */
  readonly sampleEvery?: number;
  /**
   * The layer a variable belongs to, from its name: a function returning a string. Defaults to the name without its
   * last `/` segment.
   */
  readonly layerOf?: (variableName: string) => string;
  /**
   * When to call something vanishing, exploding or a spike: see {@link HealthThresholds} for the defaults and the
   * range of each.
   */
  readonly thresholds?: Partial<HealthThresholds>;
}

/** Options of {@link GradientHealthMonitor.callback}. */
export interface MonitorCallbackOptions {
  /** Stop `fit` (`model.stopTraining = true`) as soon as non-finite gradients are reported. Defaults to false. */
  readonly stopOnNonFinite?: boolean;
}

type Handler = (event: MonitorEvent) => void;

const FN = 'GradientHealthMonitor';
/**
 * The longest interval between reads: the figures of the steps in between wait on the device (appended to one
 * buffer), and nothing is reported until they are read.
 */
const MAX_EVERY = 1000;
const EVENT_NAMES: readonly MonitorEventName[] = ['vanishing', 'exploding', 'nonFinite', 'spike'];

/** A step whose packed figures wait in the read buffer, with the layer names they describe. */
interface Pending {
  readonly step: number;
  readonly groups: LayerGroups;
  /** What the packed vector holds. */
  readonly layout: PackLayout;
}

/**
 * Watches gradients while a model trains and tells, as it happens, which layers' gradients vanish or explode,
 * when a NaN or Infinity appears and where, and when the global norm spikes. Each step's figures (the global norm
 * and each layer's norm, from one sum of squares per variable; on recorded steps also each layer's max |g| and count
 * of non-finite entries, and at intervals the weight norm and the update ratio) are computed on the device, packed
 * into one buffer, and read back asynchronously once every `every` steps: no blocking read, at any interval.
 *
 * Three ways in: {@link GradientHealthMonitor.tap}, a gradient transform for {@link withTransforms} (first in the
 * chain to see raw gradients, or after clipping to see what the optimizer gets); {@link GradientHealthMonitor.observe}
 * for raw `tf.variableGrads` loops; and {@link GradientHealthMonitor.callback} for `fit`, which flushes the reads
 * at each epoch's end, adds the figures to the epoch logs and can stop training on non-finite gradients.
 * Results: events ({@link GradientHealthMonitor.on}), {@link GradientHealthMonitor.history},
 * {@link GradientHealthMonitor.report}, {@link GradientHealthMonitor.summary}, JSON and CSV.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { GradientHealthMonitor, withTransforms } from 'gradstab';
 * const model = tf.sequential({
 *   layers: [tf.layers.dense({ units: 8, inputShape: [4], activation: 'relu', name: 'hidden' }), tf.layers.dense({ units: 1, name: 'out' })],
 * });
 * const monitor = new GradientHealthMonitor();
 * monitor.on('nonFinite', (e) => console.log(e.reason));
 * model.compile({ optimizer: withTransforms(tf.train.adam(1e-3), monitor.tap), loss: 'meanSquaredError' });
 * await model.fit(tf.randomNormal([32, 4]), tf.randomNormal([32, 1]), { epochs: 2, callbacks: [monitor.callback()], verbose: 0 });
 * console.log(monitor.summary()); // (a table with one row per layer, hidden and out, then the verdicts)
 * ```
 */
export class GradientHealthMonitor {
  /** True for monitors from any copy of gradstab (its ES-module and CommonJS builds alike). */
  static [Symbol.hasInstance](instance: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of instanceof, a subclass too
    return isInstance(this, instance);
  }

  /** The gradient transform that feeds the monitor; it passes the gradients through unchanged. */
  readonly tap: GradientTransform;
  private readonly every: number;
  private readonly historySize: number;
  private readonly sampleEvery: number;
  private readonly layerOf: (name: string) => string;
  private readonly thresholds: HealthThresholds;
  private readonly handlers = new Map<MonitorEventName, Handler[]>();
  private readonly inFlight = new Set<Promise<void>>();
  private pending: Pending[] = [];
  /** The pending steps' figures, on the device. */
  private readonly buffer = new ReadBuffer();
  private readonly records: Ring<StepRecord>;
  private groupsCache: { key: string; groups: LayerGroups } | undefined;
  /** The weights one step before a step that measures them, in variables kept from one measurement to the next. */
  private readonly snapshots = new Map<string, tf.Variable>();
  /** The step whose weights the snapshots hold (before its update). */
  private snapshotStep = 0;
  /** The last step that measured the weights. */
  private lastWeighed: number | undefined;
  private detector: DetectorState = INITIAL_DETECTOR_STATE;
  private active = new Set<string>();
  private verdicts: Verdict[] = [];
  private readonly counts: Record<MonitorEventName, number> = { vanishing: 0, exploding: 0, nonFinite: 0, spike: 0 };
  private failure: unknown;
  /** Set by {@link GradientHealthMonitor.dispose}. */
  private disposed = false;
  /** The model whose gradients it watches: a monitor's detectors and history describe one. */
  private readonly owner = new VariableOwner('GradientHealthMonitor', 'make one monitor per model');
  private observed = 0;

  constructor(options?: GradientHealthMonitorOptions) {
    assertSingleTfjs(FN);
    const o = optionsObject<GradientHealthMonitorOptions>(FN, options, [
      'every',
      'historySize',
      'sampleEvery',
      'layerOf',
      'thresholds',
    ]);
    this.every = wholeNumber(FN, 'every', o.every ?? 1, 1);
    if (this.every > MAX_EVERY) fail(FN, `every must be at most ${MAX_EVERY} (steps between reads)`, this.every);
    this.historySize = wholeNumber(FN, 'historySize', o.historySize ?? 2000, 1);
    this.records = new Ring(this.historySize);
    this.sampleEvery = wholeNumber(FN, 'sampleEvery', o.sampleEvery ?? 10, 1);
    if (o.layerOf !== undefined && typeof o.layerOf !== 'function') fail(FN, 'layerOf must be a function', o.layerOf);
    const layerOf = o.layerOf;
    this.layerOf =
      layerOf === undefined
        ? defaultLayerOf
        : (name) => {
            const layer: unknown = layerOf(name);
            if (typeof layer !== 'string') {
              fail(FN, `layerOf must return a layer name (a string) for ${JSON.stringify(name)}`, layer);
            }
            return layer;
          };
    const t = optionsObject<HealthThresholds>(FN, o.thresholds, Object.keys(DEFAULT_THRESHOLDS));
    this.thresholds = resolveThresholds(FN, t);
    this.tap = {
      kind: TAP_KIND,
      config: {},
      init: () => ({}),
      update: (grads, state, context) => {
        this.usable(`${FN}.tap`);
        this.record(grads, context.params, statsOf(context));
        return { grads, state };
      },
    };
  }

  /** Throws once the monitor was disposed: its tap and `observe` would queue tensors nobody frees. */
  private usable(fn: string): void {
    if (this.disposed) {
      fail(
        fn,
        'this monitor was disposed: make a new GradientHealthMonitor to keep watching',
        this,
        'a disposed monitor',
      );
    }
  }

  /** Steps observed so far. */
  get steps(): number {
    return this.observed;
  }

  /**
   * Records one step's gradients in a raw loop (`tf.variableGrads`): the same as the tap does inside an optimizer.
   * @param grads Gradients by variable name.
   * @param params The variables' current values by the same names, for the weight norms and update ratios.
   */
  observe(grads: tf.NamedTensorMap, params?: tf.NamedTensorMap): void {
    this.usable(`${FN}.observe`);
    const view = viewGradients(`${FN}.observe`, grads);
    const values = checkParams(`${FN}.observe`, params);
    withCaller(`${FN}.observe`, () => tf.tidy(() => this.record(view.grads, values, new StepStats(false))));
  }

  /** Whether `step` is recorded: the last of each interval of `every` steps. */
  private isRecorded(step: number): boolean {
    return step % this.every === 0;
  }

  /** Whether `step` measures the weights: a recorded step, the first one or `sampleEvery` steps after the last. */
  private weighs(step: number): boolean {
    return this.isRecorded(step) && (this.lastWeighed === undefined || step - this.lastWeighed >= this.sampleEvery);
  }

  /**
   * Queues one step's figures. Every step costs the figures that catch a non-finite step, a spike and vanishing or
   * exploding layers (shared with the step's transforms); a recorded step also counts non-finite entries and may
   * measure the weights. The figures are packed once the step's transforms have all run (`stats.defer`), so that a
   * clip after the tap shares its norm parts with the monitor instead of the monitor computing its own.
   */
  private record(grads: tf.NamedTensorMap, params: tf.NamedTensorMap | undefined, stats: StepStats): void {
    const names = Object.keys(grads);
    this.owner.claim(FN, names);
    const step = ++this.observed;
    const groups = this.groupsFor(names);
    const recorded = this.isRecorded(step);
    const weights = params && names.every((n) => params[n]) ? names.map((n) => params[n] as tf.Tensor) : undefined;
    let figures: RecordedFigures | undefined;
    if (recorded) {
      const weighs = weights !== undefined && this.weighs(step);
      if (weighs) this.lastWeighed = step;
      const previous = weighs && this.snapshotStep === step - 1 ? this.snapshotOf(names) : undefined;
      figures = weighs ? { weights, ...(previous ? { previous } : {}) } : {};
    }
    // The next step measures the weights: keep these (the values before this step's update) for its update ratio.
    const snapshot = weights !== undefined && this.weighs(step + 1);
    stats.defer(() => {
      const { packed, layout } = packStepStats(
        names.map((n) => grads[n] as tf.Tensor),
        stats,
        figures,
      );
      this.buffer.append(packed);
      this.pending.push({ step, groups, layout });
      if (snapshot) this.takeSnapshot(names, weights as tf.Tensor[], step);
      // Made on the first step, so that no later step adds a tensor (tfjs-examples count tensors per batch).
      else if (weights !== undefined && this.snapshots.size === 0) this.takeSnapshot(names, weights);
      if (this.pending.length >= this.every) this.read();
    });
  }

  /**
   * Points the snapshot variables at the weights' current values: `assign` shares the buffer (no copy, and no new
   * tensor after the first time), and the optimizer's update gives the weights new buffers, so these keep the old.
   * Without a `step` the snapshot is only made, not taken for an update ratio.
   */
  private takeSnapshot(names: readonly string[], values: readonly tf.Tensor[], step?: number): void {
    names.forEach((name, i) => {
      const value = values[i] as tf.Tensor;
      const held = this.snapshots.get(name);
      if (held && tf.util.arraysEqual(held.shape, value.shape) && held.dtype === value.dtype) held.assign(value);
      else {
        held?.dispose();
        this.snapshots.set(name, tf.keep(tf.variable(value, false)));
      }
    });
    if (step !== undefined) this.snapshotStep = step;
  }

  /** The snapshot of these variables, in their order, if it holds all of them. */
  private snapshotOf(names: readonly string[]): tf.Tensor[] | undefined {
    const held = names.map((name) => this.snapshots.get(name));
    return held.every((h) => h !== undefined) ? (held as tf.Tensor[]) : undefined;
  }

  private groupsFor(names: readonly string[]): LayerGroups {
    const key = names.join('\u0000');
    if (this.groupsCache?.key !== key) this.groupsCache = { key, groups: groupByLayer(names, this.layerOf) };
    return this.groupsCache.groups;
  }

  /** Starts one asynchronous read of everything pending. */
  private read(): void {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    const stacked = this.buffer.take();
    if (!stacked) return;
    const done = stacked
      .data()
      .then((data) => this.ingest(batch, data as Float32Array))
      .catch((err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => {
        this.buffer.release(stacked);
        this.inFlight.delete(done);
      });
    this.inFlight.add(done);
  }

  /** Turns read values into records, history and events. */
  private ingest(batch: readonly Pending[], data: Float32Array): void {
    let offset = 0;
    for (const { step, groups, layout } of batch) {
      const { recorded } = layout;
      const record: StepRecord = {
        step,
        ...unpackStepStats(data, offset, layout, groups),
        ...(recorded ? {} : { partial: true as const }),
      };
      offset += packedLength(layout);
      const { events, state } = detect(record, this.detector, this.thresholds);
      this.detector = state;
      // The history holds the recorded steps, and any other step that raised an event.
      if (recorded || events.length > 0) this.records.push(record);
      this.emit(events);
    }
  }

  /** Counts and aggregates every condition; calls handlers for new ones (vanishing/exploding at onset only). */
  private emit(events: readonly MonitorEvent[]): void {
    const now = new Set<string>();
    for (const e of events) {
      this.counts[e.kind]++;
      this.verdicts = addVerdict(this.verdicts, e);
      const key = `${e.kind}:${e.layers.join('\u0000')}`;
      now.add(key);
      const ongoing = (e.kind === 'vanishing' || e.kind === 'exploding') && this.active.has(key);
      if (ongoing) continue;
      for (const handler of this.handlers.get(e.kind) ?? []) {
        try {
          handler(e);
        } catch (err) {
          this.failure ??= err;
        }
      }
    }
    this.active = now;
  }

  /**
   * Calls `handler` when the condition is reported: `'nonFinite'` and `'spike'` on every step they occur,
   * `'vanishing'` and `'exploding'` when they start (or the layers involved change), not again on every step they
   * persist (the report counts those). Handlers run when the figures are read, a step or more after the step.
   */
  on(name: MonitorEventName, handler: (event: MonitorEvent) => void): this {
    if (!EVENT_NAMES.includes(name)) fail(`${FN}.on`, `the event must be one of ${EVENT_NAMES.join(', ')}`, name);
    if (typeof handler !== 'function') fail(`${FN}.on`, 'the handler must be a function', handler);
    this.handlers.set(name, [...(this.handlers.get(name) ?? []), handler]);
    return this;
  }

  /** Removes a handler added with {@link GradientHealthMonitor.on}. */
  off(name: MonitorEventName, handler: (event: MonitorEvent) => void): this {
    if (!EVENT_NAMES.includes(name)) fail(`${FN}.off`, `the event must be one of ${EVENT_NAMES.join(', ')}`, name);
    if (typeof handler !== 'function') fail(`${FN}.off`, 'the handler must be a function', handler);
    this.handlers.set(
      name,
      (this.handlers.get(name) ?? []).filter((h) => h !== handler),
    );
    return this;
  }

  /**
   * Reads everything still pending and waits for every read in flight: afterwards the history, report and events
   * cover every step observed. Rethrows an error a handler threw.
   */
  async flush(): Promise<void> {
    this.read();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
    if (this.failure !== undefined) {
      const err = this.failure;
      this.failure = undefined;
      throw err;
    }
  }

  /** The recorded steps, oldest first (at most `historySize`). Call {@link GradientHealthMonitor.flush} first to include the latest. */
  get history(): readonly StepRecord[] {
    return this.records.toArray();
  }

  /** Per-layer figures, verdicts with their reasons, and counts, over the recorded steps. */
  report(): HealthReport {
    return buildReport(this.observed, this.records.toArray(), this.verdicts, { ...this.counts });
  }

  /** The report as a readable text table. */
  summary(): string {
    return formatSummary(this.report());
  }

  /** Report and history as plain JSON-safe data (non-finite numbers as the strings "NaN", "Infinity"). */
  toJSON(): MonitorJSON {
    const safe = (_: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v);
    return JSON.parse(JSON.stringify({ report: this.report(), history: this.records.toArray() }, safe));
  }

  /** The history as CSV: one row per step and layer, plus a `(global)` row per step. */
  toCSV(): string {
    return historyToCsv(this.records.toArray());
  }

  /**
   * A callback for `fit` / `fitDataset`: flushes the reads at each epoch's end, adds `gradNorm` (last global
   * norm), `gradNormMax` (largest in the epoch) and `nonFiniteSteps` (in the epoch) to the epoch logs, and with
   * `stopOnNonFinite` stops that training run when non-finite gradients are reported.
   *
   * It is a tfjs callback object, like `tf.callbacks.earlyStopping()`. tfjs reads a `callbacks` array by its first
   * item: if that is a callback object, all must be (wrap plain `{ onEpochEnd }` objects in `new tf.CustomCallback`);
   * if it is a plain object, tfjs wraps every item, and this one still works then, except that `stopOnNonFinite`
   * needs the model, which tfjs gives only to callback objects (it says so when `fit` starts).
   *
   * @example
   * ```ts
   * import * as tf from '@tensorflow/tfjs';
   * import { GradientHealthMonitor, withTransforms } from 'gradstab';
   * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
   * const monitor = new GradientHealthMonitor();
   * model.compile({ optimizer: withTransforms(tf.train.sgd(0.1), monitor.tap), loss: 'meanSquaredError' });
   * const history = await model.fit(tf.ones([8, 2]), tf.ones([8, 1]), {
   *   epochs: 2,
   *   verbose: 0,
   *   callbacks: [
   *     monitor.callback({ stopOnNonFinite: true }),
   *     new tf.CustomCallback({ onEpochEnd: async (epoch, logs) => console.log(epoch, logs?.gradNorm) }),
   *   ],
   * });
   * console.log(history.history.nonFiniteSteps); // [0, 0]
   * ```
   */
  callback(options?: MonitorCallbackOptions): Callback {
    const o = optionsObject<MonitorCallbackOptions>(`${FN}.callback`, options, ['stopOnNonFinite']);
    if (o.stopOnNonFinite !== undefined && typeof o.stopOnNonFinite !== 'boolean') {
      fail(`${FN}.callback`, 'stopOnNonFinite must be a boolean', o.stopOnNonFinite);
    }
    return monitorCallback(this, o.stopOnNonFinite === true);
  }

  /**
   * Frees the tensors still pending and the weight snapshot. The monitor keeps its history (`history`, `report()`,
   * `summary()` still work), but observes no more: `observe` and its tap in an optimizer then throw a GradStabError.
   */
  dispose(): void {
    this.disposed = true;
    this.buffer.dispose();
    this.pending = [];
    for (const held of this.snapshots.values()) held.dispose();
    this.snapshots.clear();
  }
}

/** What {@link GradientHealthMonitor.toJSON} returns. */
export interface MonitorJSON {
  /** The {@link GradientHealthMonitor.report}. */
  readonly report: HealthReport;
  /** The {@link GradientHealthMonitor.history}. */
  readonly history: readonly StepRecord[];
}

brandClass(GradientHealthMonitor, 'GradientHealthMonitor');

const TAP_KIND = 'gradientHealthTap';

/**
 * A saved optimizer that held a monitor's tap loads with an inert pass-through in its place: a monitor is a live
 * object, not part of the model. Attach a new monitor's tap to keep watching.
 */
registerBuiltInTransform(TAP_KIND, () => ({
  kind: TAP_KIND,
  config: {},
  init: () => ({}),
  update: (grads, state) => ({ grads, state }),
}));
