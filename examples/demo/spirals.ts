import * as tf from '@tensorflow/tfjs';

/** A labelled point set: inputs `[n, 2]`, labels `[n, 1]` (0 or 1). */
export interface Points {
  readonly x: tf.Tensor2D;
  readonly y: tf.Tensor2D;
}

/** mulberry32: a small seeded generator, so the data is the same on every backend and machine. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Two interleaved spirals in the plane (label 0 and 1, half each), `turns` turns from the centre to radius 1, with
 * Gaussian noise of standard deviation `noise`. Built on the host from `seed`, so every backend trains on the same
 * points.
 */
export function spirals(n: number, seed: number, turns = 1, noise = 0.04): Points {
  const next = random(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const xs = new Float32Array(2 * n);
  const ys = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    const t = Math.sqrt(next()); // more points on the outer, longer part of the arm
    const angle = 2 * Math.PI * turns * t + Math.PI * label;
    xs[2 * i] = t * Math.cos(angle) + noise * gauss();
    xs[2 * i + 1] = t * Math.sin(angle) + noise * gauss();
    ys[i] = label;
  }
  return { x: tf.tensor2d(xs, [n, 2]), y: tf.tensor2d(ys, [n, 1]) };
}
