import { readFileSync } from 'node:fs';

export interface TensorFixture {
  shape: number[];
  values: number[];
}

export interface ClippingFixtures {
  torch: string;
  clipGradNorm: {
    name: string;
    maxNorm: number;
    normType: 1 | 2 | 'inf';
    grads: TensorFixture[];
    totalNorm: number;
    clipped: number[][];
  }[];
  clipGradValue: { name: string; clipValue: number; grads: TensorFixture[]; clipped: number[][] }[];
  trajectories: {
    name: string;
    optimizer: { type: 'sgd'; lr: number } | { type: 'adam'; lr: number; beta1: number; beta2: number; eps: number };
    clip: { kind: 'norm'; maxNorm: number; normType: 2 } | { kind: 'value'; clipValue: number };
    inputDim: number;
    layers: { units: number; activation: 'tanh' | 'linear' }[];
    initialWeights: TensorFixture[];
    batches: { x: TensorFixture; y: TensorFixture }[];
    losses: number[];
    weightsAfter: number[][][];
  }[];
}

/** Reference values made by test/fixtures/make_clip_fixtures.py from PyTorch. */
export function clippingFixtures(): ClippingFixtures {
  return JSON.parse(readFileSync(new URL('../fixtures/clipping.json', import.meta.url), 'utf8'));
}

/** One forward and backward pass of a PyTorch batch-norm module: loss = sum(y * w). Channels on axis 1. */
export interface BatchNormPass {
  /** The input, channels-first. */
  x: TensorFixture;
  /** The upstream gradient dloss/dy, shaped like x. */
  w: TensorFixture;
  /** The module's output. */
  y: TensorFixture;
  /** dloss/dx. */
  dx: TensorFixture;
  /** dloss/dweight (gamma), `[C]`; null when the module is not affine. */
  dgamma: number[] | null;
  /** dloss/dbias (beta), `[C]`; null when the module is not affine. */
  dbeta: number[] | null;
}

/** A training step: the pass plus the moving statistics after it. */
export interface BatchNormStep extends BatchNormPass {
  /** running_mean after the step. */
  runningMean: number[];
  /** running_var after the step (PyTorch: built from the unbiased batch variance). */
  runningVar: number[];
  /** The moving variance built from the biased batch variance (Keras's convention), after the step. */
  movingVarianceBiased: number[];
}

/** One nn.BatchNorm1d/2d/3d run: 3 training steps with fixed gamma and beta, then one pass in eval mode. */
export interface BatchNormCase {
  name: string;
  module: 'BatchNorm1d' | 'BatchNorm2d' | 'BatchNorm3d';
  /** The input shape, channels on axis 1. */
  shape: number[];
  /** PyTorch's momentum (the weight of the batch statistic). */
  momentum: number;
  eps: number;
  affine: boolean;
  /** The channel that is constant in every batch (zero variance), or null. */
  constantChannel: number | null;
  /** weight and bias, `[C]`; null when not affine. */
  gamma: number[] | null;
  beta: number[] | null;
  steps: BatchNormStep[];
  eval: BatchNormPass;
}

export interface BatchNormFixtures {
  torch: string;
  cases: BatchNormCase[];
}

/** Reference values made by test/fixtures/make_batchnorm_fixtures.py from PyTorch. */
export function batchNormFixtures(): BatchNormFixtures {
  return JSON.parse(readFileSync(new URL('../fixtures/batchnorm.json', import.meta.url), 'utf8'));
}

/** One tensor of an AGC case: the parameter, its gradient and the expected unit-wise clipped gradient. */
export interface AgcTensor {
  name: string;
  param: TensorFixture;
  grad: TensorFixture;
  /** The clipped gradient, flat row-major, shaped like grad. */
  clipped: number[];
}

/**
 * Adaptive gradient clipping (NFNets / optax adaptive_grad_clip) with tfjs-layout units: a unit is one slice of
 * the last axis (rank >= 2), the whole tensor for rank <= 1.
 */
export interface AgcCase {
  name: string;
  clipping: number;
  eps: number;
  tensors: AgcTensor[];
  /** The L2 norm over all the case's gradients, before and after clipping. */
  globalNormBefore: number;
  globalNormAfter: number;
}

/** One AutoClip step. */
export interface AutoClipStep {
  /** The global L2 norm N of the step's gradients (before clipping). */
  norm: number;
  /** The percentile of the history (including this step's norm) used as clip_grad_norm_'s max norm. */
  threshold: number;
  /** min(1, threshold / (norm + 1e-6)), as torch's clip_grad_norm_ computes it (float32). */
  coef: number;
  /** The L2 norm of the clipped gradients (norm * coef). */
  clippedNorm: number;
  /** The step's gradients; null in the norm-sequence cases (feed the one-element gradient [norm]). */
  grads: TensorFixture[] | null;
  /** The clipped gradients (flat, shaped like grads); null when grads is null. */
  clipped: number[][] | null;
}

/** AutoClip (Seetharaman et al. 2020) with gradstab's bounded window. */
export interface AutoClipCase {
  name: string;
  /** The percentile p, 0 to 100 (numpy's linear interpolation). */
  percentile: number;
  /** The history length (the last `window` norms); null = unbounded, as in the paper. */
  window: number | null;
  steps: AutoClipStep[];
}

/** One ZClip step; feed the one-element gradient [norm]. */
export interface ZClipStep {
  /** The global L2 norm of the step's gradient (before clipping). */
  norm: number;
  /** True while the warm-up buffer fills (including the step that fills it). */
  warmup: boolean;
  /** (norm - mean) / (std + 1e-6) with the statistics before the step; null in warm-up. */
  z: number | null;
  /** The z-score clip value mean + zThresh * std / (z / zThresh) when z > zThresh; otherwise null. */
  clipVal: number | null;
  /**
   * The effective clip used: maxGradNorm in warm-up (null without it); after warm-up
   * min(clipVal ?? norm, maxGradNorm ?? Infinity).
   */
  threshold: number | null;
  /** The factor the gradients were multiplied by (1 when not clipped). */
  coef: number;
  /** The L2 norm of the clipped gradient. */
  clippedNorm: number;
  /** The EMA mean and variance after the step; null until initialized at the end of warm-up. */
  mean: number | null;
  var: number | null;
}

/** ZClip (Kumar et al. 2025; bluorion-com/ZClip, mode zscore, adaptive_scaling). */
export interface ZClipCase {
  name: string;
  alpha: number;
  zThresh: number;
  warmupSteps: number;
  /** Optional hard cap on the norm (also clips during warm-up); null = none. */
  maxGradNorm: number | null;
  steps: ZClipStep[];
}

/** One optimizer update of the accumulation run: the mean of k micro-batch gradients, then one Adam step. */
export interface AccumulateUpdate {
  /** Indices into microBatches, in the order they were fed. */
  microBatches: number[];
  /** The MSE loss of each of those micro-batches, before this update. */
  losses: number[];
  /** The accumulated gradient (sum / k) that went into Adam, tfjs layout, flat. */
  meanGrads: number[][];
  /** Every weight after the update, tfjs layout, flat. */
  weightsAfter: number[][];
}

/** A small MLP trained with gradient accumulation in PyTorch; weights in tfjs layout (kernel [in, out], bias). */
export interface AccumulateMlpCase {
  name: string;
  inputDim: number;
  layers: { units: number; activation: 'tanh' | 'linear' }[];
  loss: 'meanSquaredError';
  optimizer: { type: 'adam'; lr: number; beta1: number; beta2: number; eps: number };
  /** Micro-batches per update. */
  k: number;
  microBatchSize: number;
  /** Passes over microBatches, in order. */
  epochs: number;
  initialWeights: TensorFixture[];
  microBatches: { x: TensorFixture; y: TensorFixture }[];
  updates: AccumulateUpdate[];
}

/** k gradient sets of the same named tensors, with their sum and mean (sum / k). */
export interface AccumulatePlainCase {
  k: number;
  names: string[];
  /** sets[i][j]: gradient i of tensor names[j]. */
  sets: TensorFixture[][];
  sum: TensorFixture[];
  mean: TensorFixture[];
}

export interface AdaptiveFixtures {
  torch: string;
  agc: AgcCase[];
  autoClip: AutoClipCase[];
  zClip: ZClipCase[];
  accumulate: { mlp: AccumulateMlpCase; plain: AccumulatePlainCase };
}

/** Reference values made by test/fixtures/make_adaptive_fixtures.py (PyTorch, numpy and the reference algorithms). */
export function adaptiveFixtures(): AdaptiveFixtures {
  return JSON.parse(readFileSync(new URL('../fixtures/adaptive.json', import.meta.url), 'utf8'));
}
