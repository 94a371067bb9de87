import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCpu } from '../helpers/tf.js';
import { checkZooCase, ZOO, type ZooOutcome } from '../helpers/zoo.js';

// The zoo of faulty and healthy networks (test/helpers/zoo.ts), each diagnosed on cpu with the default budget
// (100 steps per trial), then its winning prescription trained for the case's budget beside the known-good
// configuration. The targets: the right finding on every faulty network, none on the healthy ones, and
// the winner within 20% of the known-good loss on at least 90% of the faulty ones.
describe('the diagnosis zoo', () => {
  const outcomes: ZooOutcome[] = [];
  beforeAll(useCpu);

  for (const c of ZOO) {
    it(c.name, { timeout: 240_000 }, async () => {
      const before = tf.memory().numTensors;
      const outcome = await checkZooCase(c);
      outcomes.push(outcome);
      expect(tf.memory().numTensors).toBe(before);
      expect(outcome.rightFinding, outcome.summary).toBe(true);
      if (c.expected.length === 0) {
        expect(outcome.healthy, outcome.summary).toBe(true);
      } else {
        expect(outcome.winner, outcome.summary).not.toBeNull();
      }
    });
  }

  afterAll(() => {
    const faulty = outcomes.filter((o) => o.fixed !== null);
    if (faulty.length < ZOO.filter((c) => c.expected.length > 0).length) return; // a case failed above
    const fixed = faulty.filter((o) => o.fixed).length;
    const table = faulty.map((o) => `${o.name}: ${o.winner} ${o.fixedLoss} vs known-good ${o.knownGoodLoss}`);
    expect(fixed / faulty.length, table.join('\n')).toBeGreaterThanOrEqual(0.9);
  });
});
