// The browser example, shared by both pages: trains a small MLP on tfjs's webgl backend with gradient clipping and
// the gradient-health monitor, then draws the monitor's chart. index.html resolves the bare specifiers below with
// an import map; bundle.html runs the same code bundled by esbuild (bundle-entry.js).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgl';
import * as tfl from '@tensorflow/tfjs-layers';
import { clipByGlobalNorm, GradientHealthMonitor, withTransforms } from 'gradstab';

const $ = (id) => document.getElementById(id);

/** Shows a line of progress in the page. */
function status(text) {
  $('status').textContent = text;
}

/**
 * Counts the backend's blocking reads (`dataSync`, `arraySync` and `bufferSync` all end in `readSync`) and its
 * asynchronous ones (`data()`, `array()`).
 */
function countReads(backend) {
  const counts = { readSync: 0, read: 0 };
  const readSync = backend.readSync.bind(backend);
  const read = backend.read.bind(backend);
  backend.readSync = (dataId) => {
    counts.readSync++;
    return readSync(dataId);
  };
  backend.read = (dataId) => {
    counts.read++;
    return read(dataId);
  };
  return counts;
}

/** A seeded regression problem: y = sin(2 x0) + x1 x2 - x3 / 2, for 256 points in [-1, 1]^4. */
function makeData() {
  return tf.tidy(() => {
    const x = tf.randomUniform([256, 4], -1, 1, 'float32', 7);
    const [x0, x1, x2, x3] = tf.split(x, 4, 1);
    const y = tf.sub(tf.add(tf.sin(tf.mul(x0, 2)), tf.mul(x1, x2)), tf.mul(x3, 0.5));
    return { x, y };
  });
}

function makeModel() {
  const init = (seed) => tfl.initializers.glorotUniform({ seed });
  return tfl.sequential({
    layers: [
      tfl.layers.dense({ units: 32, activation: 'tanh', inputShape: [4], name: 'hidden1', kernelInitializer: init(1) }),
      tfl.layers.dense({ units: 32, activation: 'tanh', name: 'hidden2', kernelInitializer: init(2) }),
      tfl.layers.dense({ units: 1, name: 'out', kernelInitializer: init(3) }),
    ],
  });
}

/** The chart's marks as the page shows them: heatmap cells (rect), the global-norm line, rules. */
function countMarks(container) {
  const svg = container.querySelector('svg');
  const count = (selector) => (svg ? svg.querySelectorAll(selector).length : 0);
  return {
    svg: svg !== null,
    rects: count('.mark-rect path, .mark-rect rect'),
    lines: count('.mark-line path'),
    rules: count('.mark-rule line, .mark-rule path'),
    texts: count('text'),
  };
}

/**
 * Runs the example and returns (and puts in `window.__result`) what it measured.
 * @param {{ variant: string, drawChart: (history: object[], container: HTMLElement) => Promise<void> }} options
 */
export async function runExample({ variant, drawChart }) {
  const started = performance.now();
  const steps = Number(new URLSearchParams(location.search).get('steps') ?? 60);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`?steps= must be a whole number >= 1, got ${steps}`);
  status(`${variant}: starting the webgl backend…`);
  tf.enableProdMode();
  if (!(await tf.setBackend('webgl'))) throw new Error('the webgl backend could not start (no WebGL here?)');
  await tf.ready();
  const reads = countReads(tf.backend());

  const { x, y } = makeData();
  const model = makeModel();
  const monitor = new GradientHealthMonitor();
  // The monitor's tap first, to see the raw gradients; then clip their global norm to 1 (PyTorch's
  // clip_grad_norm_, Keras's global_clipnorm). Neither reads the device in a step.
  const optimizer = withTransforms(tf.train.adam(0.02), monitor.tap, clipByGlobalNorm(1));
  const lossFn = () => tf.tidy(() => tf.losses.meanSquaredError(y, model.apply(x, { training: true })));

  const losses = [];
  const stepMs = [];
  const setupReadSync = reads.readSync;
  const trainStarted = performance.now();
  for (let step = 1; step <= steps; step++) {
    const stepStarted = performance.now();
    const loss = optimizer.minimize(lossFn, true);
    // An asynchronous read: the page stays responsive and nothing blocks on the GPU.
    losses.push((await loss.data())[0]);
    loss.dispose();
    stepMs.push(performance.now() - stepStarted);
    if (step % 10 === 0 || step === steps) {
      status(`${variant}: step ${step}/${steps}, loss ${losses[step - 1].toFixed(4)}`);
      await tf.nextFrame();
    }
  }
  await monitor.flush();
  const trainReadSync = reads.readSync - setupReadSync;
  const trainMs = performance.now() - trainStarted;

  const history = monitor.history;
  const report = monitor.report();
  const chartStarted = performance.now();
  await drawChart(history, $('chart'));
  const chartMs = performance.now() - chartStarted;
  const marks = countMarks($('chart'));

  $('summary').textContent = monitor.summary();
  const [first, last] = [losses[0], losses[steps - 1]].map((l) => l.toFixed(4));
  status(`${variant}: done, ${steps} steps on ${tf.getBackend()}, loss ${first} -> ${last}`);
  const result = {
    variant,
    backend: tf.getBackend(),
    webglVersion: tf.env().getNumber('WEBGL_VERSION'),
    steps,
    losses,
    readSync: { setup: setupReadSync, training: trainReadSync },
    asyncReads: reads.read,
    history: history.map((r) => ({
      step: r.step,
      globalNorm: r.globalNorm,
      layers: r.layers.map((l) => ({ layer: l.layer, norm: l.norm, nonFinite: l.nonFinite })),
    })),
    // The tap sees the raw gradients: the steps above norm 1 are the ones clipByGlobalNorm(1) scaled down.
    clippedSteps: history.filter((r) => r.globalNorm > 1).length,
    reportLayers: report.layers.map((l) => ({ layer: l.layer, lastNorm: l.lastNorm, maxNorm: l.maxNorm })),
    verdicts: report.verdicts.map((v) => v.reason),
    marks,
    ms: { total: performance.now() - started, train: trainMs, chart: chartMs, steps: stepMs },
  };
  tf.dispose([x, y]);
  model.dispose();
  optimizer.dispose();
  monitor.dispose();
  return result;
}

/** Runs the example, shows any error in the page, and sets `window.__result` for the end-to-end test. */
export function start(options) {
  runExample(options).then(
    (result) => {
      window.__result = result;
    },
    (error) => {
      status(`${options.variant}: failed: ${error?.stack ?? error}`);
      window.__result = { variant: options.variant, error: String(error?.stack ?? error) };
    },
  );
}
