/**
 * gradstab: gradient-stabilization primitives for TensorFlow.js.
 * @packageDocumentation
 */
export { GradStabError } from './errors.js';
export { computeFans, type Fans, type KernelLayout } from './initializers/fans.js';
export { calculateGain, type Nonlinearity } from './initializers/gain.js';
export { type InitializerForOptions, initializerFor } from './initializers/initializer-for.js';
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
export { type ClipOptimizerOptions, clipOptimizer } from './optimizer/clip-optimizer.js';
export { TransformedOptimizer, withTransforms } from './optimizer/transformed-optimizer.js';
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
