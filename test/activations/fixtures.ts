import { readFileSync } from 'node:fs';

/** One activation evaluated by PyTorch on every input of {@link ActivationFixtures.x}. */
export interface ActivationCase {
  /** The torch call, e.g. `elu(alpha=0.5)`. */
  name: string;
  /** The gradstab function that should give the same numbers. */
  fn: 'relu' | 'leakyRelu' | 'elu' | 'selu' | 'gelu' | 'silu';
  /** Its options (`alpha`, `approximate`). */
  options: Record<string, number | boolean>;
  /** f(x), float32. */
  values: number[];
  /** d sum(f(x)) / dx, float32. */
  grads: number[];
}

export interface ActivationFixtures {
  torch: string;
  x: number[];
  cases: ActivationCase[];
}

/** Reference values made by test/fixtures/make_activation_fixtures.py from PyTorch. */
export function activationFixtures(): ActivationFixtures {
  return JSON.parse(readFileSync(new URL('../fixtures/activations.json', import.meta.url), 'utf8'));
}
