/** One layer's gradient figures at one step, as read back from the device. */
export interface LayerStepStats {
  /** The layer: its variables' common name prefix (`dense_3` for `dense_3/kernel` and `dense_3/bias`). */
  readonly layer: string;
  /** L2 norm of all the layer's gradients together. */
  readonly norm: number;
  /** Largest absolute gradient entry (NaN when there is a NaN). */
  readonly maxAbs: number;
  /** How many gradient entries are NaN or +-Infinity. */
  readonly nonFinite: number;
  /** L2 norm of the layer's weights, on sampled steps (see `sampleEvery`). */
  readonly weightNorm?: number;
  /**
   * `||dW|| / ||W||`: the norm of the update the optimizer really applied at the previous step over the weights'
   * norm, on the step after a sampled one. Around 1e-3 is the usual healthy range (Karpathy's rule of thumb).
   */
  readonly updateRatio?: number;
}

/** Everything the monitor knows about one training step. */
export interface StepRecord {
  /** The step's number, from 1, counting the steps the monitor observed. */
  readonly step: number;
  /** L2 norm of all gradients together. */
  readonly globalNorm: number;
  /** Per layer, in the order the model lists its variables (input side first). */
  readonly layers: readonly LayerStepStats[];
  /**
   * Present (true) on a step the history holds only because it raised an event, between recorded steps (see the
   * monitor's `every`): its norms come from plain float32 sums of squares (a layer norm above ~1.8e19 reads as
   * Infinity) unless a clip in the same pipeline measured them, `maxAbs` is NaN unless a clip measured it, a layer's
   * `nonFinite` is 1 when its norm is NaN or ±Infinity (not a count), and there are no weight figures.
   */
  readonly partial?: true;
}

/** The monitor's event names. */
export type MonitorEventName = 'vanishing' | 'exploding' | 'nonFinite' | 'spike';

/** What a handler of {@link GradientHealthMonitor.on} receives. */
export interface MonitorEvent {
  /** Which condition. */
  readonly kind: MonitorEventName;
  /** The step whose figures triggered it. */
  readonly step: number;
  /** The layers involved (for `spike`, none: it is about the global norm). */
  readonly layers: readonly string[];
  /** A sentence saying what was seen, with the numbers. */
  readonly reason: string;
  /** The figures that triggered it, by name (e.g. `depthRatio`, `globalNorm`, `z`). */
  readonly figures: Readonly<Record<string, number>>;
}
