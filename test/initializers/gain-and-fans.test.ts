import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { calculateGain, computeFans, GradStabError } from '../../src/index.js';

interface InitFixtures {
  torch: string;
  gains: { name: string; param?: number | null; gain: number }[];
  fans: { shape: number[]; fanIn: number; fanOut: number }[];
}
const fixtures: InitFixtures = JSON.parse(
  readFileSync(new URL('../fixtures/initializers.json', import.meta.url), 'utf8'),
);

describe(`calculateGain matches torch ${fixtures.torch} calculate_gain`, () => {
  it.each(fixtures.gains.map((g) => [`${g.name}(${g.param ?? ''})`, g] as const))('%s', (_, g) => {
    expect(calculateGain(g.name, g.param ?? undefined)).toBeCloseTo(g.gain, 12);
  });

  it('reproduces the vectors of SEMANTICS.md and takes camelCase names', () => {
    expect(calculateGain('leakyRelu', 0.01)).toBeCloseTo(1.41414286, 8);
    expect(calculateGain('leakyRelu', 0.2)).toBeCloseTo(1.38675049, 8);
    expect(calculateGain('LeakyReLU', 0.3)).toBeCloseTo(1.35457092, 8);
    expect(calculateGain('convTranspose2d')).toBe(1);
  });

  it('names the rule for bad input', () => {
    expect(() => calculateGain('swish')).toThrow(GradStabError);
    expect(() => calculateGain('swish')).toThrow('calculateGain: nonlinearity must be one of linear, identity,');
    expect(() => calculateGain('relu', 0.1)).toThrow(
      'calculateGain: param is only for leakyRelu (its negative slope), not "relu", got 0.1.',
    );
    expect(() => calculateGain('leakyRelu', Number.NaN)).toThrow(
      'calculateGain: param (negative slope) must be a finite number, got NaN.',
    );
    expect(() => calculateGain(3 as never)).toThrow('calculateGain: nonlinearity must be a string, got 3.');
  });
});

describe('computeFans', () => {
  it.each(fixtures.fans.map((f) => [JSON.stringify(f.shape), f] as const))(
    'PyTorch layout %s matches torch',
    (_, f) => {
      expect(computeFans(f.shape, 'pytorch')).toEqual({ fanIn: f.fanIn, fanOut: f.fanOut });
    },
  );

  it('tfjs layouts: dense [in, out], conv [kh, kw, in, out] give the same fans as the PyTorch layout', () => {
    expect(computeFans([20, 10])).toEqual({ fanIn: 20, fanOut: 10 });
    expect(computeFans([3, 3, 64, 128])).toEqual({ fanIn: 576, fanOut: 1152 });
    expect(computeFans([5, 8, 16])).toEqual(computeFans([16, 8, 5], 'pytorch'));
    expect(computeFans([3, 3, 3, 2, 4])).toEqual(computeFans([4, 2, 3, 3, 3], 'pytorch'));
  });

  it('conv-transpose [kh, kw, filters, inChannels] follows Keras and PyTorch (fans as for conv)', () => {
    // PyTorch ConvTranspose2d(in=8, out=4, k=3) weight is [8, 4, 3, 3]: fan_in = 4 * 9, fan_out = 8 * 9.
    expect(computeFans([3, 3, 4, 8])).toEqual(computeFans([8, 4, 3, 3], 'pytorch'));
  });

  it('depthwise [kh, kw, in, multiplier]: each output sees one channel', () => {
    expect(computeFans([3, 3, 32, 2], 'depthwise')).toEqual({ fanIn: 9, fanOut: 18 });
    expect(() => computeFans([3, 2], 'depthwise')).toThrow('computeFans: a depthwise kernel has rank >= 3');
  });

  it('rank 0 and 1 follow Keras 3 (tfjs 4 gives sqrt(n))', () => {
    expect(computeFans([])).toEqual({ fanIn: 1, fanOut: 1 });
    expect(computeFans([64])).toEqual({ fanIn: 64, fanOut: 64 });
  });

  it('names the rule for shapes that have no fans', () => {
    expect(() => computeFans([3, 0])).toThrow(
      new GradStabError('computeFans: shape must be an array of whole numbers > 0, got [3,0].'),
    );
    expect(() => computeFans([2.5])).toThrow('got [2.5].');
    expect(() => computeFans([2, 2], 'nchw' as never)).toThrow(
      "computeFans: layout must be 'tfjs', 'pytorch' or 'depthwise', got \"nchw\".",
    );
  });
});

describe('calculateGain and computeFans: no NaN or 0 out of bad input (issue 13)', () => {
  it('a slope whose square overflows would make the gain 0', () => {
    expect(() => calculateGain('leakyRelu', 1e200)).toThrow(
      new GradStabError(
        'calculateGain: param (negative slope) must be at most 1e154 in magnitude (so that the gain is finite and > 0), got 1e+200.',
      ),
    );
    expect(calculateGain('leakyRelu', -1e150)).toBeGreaterThan(0);
  });

  it.each([
    [new Array(2), '[<empty>,<empty>]'],
    [[3, Number.NaN], '[3,NaN]'],
    [[3, -2], '[3,-2]'],
    [[3, 1.5], '[3,1.5]'],
    [[3, '4'], '[3,"4"]'],
  ])('computeFans(%o): holes, NaN, negatives and non-integers are errors, not NaN fans', (shape, shown) => {
    expect(() => computeFans(shape as never)).toThrow(
      new GradStabError(`computeFans: shape must be an array of whole numbers > 0, got ${shown}.`),
    );
  });

  it('refuses a shape whose size is not a safe integer', () => {
    expect(() => computeFans([1e10, 1e10])).toThrow(
      new GradStabError(
        'computeFans: shape must describe at most 9007199254740991 values, got [10000000000,10000000000].',
      ),
    );
  });
});
