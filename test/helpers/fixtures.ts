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
