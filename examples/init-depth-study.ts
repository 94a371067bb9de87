/**
 * What initialization does to a deep network before any training: a forward and a backward pass through a deep
 * MLP for each pairing of activation and initializer, printing how the activations' standard deviation evolves
 * with depth and how the gradient of the first layer compares with that of the last.
 *
 *   node --import tsx examples/init-depth-study.ts                      # 30 x 256, batch 256, wasm (or cpu)
 *   node --import tsx examples/init-depth-study.ts --backend cpu --depth 10
 *   node --import tsx examples/init-depth-study.ts --out docs/initialization-and-activations.md
 *
 * The network is `h_l = act(h_{l-1} W_l)` (no bias, as the biases start at zero anyway) with W_l [width, width]
 * drawn by the initializer (seed `1000 * seed + l`), on a batch of standard-normal inputs (seed `seed`). The
 * loss of the backward pass is `mean(h_depth * r)` for a fixed standard-normal r (seed `seed + 1`), so the gradient
 * leaving the loss is the same for every row and only the network decides what reaches the input. The table goes to stdout; with `--out FILE`, it also replaces
 * the text between `<!-- init-depth-study:start -->` and `<!-- init-depth-study:end -->` in FILE (appended
 * when the markers are missing); the rest of the file is left as it is.
 */
import * as tf from '@tensorflow/tfjs';
import { calculateGain, heNormal, lecunNormal, orthogonal, xavierUniform } from '../src/index.js';
import { parseCommandLine, runWhenExecuted, startExample, wholeFlag } from './shared/cli.js';
import { writeMarkedBlock } from './shared/marked-block.js';

interface Options {
  depth: number;
  width: number;
  batch: number;
  seed: number;
  out?: string;
}

const USAGE = [
  'usage: node --import tsx examples/init-depth-study.ts [--depth N] [--width N] [--batch N] [--seed N]',
  '                                                       [--backend wasm|cpu] [--out FILE.md]',
  '',
  'Forward and backward pass of a deep MLP for each pairing of activation and initializer; prints a markdown table',
  'of the activation std at a few depths and the gradient-norm ratio of the first to the last layer.',
  '  --depth    layers (default 30)',
  '  --width    units per layer (default 256)',
  '  --batch    inputs, standard normal (default 256)',
  '  --seed     seed of the inputs and kernels (default 1)',
  '  --backend  tfjs backend (default wasm, falls back to cpu)',
  '  --out      also write the table into FILE between <!-- init-depth-study:start/end --> markers',
].join('\n');

/** The command line, checked: `'help'` for `--help`, else the backend and the options. */
function parseArgs(argv: readonly string[]) {
  return parseCommandLine<Options>(
    argv,
    { depth: 30, width: 256, batch: 256, seed: 1 },
    {
      '--depth': (value, o) => ({ ...o, depth: wholeFlag('--depth', value, 1) }),
      '--width': (value, o) => ({ ...o, width: wholeFlag('--width', value, 1) }),
      '--batch': (value, o) => ({ ...o, batch: wholeFlag('--batch', value, 2) }),
      '--seed': (value, o) => ({ ...o, seed: wholeFlag('--seed', value, 0) }),
      '--out': (file, o) => ({ ...o, out: file }),
    },
  );
}

/** An activation and the tfjs op that computes it. */
interface Activation {
  readonly label: string;
  readonly fn: (x: tf.Tensor) => tf.Tensor;
}

const ACT = {
  relu: { label: 'relu', fn: (x) => tf.relu(x) },
  tanh: { label: 'tanh', fn: (x) => tf.tanh(x) },
  sigmoid: { label: 'sigmoid', fn: (x) => tf.sigmoid(x) },
  selu: { label: 'selu', fn: (x) => tf.selu(x) },
  leaky: { label: 'leakyRelu 0.2', fn: (x) => tf.leakyRelu(x, 0.2) },
} satisfies Record<string, Activation>;

/** A row of the study: an activation and an initializer (built per layer from a seed). */
interface Pairing {
  readonly act: Activation;
  readonly init: string;
  readonly make: (seed: number) => { apply(shape: number[]): tf.Tensor };
}

/** What `tf.layers.dense` and `tf.layers.conv2d` use when no `kernelInitializer` is given (tfjs-layers 4.22). */
const tfjsDefault = (seed: number) => tf.initializers.glorotNormal({ seed });
const TFJS_DEFAULT = 'tfjs layers default (`glorotNormal`)';
const glorotUniform = (seed: number) => tf.initializers.glorotUniform({ seed });
const GLOROT_UNIFORM = '`tf.initializers.glorotUniform` (Keras default)';

const PAIRINGS: readonly Pairing[] = [
  { act: ACT.relu, init: TFJS_DEFAULT, make: tfjsDefault },
  { act: ACT.relu, init: GLOROT_UNIFORM, make: glorotUniform },
  { act: ACT.relu, init: '`xavierUniform()`', make: (seed) => xavierUniform({ seed }) },
  { act: ACT.relu, init: '`heNormal()`', make: (seed) => heNormal({ seed }) },
  {
    act: ACT.relu,
    init: "`orthogonal({gain: calculateGain('relu')})`",
    make: (seed) => orthogonal({ gain: calculateGain('relu'), seed }),
  },
  { act: ACT.relu, init: '`tf.initializers.heNormal()`', make: (seed) => tf.initializers.heNormal({ seed }) },
  { act: ACT.tanh, init: TFJS_DEFAULT, make: tfjsDefault },
  { act: ACT.tanh, init: GLOROT_UNIFORM, make: glorotUniform },
  {
    act: ACT.tanh,
    init: "`xavierUniform({nonlinearity: 'tanh'})` (gain 5/3)",
    make: (seed) => xavierUniform({ nonlinearity: 'tanh', seed }),
  },
  { act: ACT.tanh, init: '`heNormal()`', make: (seed) => heNormal({ seed }) },
  { act: ACT.sigmoid, init: TFJS_DEFAULT, make: tfjsDefault },
  { act: ACT.sigmoid, init: '`xavierUniform()`', make: (seed) => xavierUniform({ seed }) },
  { act: ACT.selu, init: '`lecunNormal()`', make: (seed) => lecunNormal({ seed }) },
  { act: ACT.selu, init: TFJS_DEFAULT, make: tfjsDefault },
  { act: ACT.selu, init: GLOROT_UNIFORM, make: glorotUniform },
  {
    act: ACT.selu,
    init: "`lecunNormal({nonlinearity: 'selu'})` (PyTorch's gain 3/4)",
    make: (seed) => lecunNormal({ nonlinearity: 'selu', seed }),
  },
  {
    act: ACT.leaky,
    init: "`heNormal({nonlinearity: 'leakyRelu', negativeSlope: 0.2})`",
    make: (seed) => heNormal({ nonlinearity: 'leakyRelu', negativeSlope: 0.2, seed }),
  },
  { act: ACT.leaky, init: TFJS_DEFAULT, make: tfjsDefault },
  { act: ACT.leaky, init: GLOROT_UNIFORM, make: glorotUniform },
];

interface Row {
  readonly pairing: Pairing;
  /** Empirical std of all kernel entries. */
  readonly kernelStd: number;
  /** Std of the activations (all entries of h_l) at each reported layer. */
  readonly stds: readonly number[];
  /** ||dL/dW_1|| / ||dL/dW_depth||: the weight gradients of the first and the last layer. */
  readonly weightGradRatio: number;
  /** ||dL/dx|| / ||dL/dh_depth||: how the gradient signal grows or shrinks on its way back through the stack. */
  readonly signalGradRatio: number;
}

/** The layers reported: 1, 5, 10, 20, 30 for depth 30 (those within the depth, and always the last). */
function reportedLayers(depth: number): number[] {
  return [...new Set([1, 5, 10, 20, 30, depth].filter((l) => l <= depth))].sort((a, b) => a - b);
}

let variables = 0;
const variable = (t: tf.Tensor, name: string) => tf.variable(t, true, `depth_study_${name}_${variables++}`);

async function study(p: Pairing, o: Options, x: tf.Tensor2D, probe: tf.Tensor2D): Promise<Row> {
  const kernels = Array.from({ length: o.depth }, (_, l) => {
    const w = p.make(1000 * o.seed + l + 1).apply([o.width, o.width]);
    const v = variable(w, `w${l + 1}`);
    w.dispose();
    return v;
  });
  const input = variable(x, 'x'); // a variable only so that variableGrads gives dL/dx
  const layers = reportedLayers(o.depth);
  try {
    // One forward pass, recording the std of the reported layers on the way; the backward pass asks only for
    // the gradients it reports (x, first and last kernel), so the others are not computed.
    const stds: tf.Tensor[] = [];
    const first = kernels[0] as tf.Variable;
    const last = kernels[o.depth - 1] as tf.Variable;
    const { value, grads } = tf.variableGrads(() => {
      let h: tf.Tensor = input;
      kernels.forEach((w, l) => {
        h = p.act.fn(tf.matMul(h, w));
        if (layers.includes(l + 1)) stds.push(tf.keep(tf.sqrt(tf.moments(h).variance)));
      });
      // L = mean(h_depth * r): dL/dh_depth = r / size, the same for every row, whatever the forward pass did.
      return tf.mean(tf.mul(h, probe)) as tf.Scalar;
    }, [input, first, last]);
    const stats = tf.tidy(() => {
      const all = tf.concat(kernels.map((w) => tf.reshape(w, [-1])));
      return tf.stack([tf.sqrt(tf.moments(all).variance), ...stds]);
    });
    tf.dispose(stds);
    // Norms on the host in float64: squaring float32 gradients of 1e-23 (sigmoid rows) would underflow to 0.
    const norm = async (t: tf.Tensor) => {
      let sum = 0;
      for (const v of await t.data()) sum += v * v;
      return Math.sqrt(sum);
    };
    const [values, firstNorm, lastNorm, inputNorm, probeNorm] = await Promise.all([
      stats.data(),
      norm(grads[first.name] as tf.Tensor),
      norm(grads[last.name] as tf.Tensor),
      norm(grads[input.name] as tf.Tensor),
      norm(probe),
    ]);
    tf.dispose([stats, value, ...Object.values(grads)]);
    return {
      pairing: p,
      kernelStd: values[0] as number,
      stds: Array.from(values.slice(1)),
      weightGradRatio: firstNorm / lastNorm,
      signalGradRatio: inputNorm / (probeNorm / probe.size),
    };
  } finally {
    tf.dispose([input, ...kernels]);
  }
}

/** 3 significant digits; scientific below 0.01 or at 1000 and above. */
function num(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a < 0.01 || a >= 1000 ? x.toExponential(1) : x.toPrecision(3);
}

function markdown(rows: readonly Row[], o: Options, backend: string, seconds: number, command: string): string {
  const layers = reportedLayers(o.depth);
  const header = [
    'activation',
    'initializer',
    'W std',
    ...layers.map((l) => `std h${l}`),
    `‖∂L/∂W1‖ / ‖∂L/∂W${o.depth}‖`,
    `‖∂L/∂x‖ / ‖∂L/∂h${o.depth}‖`,
  ];
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [
    `Command: \`${command}\`; ${new Date().toISOString().slice(0, 10)}; backend \`${backend}\`; ` +
      `Node ${process.version}, @tensorflow/tfjs ${tf.version.tfjs}; ${seconds.toFixed(1)} s.`,
    '',
    `Network: ${o.depth} layers \`h = act(h W)\`, W [${o.width}, ${o.width}] (no bias), batch ${o.batch} of ` +
      `standard-normal inputs, seed ${o.seed}; loss \`mean(h${o.depth} * r)\` with a fixed standard-normal r. "W std" is the measured std of all ` +
      'kernel entries; "std hN" the std of all entries of layer N\'s output (after the activation); the last two ' +
      'columns compare the weight gradients of the first and last layers, and the gradient reaching the input ' +
      `with the one leaving the loss (\`r / size\`).`,
    '',
    line(header),
    line(header.map(() => '---')),
    ...rows.map((r) =>
      line([
        r.pairing.act.label,
        r.pairing.init,
        r.kernelStd.toFixed(4),
        ...r.stds.map(num),
        num(r.weightGradRatio),
        num(r.signalGradRatio),
      ]),
    ),
  ].join('\n');
}

async function main(argv: readonly string[]): Promise<void> {
  const cli = await startExample(parseArgs(argv), USAGE);
  if (cli === undefined) return;
  const { backend, options: o } = cli;
  const started = performance.now();
  const x = tf.randomNormal([o.batch, o.width], 0, 1, 'float32', o.seed) as tf.Tensor2D;
  const probe = tf.randomNormal([o.batch, o.width], 0, 1, 'float32', o.seed + 1) as tf.Tensor2D;
  const rows: Row[] = [];
  for (const p of PAIRINGS) {
    const t0 = performance.now();
    rows.push(await study(p, o, x, probe));
    console.error(`${p.act.label} / ${p.init}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  tf.dispose([x, probe]);
  const seconds = (performance.now() - started) / 1000;
  const command = ['node --import tsx examples/init-depth-study.ts', ...argv].join(' ');
  const table = markdown(rows, o, backend, seconds, command);
  console.log(table);
  if (o.out) {
    writeMarkedBlock(o.out, 'init-depth-study', 'examples/init-depth-study.ts', table);
    console.error(`wrote the init-depth-study block of ${o.out}`);
  }
}

runWhenExecuted(import.meta.url, main);
