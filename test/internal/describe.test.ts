import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { GradStabError } from '../../src/index.js';
import { describeValue } from '../../src/internal/describe.js';
import { fail } from '../../src/internal/validate.js';

describe('describeValue (how errors show the offending value)', () => {
  it.each([
    ['x', '"x"'],
    [-1, '-1'],
    [Number.NaN, 'NaN'],
    [null, 'null'],
    [undefined, 'undefined'],
    [[1, 2], 'an array of length 2'],
    [{ min: 2, max: 1 }, '{"min":2,"max":1}'],
    [new Map(), 'an instance of Map'],
    [function named() {}, 'a function (named)'],
  ])('%o -> %s', (value, shown) => expect(describeValue(value)).toBe(shown));

  it('shows tensors by shape and dtype, never their values', () => {
    expect(describeValue(tf.zeros([2, 3], 'int32'))).toBe('a tensor of shape [2,3] and dtype int32');
  });

  it('fail throws a GradStabError in the house format', () => {
    expect(() => fail('fn', 'x must be > 0', -1)).toThrow(new GradStabError('fn: x must be > 0, got -1.'));
    expect(() => fail('fn', 'x must be > 0', -1)).toThrow(expect.objectContaining({ name: 'GradStabError' }));
  });
});
