import { maxOf } from '../internal/extrema.js';
import { outputEndNorm } from './detectors.js';
import type { LayerStepStats, MonitorEvent, MonitorEventName, StepRecord } from './types.js';

/** One layer's line in a {@link HealthReport}. */
export interface LayerReport {
  /** The layer's name (its variables' common prefix). */
  readonly layer: string;
  /** Gradient norm at the last recorded step. */
  readonly lastNorm: number;
  /** Smallest finite gradient norm over the recorded steps. */
  readonly minNorm: number;
  /** Largest finite gradient norm over the recorded steps. */
  readonly maxNorm: number;
  /** Geometric mean of the finite, positive gradient norms (norms span decades; an arithmetic mean hides that). */
  readonly typicalNorm: number;
  /**
   * This layer's typical norm over the output end's (the geometric mean of the typical norms of the last quarter of
   * the layers, the scale the `vanishing` and `exploding` verdicts use): the depth profile, about 1 when healthy.
   */
  readonly depthRatio: number;
  /** Largest |g| seen. */
  readonly maxAbs: number;
  /** Steps in which the layer had non-finite gradient entries. */
  readonly nonFiniteSteps: number;
  /** Latest sampled weight norm (NaN until sampled). */
  readonly weightNorm: number;
  /** Latest update ratio `||dW|| / ||W||` (NaN until measured). */
  readonly updateRatio: number;
}

/** A condition the monitor saw, over all the steps it held. */
export interface Verdict {
  /** The condition. */
  readonly kind: MonitorEventName;
  /** The layers involved. */
  readonly layers: readonly string[];
  /** The latest event's sentence, with its numbers. */
  readonly reason: string;
  /** The first step it was seen. */
  readonly firstStep: number;
  /** The last step it was seen. */
  readonly lastStep: number;
  /** On how many steps it was seen. */
  readonly steps: number;
}

/** The global gradient norm in a {@link HealthReport}. */
export interface GlobalNormReport {
  /** At the last recorded step. */
  readonly last: number;
  /** Geometric mean over the recorded steps. */
  readonly typical: number;
  /** Largest finite value. */
  readonly max: number;
}

/** What {@link GradientHealthMonitor.report} returns. */
export interface HealthReport {
  /** Steps observed. */
  readonly steps: number;
  /** Steps still in the history (the report's figures cover these). */
  readonly recorded: number;
  /** The global gradient norm: at the last step, its geometric mean, and its largest finite value. */
  readonly globalNorm: GlobalNormReport;
  /** One line per layer, in model order. */
  readonly layers: readonly LayerReport[];
  /** The conditions seen, one per kind and set of layers. */
  readonly verdicts: readonly Verdict[];
  /** Steps on which each condition held. */
  readonly counts: Readonly<Record<MonitorEventName, number>>;
}

/** A running geometric mean of the finite, positive values added (norms span decades; an arithmetic mean hides it). */
class GeometricMean {
  private logs = 0;
  private count = 0;
  add(x: number): void {
    if (Number.isFinite(x) && x > 0) {
      this.logs += Math.log(x);
      this.count++;
    }
  }
  get value(): number {
    return this.count === 0 ? Number.NaN : Math.exp(this.logs / this.count);
  }
}

/** Folds an event into the verdicts (one per kind and set of layers), returning the new list. */
export function addVerdict(verdicts: readonly Verdict[], e: MonitorEvent): Verdict[] {
  const same = (v: Verdict) => v.kind === e.kind && v.layers.join('\u0000') === e.layers.join('\u0000');
  const found = verdicts.find(same);
  if (!found) {
    return [
      ...verdicts,
      { kind: e.kind, layers: e.layers, reason: e.reason, firstStep: e.step, lastStep: e.step, steps: 1 },
    ];
  }
  return verdicts.map((v) => (v === found ? { ...v, reason: e.reason, lastStep: e.step, steps: v.steps + 1 } : v));
}

/** One layer's figures, folded over the history in one pass. */
class LayerColumn {
  readonly typical = new GeometricMean();
  lastNorm = Number.NaN;
  minNorm = Number.POSITIVE_INFINITY;
  maxNorm = Number.NEGATIVE_INFINITY;
  maxAbs = Number.NEGATIVE_INFINITY;
  nonFiniteSteps = 0;
  weightNorm = Number.NaN;
  updateRatio = Number.NaN;

  add(l: LayerStepStats): void {
    this.typical.add(l.norm);
    this.lastNorm = l.norm;
    if (Number.isFinite(l.norm)) {
      this.minNorm = Math.min(this.minNorm, l.norm);
      this.maxNorm = Math.max(this.maxNorm, l.norm);
    }
    if (Number.isFinite(l.maxAbs)) this.maxAbs = Math.max(this.maxAbs, l.maxAbs);
    if (l.nonFinite > 0) this.nonFiniteSteps++;
    if (l.weightNorm !== undefined && !Number.isNaN(l.weightNorm)) this.weightNorm = l.weightNorm;
    if (l.updateRatio !== undefined && !Number.isNaN(l.updateRatio)) this.updateRatio = l.updateRatio;
  }
}

/**
 * Builds the report from the recorded steps and the conditions seen. Every layer that appears in the history has a
 * line, in the order layers first appear (a layer frozen or unfrozen during training keeps its line). One pass over
 * the history, without spreading it into arguments: a history of any length works.
 */
export function buildReport(
  steps: number,
  history: readonly StepRecord[],
  verdicts: readonly Verdict[],
  counts: Readonly<Record<MonitorEventName, number>>,
): HealthReport {
  const columns = new Map<string, LayerColumn>();
  const globalTypical = new GeometricMean();
  let globalMax = Number.NEGATIVE_INFINITY;
  for (const record of history) {
    globalTypical.add(record.globalNorm);
    if (Number.isFinite(record.globalNorm)) globalMax = Math.max(globalMax, record.globalNorm);
    for (const l of record.layers) {
      let column = columns.get(l.layer);
      if (!column) {
        column = new LayerColumn();
        columns.set(l.layer, column);
      }
      column.add(l);
    }
  }
  const entries = [...columns.entries()];
  const reference = outputEndNorm(entries.map(([, c]) => ({ norm: c.typical.value })));
  const layers = entries.map(([name, c]): LayerReport => {
    const typicalNorm = c.typical.value;
    const finite = Number.isFinite(c.minNorm);
    return {
      layer: name,
      lastNorm: c.lastNorm,
      minNorm: finite ? c.minNorm : Number.NaN,
      maxNorm: finite ? c.maxNorm : Number.NaN,
      typicalNorm,
      depthRatio: reference > 0 ? typicalNorm / reference : Number.NaN,
      maxAbs: c.maxAbs,
      nonFiniteSteps: c.nonFiniteSteps,
      weightNorm: c.weightNorm,
      updateRatio: c.updateRatio,
    };
  });
  return {
    steps,
    recorded: history.length,
    globalNorm: {
      last: history.length > 0 ? (history[history.length - 1] as StepRecord).globalNorm : Number.NaN,
      typical: globalTypical.value,
      max: globalMax,
    },
    layers,
    verdicts,
    counts,
  };
}

const num = (x: number) => (Number.isNaN(x) ? '-' : Number.isFinite(x) ? x.toExponential(2) : String(x));

/** The report as a text table and a list of verdicts, for a terminal. */
export function formatSummary(r: HealthReport): string {
  const header = [
    'layer',
    'grad norm',
    'min',
    'max',
    'vs output end',
    'max |g|',
    'non-finite',
    'weight norm',
    'update ratio',
  ];
  const rows = r.layers.map((l) => [
    l.layer,
    num(l.lastNorm),
    num(l.minNorm),
    num(l.maxNorm),
    num(l.depthRatio),
    num(l.maxAbs),
    String(l.nonFiniteSteps),
    num(l.weightNorm),
    num(l.updateRatio),
  ]);
  const widths = header.map((h, i) => maxOf([h.length, ...rows.map((row) => (row[i] as string).length)]));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  const out = [
    `gradient health after ${r.steps} steps (${r.recorded} recorded): global norm ${num(r.globalNorm.last)} (typical ${num(r.globalNorm.typical)}, max ${num(r.globalNorm.max)})`,
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ];
  if (r.verdicts.length === 0)
    out.push('verdicts: none (no vanishing, exploding, non-finite gradients or spikes seen)');
  else {
    out.push('verdicts:');
    for (const v of r.verdicts) {
      const when =
        v.firstStep === v.lastStep ? `step ${v.firstStep}` : `steps ${v.firstStep}-${v.lastStep} (${v.steps} times)`;
      out.push(`  ${v.kind} at ${when}: ${v.reason}`);
    }
  }
  return out.join('\n');
}

/** The history as CSV: one row per step and layer (layer "(global)" holds the global norm). */
export function historyToCsv(history: readonly StepRecord[]): string {
  const cell = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '' : String(x));
  const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = ['step,layer,norm,maxAbs,nonFinite,weightNorm,updateRatio'];
  for (const r of history) {
    lines.push(`${r.step},(global),${cell(r.globalNorm)},,,,`);
    for (const l of r.layers) {
      lines.push(
        [
          r.step,
          quote(l.layer),
          cell(l.norm),
          cell(l.maxAbs),
          cell(l.nonFinite),
          cell(l.weightNorm),
          cell(l.updateRatio),
        ].join(','),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
