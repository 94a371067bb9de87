import { fail } from '../internal/validate.js';

/**
 * How a kernel's dimensions are laid out:
 * - `'tfjs'` (default): tfjs and Keras layouts: dense `[in, out]`, conv `[...kernel, in, out]`, and conv-transpose
 *   `[...kernel, filters, inChannels]` (fans computed as for conv, which is what Keras and PyTorch both do).
 * - `'pytorch'`: PyTorch's `[out, in, ...kernel]`, for weights ported from PyTorch.
 * - `'depthwise'`: tfjs's depthwise kernel `[...kernel, inChannels, depthMultiplier]`, where each output sees one
 *   input channel: fanIn = prod(kernel), fanOut = prod(kernel) * depthMultiplier (PyTorch's grouped-conv fans).
 */
export type KernelLayout = 'tfjs' | 'pytorch' | 'depthwise';

/** A kernel's fan-in and fan-out. */
export interface Fans {
  /** How many inputs feed each output unit. */
  readonly fanIn: number;
  /** How many output units each input feeds. */
  readonly fanOut: number;
}

/**
 * Fan-in and fan-out of a kernel shape, as Keras 3 and PyTorch compute them: rank 0 gives (1, 1), rank 1 gives
 * (n, n) (tfjs 4 gives sqrt(n) there), rank 2 and more multiply the receptive field into both.
 *
 * @param shape The kernel's shape.
 * @param layout The layout of the shape (see {@link KernelLayout}). Defaults to `'tfjs'`.
 * @example
 * ```ts
 * import { computeFans } from 'gradstab';
 * console.log(computeFans([3, 3, 64, 128])); // { fanIn: 576, fanOut: 1152 }
 * console.log(computeFans([128, 64, 3, 3], 'pytorch')); // { fanIn: 576, fanOut: 1152 }
 * ```
 */
export function computeFans(shape: readonly number[], layout: KernelLayout = 'tfjs'): Fans {
  const fn = 'computeFans';
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    fail(fn, 'shape must be an array of whole numbers > 0', shape, JSON.stringify(shape));
  }
  if (layout !== 'tfjs' && layout !== 'pytorch' && layout !== 'depthwise') {
    fail(fn, "layout must be 'tfjs', 'pytorch' or 'depthwise'", layout);
  }
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 };
  if (shape.length === 1) return { fanIn: shape[0] as number, fanOut: shape[0] as number };
  const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
  if (layout === 'pytorch') {
    const receptive = product(shape.slice(2));
    return { fanIn: (shape[1] as number) * receptive, fanOut: (shape[0] as number) * receptive };
  }
  const receptive = product(shape.slice(0, -2));
  const inDim = shape[shape.length - 2] as number;
  const outDim = shape[shape.length - 1] as number;
  if (layout === 'depthwise') {
    if (shape.length < 3)
      fail(fn, 'a depthwise kernel has rank >= 3 ([...kernel, inChannels, multiplier])', shape, JSON.stringify(shape));
    return { fanIn: receptive, fanOut: receptive * outDim };
  }
  return { fanIn: inDim * receptive, fanOut: outDim * receptive };
}
