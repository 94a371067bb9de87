import { fail } from '../internal/validate.js';
import type { NormType } from './types.js';

/** Accepts 1, 2, 'inf' (and Infinity or 'Infinity', as PyTorch users write it). */
export function parseNormType(fn: string, value: unknown): NormType {
  if (value === undefined || value === 2) return 2;
  if (value === 1) return 1;
  if (value === 'inf' || value === Number.POSITIVE_INFINITY || value === 'Infinity') return 'inf';
  return fail(fn, "normType must be 1, 2 or 'inf'", value);
}
