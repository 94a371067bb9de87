/**
 * gradstab: gradient-stabilization primitives for TensorFlow.js.
 *
 * The guides are listed here with `@document` rather than typedoc's `projectDocuments`, which would put the whole
 * API under a module called "index".
 *
 * @document ../docs/getting-started.md
 * @document ../docs/clipping.md
 * @document ../docs/adaptive-clipping.md
 * @document ../docs/initialization-and-activations.md
 * @document ../docs/activations.md
 * @document ../docs/batch-normalization.md
 * @document ../docs/diagnosing-gradients.md
 * @document ../docs/diagnose.md
 * @document ../docs/migrating.md
 * @document ../docs/benchmarks.md
 * @document ../examples/README.md
 * @document ../examples/browser/README.md
 * @packageDocumentation
 */
export { type ActivationIdentifier, activationIdentifiers } from './activations/identifiers.js';
export { activations, type EluOptions, type GeluOptions, type LeakyReluOptions } from './activations/index.js';
export {
  ELULayer,
  type ELULayerArgs,
  GELULayer,
  type GELULayerArgs,
  type LayerArgs,
  LeakyReLULayer,
  type LeakyReLULayerArgs,
  ReLULayer,
  SELULayer,
  SiLULayer,
} from './activations/layers.js';
export type { PrescriptionKind } from './diagnose/candidates.js';
export {
  type DatasetOfExamples,
  type DiagnoseOptions,
  type DiagnoseProgress,
  diagnose,
  type ExampleIterator,
} from './diagnose/diagnose.js';
export {
  type AppliedPrescription,
  Diagnosis,
  type DiagnosisJSON,
  type DiagnosisMeasurements,
  type NormDistribution,
  type Prescription,
  type RangeSuggestions,
} from './diagnose/diagnosis.js';
export type { Finding, FindingKind, Severity } from './diagnose/findings.js';
export {
  type LossIdentifier,
  type LrRangeTestOptions,
  type LrRangeTestResult,
  lrRangeTest,
  type TrainingData,
} from './diagnose/lr-range-test.js';
export type { OptimizerSource } from './diagnose/optimizer-source.js';
export type { Verification } from './diagnose/verify.js';
export { GradStabError } from './errors.js';
export { computeFans, type Fans, type KernelLayout } from './initializers/fans.js';
export { calculateGain, type Nonlinearity } from './initializers/gain.js';
export { type InitializerForOptions, initializerFor } from './initializers/initializer-for.js';
export {
  type LsuvLayerReport,
  type LsuvOptions,
  type LsuvReport,
  type LsuvStatus,
  type LsuvStep,
  type LsuvVariablesOptions,
  lsuv,
  lsuvVariables,
} from './initializers/lsuv.js';
export { Orthogonal, type OrthogonalOptions, orthogonal } from './initializers/orthogonal.js';
export {
  type Distribution,
  type FanMode,
  heNormal,
  heUniform,
  type InitializerOptions,
  lecunNormal,
  lecunUniform,
  VarianceScaling,
  type VarianceScalingOptions,
  varianceScaling,
  xavierNormal,
  xavierUniform,
} from './initializers/variance-scaling.js';
export type { NamedTensor } from './internal/grads.js';
export { layers } from './layers.js';
export { DEFAULT_THRESHOLDS, type HealthThresholds } from './monitor/detectors.js';
export {
  GradientHealthMonitor,
  type GradientHealthMonitorOptions,
  type MonitorCallbackOptions,
  type MonitorJSON,
} from './monitor/monitor.js';
export {
  type GradientHealthPlotOptions,
  type GradientHealthRenderOptions,
  gradientHealthSpec,
  renderGradientHealthSvg,
  type VegaLiteSpec,
  type VegaModules,
  writeGradientHealthSvg,
} from './monitor/plot.js';
export {
  type ActivationFamily,
  type ActivationProbe,
  type ActivationVerdict,
  type ActivationVerdictKind,
  type LayerActivationStats,
  type ProbeOptions,
  type ProbeSkippedLayer,
  probeActivations,
} from './monitor/probe.js';
export type { GlobalNormReport, HealthReport, LayerReport, Verdict } from './monitor/report.js';
export type { LayerStepStats, MonitorEvent, MonitorEventName, StepRecord } from './monitor/types.js';
export {
  type BatchNormOptions,
  type BatchNormParams,
  type BatchNormParamVariables,
  type BatchNormResult,
  type BatchNormState,
  type BatchNormStateVariables,
  type BatchNormVariables,
  type BatchNormVariablesOptions,
  batchNorm,
  batchNormVariables,
} from './normalization/batch-norm.js';
export { BatchNormalizationLayer, type BatchNormalizationLayerArgs } from './normalization/batch-norm-layer.js';
export {
  type BatchNormSettings,
  type PyTorchBatchNormOptions,
  pytorchBatchNormArgs,
} from './normalization/batch-norm-options.js';
export { type ClipOptimizerOptions, clipOptimizer } from './optimizer/clip-optimizer.js';
export { TransformedOptimizer, withTransforms } from './optimizer/transformed-optimizer.js';
export { type AccumulateGradientsOptions, accumulateGradients } from './transforms/accumulate.js';
export {
  type AdaptiveGradClipOptions,
  adaptiveGradClip,
  type ExcludeVariables,
} from './transforms/adaptive-grad-clip.js';
export { type AutoClipOptions, autoClip } from './transforms/auto-clip.js';
export { chain } from './transforms/chain.js';
export { type ClipByGlobalNormOptions, clipByGlobalNorm, clipByNorm } from './transforms/clip-norm.js';
export { type ClipValueBounds, clipByValue } from './transforms/clip-value.js';
export { type GlobalNormOptions, globalNorm } from './transforms/global-norm.js';
export { type SkipNonFiniteOptions, skipNonFinite } from './transforms/non-finite.js';
export { type GradientPipeline, gradientPipeline, type PipelineStep } from './transforms/pipeline.js';
export {
  isGradientTransform,
  registerTransform,
  type TransformFactory,
  transformFromConfig,
  transformToConfig,
} from './transforms/registry.js';
export type {
  GradientTransform,
  NormType,
  TransformConfig,
  TransformResult,
  TransformState,
  UpdateContext,
} from './transforms/types.js';
export { type ZClipOptions, zClip } from './transforms/z-clip.js';
