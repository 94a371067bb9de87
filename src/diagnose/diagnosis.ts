import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { threeDigits } from '../internal/describe.js';
import { fail } from '../internal/validate.js';
import type { BuildContext, Candidate, PrescriptionKind } from './candidates.js';
import type { Finding } from './findings.js';
import { checkModel } from './inputs.js';
import type { Verification } from './verify.js';

/** A remedy, where and with what setting, and how it did on the diagnosed model. */
export interface Prescription {
  /** What it changes: the initializer, an activation, normalization, clipping, the learning rate, LSUV, or (described only) the architecture. */
  readonly kind: PrescriptionKind;
  /** One sentence that names the layers and the setting. */
  readonly description: string;
  /** The TypeScript a user writes to make the change, with this library's API. */
  readonly code: string;
  /** The layers it changes (empty when it changes the optimizer). */
  readonly layers: readonly string[];
  /** The settings it derived from the measurements, by name. */
  readonly settings: Readonly<Record<string, number | string>>;
  /** The kinds of finding it answers. */
  readonly addresses: readonly Finding['kind'][];
  /**
   * The trial against the unchanged model (null when `verify` was off, or for an `'architecture'` prescription,
   * which is described, not applied).
   */
  readonly verified: Verification | null;
  /**
   * A new model and optimizer with the change, compiled with the diagnosis's loss: the model given is untouched
   * (its weights are copied where the change keeps them). Rejects for an `'architecture'` prescription, and once
   * the diagnosis is disposed (an `'lsuv'` prescription measures on the diagnosis's copy of a training batch).
   */
  apply(model: tfl.LayersModel): Promise<AppliedPrescription>;
}

/** What `Prescription.apply` resolves to. */
export interface AppliedPrescription {
  /** The new model, compiled with `optimizer` and the diagnosis's loss. */
  readonly model: tfl.LayersModel;
  /** Its optimizer (dispose it with the model when done: `model.dispose()` leaves it). */
  readonly optimizer: tf.Optimizer;
}

/** The figures a diagnosis's findings rest on, for the record. */
export interface DiagnosisMeasurements {
  /** Training steps of each trial. */
  readonly steps: number;
  /** The learning rate of the baseline trial. */
  readonly learningRate: number;
  /** The unchanged model's training loss at each step of the baseline trial. */
  readonly losses: readonly number[];
  /** The unchanged model's held-out loss before the trial. */
  readonly heldOutBefore: number;
  /** The unchanged model's held-out loss after the trial. */
  readonly heldOutAfter: number;
  /** The loss trend of the baseline trial. */
  readonly trend: 'falling' | 'flat' | 'oscillating' | 'diverging';
  /** The global gradient norm's median, p90, p99 and max over the baseline trial. */
  readonly globalNorm: NormDistribution;
  /** The range test's suggestions (null when it did not run). */
  readonly lrRange: RangeSuggestions | null;
  /** Examples trained on. */
  readonly trainExamples: number;
  /** Examples held out (the last ones) to measure the loss on. */
  readonly heldOutExamples: number;
}

/** The distribution of the global gradient norm over a trial (finite values). */
export interface NormDistribution {
  /** The median. */
  readonly median: number;
  /** The 90th percentile. */
  readonly p90: number;
  /** The 99th percentile. */
  readonly p99: number;
  /** The largest. */
  readonly max: number;
}

/** What the learning-rate range test suggested. */
export interface RangeSuggestions {
  /** The rate where the smoothed loss fell fastest, or null. */
  readonly steepest: number | null;
  /** The rate where the loss diverged, or null. */
  readonly divergedAt: number | null;
}

/** What the JSON of a diagnosis holds: everything but the functions. */
export interface DiagnosisJSON {
  /** As {@link Diagnosis.healthy}. */
  readonly healthy: boolean;
  /** As {@link Diagnosis.findings}. */
  readonly findings: readonly Finding[];
  /** As {@link Diagnosis.prescriptions}, without `apply`. */
  readonly prescriptions: readonly Omit<Prescription, 'apply'>[];
  /** As {@link Diagnosis.rejected}, without `apply`. */
  readonly rejected: readonly Omit<Prescription, 'apply'>[];
  /** As {@link Diagnosis.measurements}. */
  readonly measurements: DiagnosisMeasurements;
}

const fmt = (x: number | null | undefined): string => (x == null ? '-' : threeDigits(x));
const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : pad(c, widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** A verified loss against the baseline's: `-42.1%`, or `finite` when the baseline's was not. */
function change(v: Verification | null): string {
  if (!v) return '-';
  if (!Number.isFinite(v.baselineLoss)) return Number.isFinite(v.loss) ? `finite (was ${v.baselineLoss})` : '-';
  return `${fmt(((v.loss - v.baselineLoss) / Math.abs(v.baselineLoss)) * 100)}%`;
}

/**
 * The result of `diagnose()`: what is wrong, and what fixes it on this model, best first. Dispose it when done.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { type Diagnosis, diagnose } from 'gradstab';
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
 * model.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
 * const x = tf.randomNormal([64, 2], 0, 1, 'float32', 1);
 * const y = tf.sum(x, 1, true);
 * const diagnosis: Diagnosis = await diagnose(model, { x, y }, { steps: 20 });
 * console.log(diagnosis.healthy); // true
 * console.log(diagnosis.prescriptions.length); // 0
 * console.log(JSON.stringify(diagnosis.toJSON().measurements.trend)); // "falling"
 * diagnosis.dispose();
 * ```
 */
export class Diagnosis {
  /** True when nothing was found that slows or stops learning (and so nothing is prescribed). */
  readonly healthy: boolean;
  /** What was found, worst first. */
  readonly findings: readonly Finding[];
  /**
   * The remedies, best first: with `verify`, those whose trial beat the unchanged model, ranked by held-out loss
   * (and, when none did, an `'architecture'` prescription described but not applied); without it, the candidates
   * in the order they were derived.
   */
  readonly prescriptions: readonly Prescription[];
  /** The candidates whose trial did not beat the unchanged model (with `verify`), for the record. */
  readonly rejected: readonly Prescription[];
  /** The figures behind the findings. */
  readonly measurements: DiagnosisMeasurements;
  private context: BuildContext | null;

  /** @internal Made by `diagnose()`. */
  constructor(
    fn: string,
    healthy: boolean,
    findings: readonly Finding[],
    tried: readonly { candidate: Candidate; verified: Verification | null }[],
    prescribed: readonly { candidate: Candidate; verified: Verification | null }[],
    measurements: DiagnosisMeasurements,
    context: BuildContext,
  ) {
    this.healthy = healthy;
    this.findings = findings;
    this.measurements = measurements;
    this.context = context;
    const prescription = ({ candidate, verified }: (typeof tried)[number]): Prescription => ({
      kind: candidate.kind,
      description: candidate.description,
      code: candidate.code,
      layers: candidate.layers,
      settings: candidate.settings,
      addresses: candidate.addresses,
      verified,
      apply: async (model) => {
        const checked = checkModel(`${fn} prescription.apply`, model);
        if (!candidate.build) {
          fail(`${fn} prescription.apply`, 'an architecture prescription is a change to make by hand', candidate.kind);
        }
        if (!this.context) fail(`${fn} prescription.apply`, 'the diagnosis was disposed', 'a disposed diagnosis');
        return candidate.build(checked, this.context);
      },
    });
    this.prescriptions = prescribed.map(prescription);
    this.rejected = tried.filter((t) => !prescribed.includes(t)).map(prescription);
  }

  /** A text report: the findings, then the prescriptions with their verified held-out losses. */
  summary(): string {
    const m = this.measurements;
    const out: string[] = [];
    out.push(
      this.healthy
        ? `Healthy: nothing found that slows or stops learning in ${m.steps} steps (held-out loss ${fmt(m.heldOutBefore)} -> ${fmt(m.heldOutAfter)}).`
        : `${this.findings.length} finding(s), ${this.prescriptions.length} prescription(s) ` +
            `(baseline held-out loss ${fmt(m.heldOutBefore)} -> ${fmt(m.heldOutAfter)} in ${m.steps} steps).`,
    );
    if (this.findings.length > 0) {
      out.push('', 'Findings');
      out.push(
        table(
          ['severity', 'kind', 'layers', 'what was measured'],
          this.findings.map((f) => [f.severity, f.kind, f.layers.join(',') || '-', f.description]),
        ),
      );
    }
    const rows = (list: readonly Prescription[], numbered: boolean) =>
      list.map((p, i) => [
        numbered ? String(i + 1) : '-',
        p.kind,
        fmt(p.verified?.loss),
        change(p.verified),
        p.verified?.error ? `${p.description} [could not be trained: ${p.verified.error}]` : p.description,
      ]);
    const header = ['#', 'kind', 'held-out', 'vs baseline', 'prescription'];
    if (this.prescriptions.length > 0) {
      out.push('', 'Prescriptions (best first)', table(header, rows(this.prescriptions, true)));
    }
    if (this.rejected.length > 0) {
      out.push(
        '',
        'Tried and not recommended (no better than the baseline)',
        table(header, rows(this.rejected, false)),
      );
    }
    return out.join('\n');
  }

  /** Everything but the functions, for `JSON.stringify` (non-finite numbers become null there, as always). */
  toJSON(): DiagnosisJSON {
    const plain = ({ apply: _, ...rest }: Prescription) => rest;
    return {
      healthy: this.healthy,
      findings: this.findings,
      prescriptions: this.prescriptions.map(plain),
      rejected: this.rejected.map(plain),
      measurements: this.measurements,
    };
  }

  /**
   * Frees the copy of a training batch that `'lsuv'` prescriptions measure on; the prescriptions can no longer be
   * applied. Safe to call twice.
   */
  dispose(): void {
    if (!this.context) return;
    for (const t of this.context.lsuvBatch) t.dispose();
    this.context = null;
  }
}
