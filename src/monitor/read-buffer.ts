import * as tf from '@tensorflow/tfjs-core';

/** Buffers kept alive between reads: the one steps append to, and one idle for when it goes to be read. */
const KEPT = 2;

/**
 * The device buffer that steps append their packed figures to until a read, with a constant number of tensors.
 * Each append replaces the buffer by itself plus the new figures (one tensor in, one out); a read takes the
 * buffer as it is (no copy) and appending goes on in an idle one; when the read is done, the read buffer is
 * replaced by a new empty idle one. So `tf.memory().numTensors` is the same after every step, read or not, as
 * tfjs-examples' training loops check per batch. Only while more reads are in flight than buffers are kept (a loop
 * that never yields to the event loop) does one more buffer exist per extra read, freed when it resolves.
 */
export class ReadBuffer {
  private current: tf.Tensor1D | undefined;
  private readonly idle: tf.Tensor1D[] = [];
  /** Buffers alive: the current one, the idle ones and those being read. */
  private alive = 0;
  private disposed = false;

  /** Whether a step was appended since the last take (an empty gradient map appends nothing, and is read). */
  private appended = false;

  /**
   * Appends one step's figures, and takes `packed` over (it must be a tensor of its own, not one shared). The
   * buffers are made at the first append.
   */
  append(packed: tf.Tensor1D): void {
    if (!this.current) {
      this.current = this.fresh();
      while (this.alive < KEPT) this.idle.push(this.fresh());
    }
    const old = this.current;
    this.current = tf.keep(old.size === 0 ? packed : tf.concat([old, packed]));
    if (this.current !== packed) packed.dispose();
    old.dispose();
    this.appended = true;
  }

  /**
   * The buffer with every figure appended since the last take, to be read; appending goes on in an idle buffer.
   * Call {@link ReadBuffer.release} with it when its read is done.
   */
  take(): tf.Tensor1D | undefined {
    const taken = this.current;
    if (!taken || !this.appended) return undefined;
    this.appended = false;
    this.current = this.idle.pop() ?? this.fresh();
    return taken;
  }

  /** Frees a buffer whose read is done, and makes an idle one if fewer than two are kept. */
  release(taken: tf.Tensor1D): void {
    taken.dispose();
    this.alive--;
    if (!this.disposed && this.alive < KEPT) this.idle.push(this.fresh());
  }

  /** Frees the buffers not being read (those are freed by {@link ReadBuffer.release}). */
  dispose(): void {
    this.disposed = true;
    for (const t of [this.current, ...this.idle]) {
      if (t) {
        t.dispose();
        this.alive--;
      }
    }
    this.current = undefined;
    this.idle.length = 0;
  }

  private fresh(): tf.Tensor1D {
    this.alive++;
    return tf.keep(tf.zeros([0]));
  }
}
