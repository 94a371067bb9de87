/**
 * The edges of float32 through every transform and the monitor, as one table that runs anywhere: the numerics test
 * runs it on cpu and wasm in Node, and the browser test runs the same module, bundled, on webgl. tfjs's kernels differ
 * between backends (wasm's clip turned NaN into the lower bound; a reduction over an empty tensor reads uninitialised
 * memory there), and gradstab's answers must not.
 */
import type * as tfType from '@tensorflow/tfjs';
import type * as gradstab from '../../src/index.js';

type Tf = typeof tfType;
type Gradstab = typeof gradstab;

const F = 3.4028234663852886e38; // float32's largest
const S2 = Math.SQRT1_2;
const N = Number.NaN;
const I = Number.POSITIVE_INFINITY;

/** Gradient inputs, one variable each. */
export const numericsInputs = {
  NaN: { values: [N, 1], shape: [2] },
  '+Infinity': { values: [I, 1], shape: [2] },
  '-Infinity': { values: [-I, 1], shape: [2] },
  '3e38 (norm beyond float32)': { values: [3e38, 3e38], shape: [2] },
  '1e20 (squares overflow)': { values: [1e20, 1e20], shape: [2] },
  '1e-25 (squares underflow)': { values: [1e-25, 1e-25], shape: [2] },
  '-0': { values: [-0, 0], shape: [2] },
  zeros: { values: [0, 0], shape: [2] },
  'zero-size [0]': { values: [] as number[], shape: [0] },
  'zero-size [3, 0]': { values: [] as number[], shape: [3, 0] },
} as const;
export type NumericsInput = keyof typeof numericsInputs;
export const numericsInputNames = Object.keys(numericsInputs) as NumericsInput[];

/** What a norm clip gives a step with NaN (NaN everywhere) or an Infinity (NaN there, 0 elsewhere), as PyTorch. */
const NORM_CLIP_NON_FINITE = { NaN: [N, N], '+Infinity': [N, 0], '-Infinity': [N, 0] };

/** What each transform gives on its first step, per input (unlisted inputs: unchanged). */
const transformCases: {
  name: string;
  make: (gs: Gradstab) => gradstab.GradientTransform;
  out: Partial<Record<NumericsInput, number[]>>;
}[] = [
  {
    name: 'clipByValue(1): NaN passes through (PyTorch clamp), infinities clamp',
    make: (gs) => gs.clipByValue(1),
    out: {
      '+Infinity': [1, 1],
      '-Infinity': [-1, 1],
      '3e38 (norm beyond float32)': [1, 1],
      '1e20 (squares overflow)': [1, 1],
    },
  },
  {
    name: 'clipByGlobalNorm(1): scaled to norm 1 even beyond float32; NaN spreads; Infinity zeroes the rest',
    make: (gs) => gs.clipByGlobalNorm(1),
    out: {
      ...NORM_CLIP_NON_FINITE,
      '3e38 (norm beyond float32)': [S2, S2],
      '1e20 (squares overflow)': [S2, S2],
    },
  },
  {
    name: 'clipByGlobalNorm(1, {normType: 1})',
    make: (gs) => gs.clipByGlobalNorm(1, { normType: 1 }),
    out: {
      ...NORM_CLIP_NON_FINITE,
      '3e38 (norm beyond float32)': [0.5, 0.5],
      '1e20 (squares overflow)': [0.5, 0.5],
    },
  },
  {
    name: "clipByGlobalNorm(1, {normType: 'inf'})",
    make: (gs) => gs.clipByGlobalNorm(1, { normType: 'inf' }),
    out: {
      ...NORM_CLIP_NON_FINITE,
      '3e38 (norm beyond float32)': [1, 1],
      '1e20 (squares overflow)': [1, 1],
    },
  },
  {
    name: 'clipByNorm(1) (Keras clipnorm)',
    make: (gs) => gs.clipByNorm(1),
    out: {
      ...NORM_CLIP_NON_FINITE,
      '3e38 (norm beyond float32)': [S2, S2],
      '1e20 (squares overflow)': [S2, S2],
    },
  },
  {
    name: 'zClip({maxNorm: 1}) in warm-up',
    make: (gs) => gs.zClip({ maxNorm: 1 }),
    out: {
      ...NORM_CLIP_NON_FINITE,
      '3e38 (norm beyond float32)': [S2, S2],
      '1e20 (squares overflow)': [S2, S2],
    },
  },
  {
    name: 'autoClip(): a norm beyond float32 is recorded as its largest value, not dropped (never zeroed)',
    make: (gs) => gs.autoClip(),
    out: {
      ...NORM_CLIP_NON_FINITE,
      '3e38 (norm beyond float32)': [F * S2, F * S2],
      // The threshold is the norm itself (1.4e-25), so min(1, t / (N + 1e-6)) shrinks: clip_grad_norm_'s epsilon.
      '1e-25 (squares underflow)': [1e-25 * 1.4142135e-19, 1e-25 * 1.4142135e-19],
    },
  },
];

/** What the monitor records for each input: the layer's (and the global) norm, max |g| and non-finite count. */
const monitorExpected: Record<NumericsInput, { norm: number; maxAbs: number; nonFinite: number }> = {
  NaN: { norm: N, maxAbs: N, nonFinite: 1 },
  '+Infinity': { norm: I, maxAbs: I, nonFinite: 1 },
  '-Infinity': { norm: I, maxAbs: I, nonFinite: 1 },
  '3e38 (norm beyond float32)': { norm: 3e38 * Math.SQRT2, maxAbs: 3e38, nonFinite: 0 },
  '1e20 (squares overflow)': { norm: 1e20 * Math.SQRT2, maxAbs: 1e20, nonFinite: 0 },
  '1e-25 (squares underflow)': { norm: 1e-25 * Math.SQRT2, maxAbs: 1e-25, nonFinite: 0 },
  '-0': { norm: 0, maxAbs: 0, nonFinite: 0 },
  zeros: { norm: 0, maxAbs: 0, nonFinite: 0 },
  'zero-size [0]': { norm: 0, maxAbs: 0, nonFinite: 0 },
  'zero-size [3, 0]': { norm: 0, maxAbs: 0, nonFinite: 0 },
};

/** float32's smallest normal number: GPUs may flush anything smaller to 0. */
const MIN_NORMAL = 1.1754943508222875e-38;

/**
 * Equal to the float32 precision of the computation: NaN to NaN, infinities exactly, -0 kept. A wanted value below
 * float32's smallest normal number (a subnormal) may also come out as 0: GPUs flush those, and no formula can keep a
 * result that the hardware cannot hold.
 */
export function numericallyClose(actual: readonly number[], wanted: readonly number[]): boolean {
  return (
    actual.length === wanted.length &&
    actual.every((a, i) => {
      const w = wanted[i] as number;
      if (Number.isNaN(w)) return Number.isNaN(a);
      if (!Number.isFinite(w)) return a === w;
      if (w !== 0 && Math.abs(w) < MIN_NORMAL && a === 0) return true;
      return Object.is(a, w) || Math.abs(a - w) <= 1e-6 * Math.abs(w) + 1e-45;
    })
  );
}

/** One row of the table: what it checks, and a run that gives what came out and what should have. */
export interface NumericsCase {
  readonly name: string;
  run(): Promise<{ got: number[]; want: number[] }>;
}

/** Every row of the table, for the given tfjs and gradstab (whichever build the caller loaded). */
export function numericsCases(tf: Tf, gs: Gradstab): NumericsCase[] {
  const cases: NumericsCase[] = [];
  const tensor = (input: NumericsInput) => {
    const { values, shape } = numericsInputs[input];
    return tf.tensor([...values], [...shape]);
  };
  for (const t of transformCases) {
    for (const input of numericsInputNames) {
      cases.push({
        name: `${t.name}: ${input}`,
        run: async () => {
          const pipeline = gs.gradientPipeline(t.make(gs));
          const g = tensor(input);
          const out = pipeline.apply({ w: g });
          const result = out.grads.w as tfType.Tensor;
          const got = [...Array.from(await result.data()), ...result.shape.map((d) => -1000 - d)];
          tf.dispose([g, result]);
          pipeline.dispose();
          const want = t.out[input] ?? [...numericsInputs[input].values];
          return { got, want: [...want, ...numericsInputs[input].shape.map((d) => -1000 - d)] };
        },
      });
    }
  }
  for (const input of numericsInputNames) {
    cases.push({
      name: `skipNonFinite skips exactly the steps holding NaN or Infinity: ${input}`,
      run: async () => {
        const pipeline = gs.gradientPipeline(gs.skipNonFinite());
        const g = tensor(input);
        const step = pipeline.apply({ w: g });
        tf.dispose([g, step.grads.w as tfType.Tensor]);
        pipeline.dispose();
        return {
          got: [step.skip ? 1 : 0],
          want: [numericsInputs[input].values.some((v) => !Number.isFinite(v)) ? 1 : 0],
        };
      },
    });
    cases.push({
      name: `the monitor (norm, max |g|, non-finite count) and globalNorm (float32): ${input}`,
      run: async () => {
        const want = monitorExpected[input];
        const monitor = new gs.GradientHealthMonitor();
        const g = tensor(input);
        monitor.observe({ 'layer/w': g });
        await monitor.flush();
        const record = monitor.history[0];
        const layer = record?.layers[0];
        const n = gs.globalNorm({ w: g });
        const scalar = (await n.data())[0] as number;
        tf.dispose([g, n]);
        monitor.dispose();
        // globalNorm is a float32 scalar: beyond float32's range it says Infinity.
        const wantScalar = Math.abs(want.norm) > F ? I : Math.fround(want.norm);
        return {
          got: [record?.globalNorm ?? -1, layer?.norm ?? -1, layer?.maxAbs ?? -1, layer?.nonFinite ?? -1, scalar],
          want: [want.norm, want.norm, want.maxAbs, want.nonFinite, wantScalar],
        };
      },
    });
  }
  cases.push({
    name: 'skipNonFinite after clipByValue still sees a NaN (wasm clip once hid it)',
    run: async () => {
      const pipeline = gs.gradientPipeline(gs.clipByValue(1), gs.skipNonFinite());
      const g = tf.tensor1d([N, 5]);
      const step = pipeline.apply({ w: g });
      tf.dispose([g, step.grads.w as tfType.Tensor]);
      pipeline.dispose();
      return { got: [step.skip ? 1 : 0], want: [1] };
    },
  });
  cases.push({
    name: 'an empty gradient map: the monitor records a step with a global norm of 0 and no layer',
    run: async () => {
      const monitor = new gs.GradientHealthMonitor();
      monitor.observe({});
      await monitor.flush();
      const r = monitor.history[0];
      monitor.dispose();
      return { got: [r?.step ?? -1, r?.globalNorm ?? -1, r?.layers.length ?? -1], want: [1, 0, 0] };
    },
  });
  return cases;
}
