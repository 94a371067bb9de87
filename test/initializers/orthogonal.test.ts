import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { calculateGain, GradStabError, Orthogonal, orthogonal } from '../../src/index.js';
import { countBlockingReads, tensorsLeftBy, useCpu } from '../helpers/tf.js';

beforeAll(useCpu);
afterEach(() => tf.disposeVariables());

/** max |W^T W - gain^2 I| (or W W^T when W is wide), W flattened to [prod(shape[:-1]), shape[-1]]. */
function orthogonalityError(w: tf.Tensor, gain = 1): number {
  return tf.tidy(() => {
    const cols = w.shape[w.shape.length - 1] as number;
    const m = tf.reshape(w, [-1, cols]) as tf.Tensor2D;
    const tall = (m.shape[0] as number) >= cols;
    const gram = tall ? tf.matMul(m, m, true, false) : tf.matMul(m, m, false, true);
    const eye = tf.mul(tf.eye(gram.shape[0] as number), gain * gain);
    return tf.max(tf.abs(tf.sub(gram, eye))).dataSync()[0] as number;
  });
}

describe('orthogonal', () => {
  it.each([[[64, 64]], [[256, 256]], [[100, 30]], [[30, 100]], [[3, 3, 16, 32]], [[3, 3, 4, 64]]])(
    '%j is (semi-)orthogonal to 1e-5',
    (shape) => {
      const w = orthogonal({ seed: 1 }).apply(shape);
      expect(w.shape).toEqual(shape);
      expect(orthogonalityError(w)).toBeLessThan(1e-5);
      w.dispose();
    },
  );

  it('multiplies by the gain', () => {
    const gain = calculateGain('relu');
    const w = orthogonal({ gain, seed: 2 }).apply([32, 32]);
    expect(orthogonalityError(w, gain)).toBeLessThan(1e-5);
  });

  it('is reproducible with a seed, different without one, and not biased (columns signed by R’s diagonal)', () => {
    const a = orthogonal({ seed: 9 }).apply([16, 16]).dataSync();
    const b = orthogonal({ seed: 9 }).apply([16, 16]).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    const init = orthogonal();
    expect(Array.from(init.apply([16, 16]).dataSync())).not.toEqual(Array.from(init.apply([16, 16]).dataSync()));
    // Haar-distributed entries have mean 0; an unsigned QR puts a positive bias on the diagonal.
    let diagonal = 0;
    for (let seed = 0; seed < 40; seed++) {
      const w = orthogonal({ seed }).apply([8, 8]).dataSync();
      for (let i = 0; i < 8; i++) diagonal += w[i * 9] as number;
    }
    expect(Math.abs(diagonal / 320)).toBeLessThan(0.1);
  });

  it('reads nothing from the device and leaves only its result', async () => {
    const init = orthogonal({ seed: 1 });
    expect(await countBlockingReads(() => init.apply([32, 32]).dispose())).toBe(0);
    expect(await tensorsLeftBy(() => init.apply([32, 32]).dispose())).toBe(0);
  });

  it('works as a kernelInitializer and survives save/load', async () => {
    const model = tf.sequential({
      layers: [tf.layers.dense({ units: 6, inputShape: [6], kernelInitializer: orthogonal({ gain: 2, seed: 5 }) })],
    });
    const rebuilt = (await tf.models.modelFromJSON({
      modelTopology: JSON.parse(JSON.stringify(model.toJSON(null, false))),
    })) as tf.LayersModel;
    const layer = rebuilt.layers[0] as tf.layers.Layer;
    expect((layer.getConfig().kernelInitializer as { className: string }).className).toBe('GradStabOrthogonal');
    expect(Array.from(rebuilt.getWeights()[0]?.dataSync() ?? [])).toEqual(
      Array.from(model.getWeights()[0]?.dataSync() ?? []),
    );
    expect(Orthogonal.fromConfig(Orthogonal, { gain: 2, seed: null, customObjects: {} } as never)).toBeInstanceOf(
      Orthogonal,
    );
  });

  it('names the rule for bad input', () => {
    expect(() => orthogonal({ gain: 0 })).toThrow(
      new GradStabError('orthogonal: gain must be a finite number > 0, got 0.'),
    );
    expect(() => orthogonal({ seed: 'a' as never })).toThrow('orthogonal: seed must be a finite number, got "a".');
    expect(() => orthogonal({ gains: 1 } as never)).toThrow('orthogonal: unknown option "gains" (known: gain, seed)');
    expect(() => orthogonal().apply([5])).toThrow('Orthogonal.apply: shape must have rank >= 2 (a kernel), got [5].');
    expect(() => orthogonal().apply([5, 5], 'int32')).toThrow(
      'Orthogonal.apply: dtype must be \'float32\', got "int32".',
    );
  });
});

describe('Orthogonal: bad input is a GradStabError naming the method called (issue 13)', () => {
  it.each([
    [undefined, 'Orthogonal.apply: shape must be an array of whole numbers > 0, got undefined.'],
    ['ab', 'Orthogonal.apply: shape must be an array of whole numbers > 0, got "ab".'],
    [new Array(2), 'Orthogonal.apply: shape must be an array of whole numbers > 0, got [<empty>,<empty>].'],
    [[65536, 65536], 'Orthogonal.apply: shape must describe at most 2147483647 values, got [65536,65536].'],
  ])('apply(%o)', (shape, message) => {
    expect(() => orthogonal().apply(shape as never)).toThrow(new GradStabError(message));
  });

  it('refuses a gain that is 0 or Infinity in float32', () => {
    expect(() => orthogonal({ gain: 1e-46 })).toThrow(
      new GradStabError('orthogonal: gain must be > 0 in float32 (at least 1.401298464324817e-45), got 1e-46.'),
    );
    expect(() => orthogonal({ gain: 1e39 })).toThrow(
      new GradStabError('orthogonal: gain must be finite in float32 (at most 3.4028234663852886e+38), got 1e+39.'),
    );
  });
});
