/**
 * The batches the skipNonFinite tests train on (cpu, wasm and webgl in the browser): good batches, and bad ones
 * (a NaN, an Infinity) put between them; a run through them must end exactly as a run on the good ones alone.
 */
export const GOOD_BATCHES: readonly (readonly number[])[] = [
  [1, 2],
  [0.5, -1],
  [2, 0.1],
];
export const NAN_BATCH: readonly number[] = [Number.NaN, 1];
export const INF_BATCH: readonly number[] = [Number.POSITIVE_INFINITY, 1];

/** What the browser's skip check found (see `skipOnWebgl` in numerics-entry.ts). */
export interface SkipResult {
  readSync: number;
  sameWeights: boolean;
  weights: number[][];
  clean: number[][];
  iterations: number;
  skippedSteps: number;
}
