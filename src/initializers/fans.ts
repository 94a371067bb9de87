import { describeShape } from '../internal/describe.js';
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
 * @param shape The kernel's shape: whole numbers > 0, at most 2^53 - 1 values in all.
 * @param layout The layout of the shape (see {@link KernelLayout}). Defaults to `'tfjs'`.
 * @example
 * ```ts
 * import { computeFans } from 'gradstab';
 * console.log(computeFans([3, 3, 64, 128])); // { fanIn: 576, fanOut: 1152 }
 * console.log(computeFans([128, 64, 3, 3], 'pytorch')); // { fanIn: 576, fanOut: 1152 }
 * ```
 */
export function computeFans(shape: readonly number[], layout: KernelLayout = 'tfjs'): Fans {
  return fansOf('computeFans', shape, layout);
}

/** How an error shows a shape: `[3,0]`, `[2.5,NaN]`, `[<empty>,<empty>]` for `new Array(2)`. */
export const showShape = describeShape;

/**
 * A kernel shape: an array of whole numbers > 0 (every entry: a hole in the array is not one) with at most
 * `maxSize` values in all. `fn` names the function the user called.
 */
export function checkShape(fn: string, shape: unknown, maxSize = Number.MAX_SAFE_INTEGER): number[] {
  const rule = 'shape must be an array of whole numbers > 0';
  if (!Array.isArray(shape)) fail(fn, rule, shape, showShape(shape));
  let size = 1;
  for (let i = 0; i < shape.length; i++) {
    const d: unknown = shape[i];
    if (typeof d !== 'number' || !Number.isInteger(d) || d <= 0) fail(fn, rule, shape, showShape(shape));
    size *= d;
  }
  if (!(size <= maxSize)) fail(fn, `shape must describe at most ${maxSize} values`, shape, showShape(shape));
  return shape as number[];
}

/** {@link computeFans} for a caller named `fn` (an initializer's `apply`). */
export function fansOf(fn: string, shape: unknown, layout: unknown = 'tfjs'): Fans {
  checkShape(fn, shape);
  const dims = shape as readonly number[];
  if (layout !== 'tfjs' && layout !== 'pytorch' && layout !== 'depthwise') {
    fail(fn, "layout must be 'tfjs', 'pytorch' or 'depthwise'", layout);
  }
  if (dims.length === 0) return { fanIn: 1, fanOut: 1 };
  if (dims.length === 1) return { fanIn: dims[0] as number, fanOut: dims[0] as number };
  const product = (d: readonly number[]) => d.reduce((a, b) => a * b, 1);
  if (layout === 'pytorch') {
    const receptive = product(dims.slice(2));
    return { fanIn: (dims[1] as number) * receptive, fanOut: (dims[0] as number) * receptive };
  }
  const receptive = product(dims.slice(0, -2));
  const inDim = dims[dims.length - 2] as number;
  const outDim = dims[dims.length - 1] as number;
  if (layout === 'depthwise') {
    if (dims.length < 3) {
      fail(fn, 'a depthwise kernel has rank >= 3 ([...kernel, inChannels, multiplier])', dims, showShape(dims));
    }
    return { fanIn: receptive, fanOut: receptive * outDim };
  }
  return { fanIn: inDim * receptive, fanOut: outDim * receptive };
}

/**
 * Runs `make`, which allocates a tensor of this shape: a RangeError of the allocation (a shape too large for memory)
 * becomes a GradStabError naming `fn`.
 */
export function allocating<T>(fn: string, shape: readonly number[], make: () => T): T {
  try {
    return make();
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    return fail(fn, `shape must describe a tensor that fits in memory (${e.message})`, shape, showShape(shape));
  }
}
