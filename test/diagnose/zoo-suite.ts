import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useCpu } from '../helpers/tf.js';
import { checkZooCase, type ZooCase } from '../helpers/zoo.js';

/**
 * Diagnoses cases of the zoo (test/helpers/zoo.ts) on cpu with the default budget (100 steps per trial): the
 * right finding on every faulty network, with a verified prescription; none on the healthy ones; no tensor left.
 * Whether the winner then reaches the known-good loss over a longer budget is the benchmark's measurement
 * (`npm run bench:diagnose`), too slow for the cpu test run.
 */
export function zooSuite(title: string, cases: readonly ZooCase[]): void {
  describe(title, () => {
    beforeAll(useCpu);
    for (const c of cases) {
      it(c.name, { timeout: 240_000 }, async () => {
        const before = tf.memory().numTensors;
        const outcome = await checkZooCase(c, {}, false);
        expect(tf.memory().numTensors).toBe(before);
        expect(outcome.rightFinding, outcome.summary).toBe(true);
        if (c.expected.length === 0) {
          expect(outcome.healthy, outcome.summary).toBe(true);
        } else {
          expect(outcome.winner, outcome.summary).not.toBeNull();
        }
      });
    }
  });
}
