// A strict TypeScript consumer of the packed package: every export used the way the README, the guides and the doc
// comments use it. The package tests compile it under every module setting (test/package/consumer-types.test.ts);
// `npm run typecheck` compiles it against src/.
import * as tf from '@tensorflow/tfjs';
import {
  type AccumulateGradientsOptions,
  type ActivationFamily,
  type ActivationIdentifier,
  type ActivationProbe,
  type ActivationVerdict,
  type ActivationVerdictKind,
  type AdaptiveGradClipOptions,
  type AppliedPrescription,
  type AutoClipOptions,
  accumulateGradients,
  activationIdentifiers,
  activations,
  adaptiveGradClip,
  autoClip,
  BatchNormalizationLayer,
  type BatchNormalizationLayerArgs,
  type BatchNormOptions,
  type BatchNormParams,
  type BatchNormParamVariables,
  type BatchNormResult,
  type BatchNormSettings,
  type BatchNormState,
  type BatchNormStateVariables,
  type BatchNormVariables,
  type BatchNormVariablesOptions,
  batchNorm,
  batchNormVariables,
  type ClipByGlobalNormOptions,
  type ClipOptimizerOptions,
  type ClipValueBounds,
  calculateGain,
  chain,
  clipByGlobalNorm,
  clipByNorm,
  clipByValue,
  clipOptimizer,
  computeFans,
  type DatasetOfExamples,
  DEFAULT_THRESHOLDS,
  type DiagnoseOptions,
  type DiagnoseProgress,
  type Diagnosis,
  type DiagnosisJSON,
  type DiagnosisMeasurements,
  type Distribution,
  diagnose,
  ELULayer,
  type ELULayerArgs,
  type EluOptions,
  type ExampleIterator,
  type ExcludeVariables,
  type FanMode,
  type Fans,
  type Finding,
  type FindingKind,
  GELULayer,
  type GELULayerArgs,
  type GeluOptions,
  type GlobalNormOptions,
  type GlobalNormReport,
  GradientHealthMonitor,
  type GradientHealthMonitorOptions,
  type GradientHealthPlotOptions,
  type GradientHealthRenderOptions,
  type GradientPipeline,
  type GradientTransform,
  GradStabError,
  globalNorm,
  gradientHealthSpec,
  gradientPipeline,
  type HealthReport,
  type HealthThresholds,
  heNormal,
  heUniform,
  type InitializerForOptions,
  type InitializerOptions,
  initializerFor,
  isGradientTransform,
  type KernelLayout,
  type LayerActivationStats,
  type LayerArgs,
  type LayerReport,
  type LayerStepStats,
  LeakyReLULayer,
  type LeakyReLULayerArgs,
  type LeakyReluOptions,
  type LossIdentifier,
  type LrRangeTestOptions,
  type LrRangeTestResult,
  type LsuvLayerReport,
  type LsuvOptions,
  type LsuvReport,
  type LsuvStatus,
  type LsuvStep,
  type LsuvVariablesOptions,
  layers,
  lecunNormal,
  lecunUniform,
  lrRangeTest,
  lsuv,
  lsuvVariables,
  type MonitorCallbackOptions,
  type MonitorEvent,
  type MonitorEventName,
  type MonitorJSON,
  type NamedTensor,
  type Nonlinearity,
  type NormDistribution,
  type NormType,
  type OptimizerSource,
  Orthogonal,
  type OrthogonalOptions,
  orthogonal,
  type PipelineStep,
  type Prescription,
  type PrescriptionKind,
  type ProbeOptions,
  type ProbeSkippedLayer,
  type PyTorchBatchNormOptions,
  probeActivations,
  pytorchBatchNormArgs,
  type RangeSuggestions,
  ReLULayer,
  registerTransform,
  renderGradientHealthSvg,
  SELULayer,
  type Severity,
  SiLULayer,
  type SkipNonFiniteOptions,
  type StepRecord,
  skipNonFinite,
  type TrainingData,
  type TransformConfig,
  type TransformedOptimizer,
  type TransformFactory,
  type TransformResult,
  type TransformState,
  transformFromConfig,
  transformToConfig,
  type UpdateContext,
  VarianceScaling,
  type VarianceScalingOptions,
  type VegaLiteSpec,
  type VegaModules,
  type Verdict,
  type Verification,
  varianceScaling,
  withTransforms,
  writeGradientHealthSvg,
  xavierNormal,
  xavierUniform,
  type ZClipOptions,
  zClip,
} from 'gradstab';

// --- Layers: gradstab's layers are tf.layers layers, in tf.sequential, model.add and the functional API. ---
const bnArgs: BatchNormalizationLayerArgs = { axis: -1, momentum: 0.99, epsilon: 1e-3, name: 'bn' };
const bn: BatchNormalizationLayer = layers.batchNormalization(bnArgs);
const model = tf.sequential({
  layers: [
    tf.layers.dense({ units: 8, inputShape: [4], kernelInitializer: heNormal() }),
    bn,
    layers.reLU(),
    tf.layers.dense({ units: 8, kernelInitializer: xavierUniform({ gain: calculateGain('tanh') }) }),
    layers.leakyReLU({ alpha: 0.2 }),
  ],
});
model.add(layers.elu({ alpha: 0.5 }));
model.add(
  tf.layers.dense({ units: 8, kernelInitializer: heUniform({ nonlinearity: 'leakyRelu', negativeSlope: 0.2 }) }),
);
model.add(layers.selu());
model.add(tf.layers.dense({ units: 8, kernelInitializer: lecunNormal() }));
model.add(layers.gelu({ approximate: true }));
model.add(tf.layers.dense({ units: 8, kernelInitializer: lecunUniform() }));
model.add(layers.silu());
model.add(
  tf.layers.dense({ units: 8, kernelInitializer: xavierNormal(), activation: activationIdentifiers.leakyRelu }),
);
model.add(tf.layers.dense({ units: 4, kernelInitializer: orthogonal({ gain: 1 }) }));
model.add(tf.layers.dense({ units: 4, kernelInitializer: varianceScaling({ scale: 2, mode: 'fanIn' }) }));
model.add(tf.layers.dense({ units: 1, kernelInitializer: initializerFor('relu') }));
model.add(new BatchNormalizationLayer(pytorchBatchNormArgs({ momentum: 0.1, eps: 1e-5 })));

const asLayers: tf.layers.Layer[] = [
  bn,
  new ReLULayer(),
  new LeakyReLULayer({ alpha: 0.1 } satisfies LeakyReLULayerArgs),
  new ELULayer({ alpha: 1 } satisfies ELULayerArgs),
  new SELULayer(),
  new GELULayer({ approximate: false } satisfies GELULayerArgs),
  new SiLULayer({ name: 'silu' } satisfies LayerArgs),
];
const layerName: string = bn.name;
const reluName: ActivationIdentifier = activationIdentifiers.relu;
const bnOut = bn.apply(tf.ones([2, 1]), { training: true }) as tf.Tensor;
const bnWeights: tf.Tensor[] = bn.getWeights();
bn.setWeights(bnWeights);
const input = tf.input({ shape: [4] });
const functional = tf.model({
  inputs: input,
  outputs: layers.reLU().apply(tf.layers.dense({ units: 2 }).apply(input)) as tf.SymbolicTensor,
});

// --- Initializers: tfjs initializers everywhere tfjs takes one, and tensors directly. ---
const initializers = [
  heNormal(),
  heUniform(),
  xavierNormal(),
  xavierUniform(),
  lecunNormal(),
  lecunUniform(),
  varianceScaling({ scale: 1 } satisfies VarianceScalingOptions),
  orthogonal({ gain: 1 } satisfies OrthogonalOptions),
  initializerFor('selu', {} satisfies InitializerForOptions),
  new VarianceScaling({ gain: 2, mode: 'fanIn' satisfies FanMode, distribution: 'uniform' satisfies Distribution }),
  new Orthogonal({ seed: 1 }),
];
const conv = tf.layers.conv2d({
  filters: 4,
  kernelSize: 3,
  kernelInitializer: initializers[0],
  biasInitializer: 'zeros',
});
const kernel: tf.Tensor = heNormal({ seed: 1 } satisfies InitializerOptions).apply([3, 3, 4, 8]);
const fans: Fans = computeFans([3, 3, 4, 8], 'tfjs' satisfies KernelLayout);
const gain: number = calculateGain('leakyRelu' satisfies Nonlinearity, 0.2);
const lsuvOptions: LsuvOptions = { tolerance: 0.1, maxIterations: 10 };
const lsuvReport: LsuvReport = await lsuv(model, tf.randomNormal([16, 4]), lsuvOptions);
const lsuvLayers: readonly LsuvLayerReport[] = lsuvReport.layers;
const lsuvStatus: LsuvStatus | undefined = lsuvLayers[0]?.status;
const w = tf.variable(tf.randomNormal([4, 4]));
const steps: LsuvStep[] = [{ name: 'w', kernel: w, output: (x) => tf.matMul(x, w) }];
const variablesOptions: LsuvVariablesOptions = { tolerance: 0.1 };
await lsuvVariables(steps, tf.randomNormal([16, 4]), variablesOptions);

// --- Activations as functions. ---
const x = tf.tensor1d([-1, 0, 1]);
const activated: tf.Tensor1D[] = [
  activations.relu(x),
  activations.leakyRelu(x, { alpha: 0.2 } satisfies LeakyReluOptions),
  activations.elu(x, { alpha: 1 } satisfies EluOptions),
  activations.selu(x),
  activations.gelu(x, { approximate: true } satisfies GeluOptions),
  activations.silu(x),
];

// --- Optimizers: wrappers are tf.Optimizers; model.compile takes them. ---
const clipOptions: ClipOptimizerOptions = { globalClipNorm: 1 };
const clipped: TransformedOptimizer = clipOptimizer(tf.train.adam(1e-3), clipOptions);
const asOptimizer: tf.Optimizer = clipped;
const monitor = new GradientHealthMonitor({ every: 1, historySize: 100 } satisfies GradientHealthMonitorOptions);
const bounds: ClipValueBounds = { min: -1, max: 1 };
const transforms: GradientTransform[] = [
  monitor.tap,
  skipNonFinite({ maxConsecutive: 10 } satisfies SkipNonFiniteOptions),
  clipByValue(bounds),
  clipByNorm(1),
  clipByGlobalNorm(1, { normType: 2 satisfies NormType } satisfies ClipByGlobalNormOptions),
  adaptiveGradClip({ clipping: 0.01, exclude: /out/ satisfies ExcludeVariables } satisfies AdaptiveGradClipOptions),
  autoClip({ percentile: 10 } satisfies AutoClipOptions),
  zClip({ alpha: 0.97 } satisfies ZClipOptions),
  accumulateGradients({ steps: 2 } satisfies AccumulateGradientsOptions),
];
const optimizer: TransformedOptimizer = withTransforms(tf.train.adam(1e-3), chain(...transforms));
model.compile({ optimizer, loss: 'meanSquaredError' });
model.compile({ optimizer: clipOptimizer(tf.train.sgd(0.1), { clipNorm: 1 }), loss: 'meanSquaredError' });
const callbackOptions: MonitorCallbackOptions = { stopOnNonFinite: true };
const fitCallback: tf.Callback = monitor.callback(callbackOptions);
await model.fit(tf.randomNormal([8, 4]), tf.randomNormal([8, 1]), {
  epochs: 1,
  verbose: 0,
  callbacks: fitCallback,
});
await model.fit(tf.randomNormal([8, 4]), tf.randomNormal([8, 1]), {
  epochs: 1,
  verbose: 0,
  callbacks: [
    monitor.callback(),
    new tf.CustomCallback({ onEpochEnd: async (epoch, logs) => console.log(epoch, logs?.loss) }),
  ],
});
await model.fit(tf.randomNormal([8, 4]), tf.randomNormal([8, 1]), {
  epochs: 1,
  verbose: 0,
  callbacks: [tf.callbacks.earlyStopping({ patience: 2 }), monitor.callback()],
});
await model.fit(tf.randomNormal([8, 4]), tf.randomNormal([8, 1]), {
  epochs: 1,
  verbose: 0,
  callbacks: [
    { onEpochEnd: async (epoch: number, logs?: tf.Logs) => console.log(epoch, logs?.loss) },
    monitor.callback(),
  ],
});
// Resuming: add a monitor to a loaded model's optimizer, keeping every transform's state.
model.optimizer = withTransforms(model.optimizer, new GradientHealthMonitor().tap);

// --- Raw loops: a pipeline before any optimizer, or the wrapper's applyGradients. ---
const pipeline: GradientPipeline = gradientPipeline(skipNonFinite(), clipByGlobalNorm(1));
const adam: tf.Optimizer = tf.train.adam(1e-3);
const v = tf.variable(tf.tensor1d([1, 2]), true, 'v');
const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(v)) as tf.Scalar);
const out: PipelineStep = pipeline.apply(grads);
if (!out.skip) adam.applyGradients(out.grads);
withTransforms(tf.train.sgd(0.1), clipByGlobalNorm(1)).applyGradients(grads);
monitor.observe(grads, { v });
tf.dispose([value, grads, out.grads]);
const norm: tf.Scalar = globalNorm(grads, { normType: 'inf' } satisfies GlobalNormOptions);
const named: NamedTensor = { name: 'v', tensor: v };

// --- Custom transforms. ---
const factory: TransformFactory = (config) => clipByValue(config.limit as number);
registerTransform('myClip', factory);
const saved: TransformConfig = transformToConfig(clipByValue(1));
const loaded: GradientTransform = transformFromConfig(saved);
const isTransform: boolean = isGradientTransform(loaded);
const myTransform: GradientTransform = {
  kind: 'myClip',
  config: { limit: 1 },
  init: (): TransformState => ({}),
  update: (g: tf.NamedTensorMap, state: TransformState, context: UpdateContext): TransformResult => ({
    grads: g,
    state,
    skip: context.params === undefined,
  }),
};

// --- Batch normalization in a raw loop. ---
const bnOptions: BatchNormVariablesOptions = { name: 'bn0' };
const bnVars: BatchNormVariables = batchNormVariables(4, bnOptions);
const paramVars: BatchNormParamVariables = bnVars.params;
const stateVars: BatchNormStateVariables = bnVars.state;
const params: BatchNormParams = paramVars;
const state: BatchNormState = stateVars;
const settings: BatchNormSettings = pytorchBatchNormArgs({ momentum: 0.1 } satisfies PyTorchBatchNormOptions);
const bnRun: BatchNormOptions = { training: true, ...settings };
const result: BatchNormResult = batchNorm(tf.randomNormal([8, 4]), params, state, bnRun);
stateVars.movingMean.assign(result.state.movingMean);

// --- The monitor's results. ---
monitor.on('vanishing', (e: MonitorEvent) => console.warn(e.step, e.reason, e.layers));
const eventName: MonitorEventName = 'nonFinite';
await monitor.flush();
const history: readonly StepRecord[] = monitor.history;
const layerStats: readonly LayerStepStats[] = history[0]?.layers ?? [];
const report: HealthReport = monitor.report();
const layerReports: readonly LayerReport[] = report.layers;
const verdicts: readonly Verdict[] = report.verdicts;
const globalReport: GlobalNormReport = report.globalNorm;
const json: MonitorJSON = monitor.toJSON();
const thresholds: HealthThresholds = { ...DEFAULT_THRESHOLDS, vanishingRatio: 1e-4 };
const plotOptions: GradientHealthPlotOptions = { title: 'gradients' };
const spec: VegaLiteSpec = gradientHealthSpec(history, plotOptions);
const vega = await import('vega');
const vegaLite = await import('vega-lite');
const modules: VegaModules = { vega, vegaLite };
const renderOptions: GradientHealthRenderOptions = { modules };
const svg: string = await renderGradientHealthSvg(history, renderOptions);
await writeGradientHealthSvg(history, 'gradients.svg', renderOptions);
const probeOptions: ProbeOptions = { maxDeadFraction: 0.5 };
const probe: ActivationProbe = await probeActivations(model, tf.randomNormal([16, 4]), probeOptions);
const probeLayers: readonly LayerActivationStats[] = probe.layers;
const probeVerdicts: readonly ActivationVerdict[] = probe.verdicts;
const verdictKind: ActivationVerdictKind | undefined = probeVerdicts[0]?.kind;
const family: ActivationFamily | undefined = probeLayers[0]?.family;
const skipped: readonly ProbeSkippedLayer[] = probe.skipped;
const rangeData: TrainingData = { x: tf.randomNormal([64, 4]), y: tf.randomNormal([64, 1]) };
const rangeLoss: LossIdentifier = 'meanSquaredError';
const rangeOptions: LrRangeTestOptions = { loss: rangeLoss, optimizer: (lr) => tf.train.sgd(lr), steps: 20 };
const range: LrRangeTestResult = await lrRangeTest(model, rangeData, rangeOptions);
const steepest: number | null = range.steepest;

const diagnoseOptions: DiagnoseOptions = {
  loss: 'meanSquaredError',
  optimizer: (() => tf.train.sgd(0.1)) satisfies OptimizerSource,
  steps: 10,
  rangeSteps: 0,
  maxCandidates: 1,
  onProgress: (p: DiagnoseProgress) => void p.fraction,
};
const dataset: DatasetOfExamples = tf.data.zip({
  xs: tf.data.array([tf.zeros([4])]),
  ys: tf.data.array([tf.zeros([1])]),
});
const diagnosis: Diagnosis = await diagnose(model, rangeData, diagnoseOptions);
const findings: readonly Finding[] = diagnosis.findings;
const kinds: FindingKind[] = findings.map((f) => f.kind);
const severities: Severity[] = findings.map((f) => f.severity);
const prescribed: readonly Prescription[] = diagnosis.prescriptions;
const prescribedKinds: PrescriptionKind[] = prescribed.map((p) => p.kind);
const verified: (Verification | null)[] = prescribed.map((p) => p.verified);
const measured: DiagnosisMeasurements = diagnosis.measurements;
const diagnosisJson: DiagnosisJSON = diagnosis.toJSON();
const diagnosisText: string = diagnosis.summary();
const norms: NormDistribution = measured.globalNorm;
const suggestions: RangeSuggestions | null = measured.lrRange;
const iterator: ExampleIterator = await dataset.iterator();
const applied: AppliedPrescription | undefined = await diagnosis.prescriptions[0]?.apply(model);
applied?.model.dispose();
applied?.optimizer.dispose();
diagnosis.dispose();

try {
  clipByGlobalNorm(-1);
} catch (e) {
  if (e instanceof GradStabError) console.log(e.message);
}

export {
  activated,
  asLayers,
  asOptimizer,
  bnOut,
  conv,
  dataset,
  diagnosisJson,
  diagnosisText,
  eventName,
  family,
  fans,
  functional,
  gain,
  globalReport,
  isTransform,
  iterator,
  json,
  kernel,
  kinds,
  layerName,
  layerReports,
  layerStats,
  lsuvStatus,
  measured,
  myTransform,
  named,
  norm,
  norms,
  prescribedKinds,
  reluName,
  severities,
  skipped,
  spec,
  steepest,
  suggestions,
  svg,
  thresholds,
  verdictKind,
  verdicts,
  verified,
};
