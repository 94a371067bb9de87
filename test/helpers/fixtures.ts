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
