/**
 * A small benchmark harness for side-by-side comparisons in one process.
 *
 * Each variant is a step function whose setup is already done. The harness warms every variant up, counts the
 * blocking reads and the tensors left behind per step, then runs `rounds` rounds; each round times one block of
 * `stepsPerBlock` steps of every variant, in an order that is reversed every other round so that slow drift
 * (thermal, GC pressure, other processes) cancels out of the ratios. A block ends with the variant's `sync()`,
 * an async read that depends on the last step, so the backend's work is inside the timed block.
 *
 * Only ratios measured side by side are claims; absolute milliseconds are context (this machine is noisy).
 */
import * as tf from '@tensorflow/tfjs';
import { fullGC, installReadCounter, type KernelProfile, profileStep, runSteps } from './instrument.js';
import { type RatioStats, ratioStats, type Spread, spread, type Verdict, verdict } from './stats.js';

export * from './instrument.js';
export * from './report.js';
export * from './stats.js';

/** One contender: a step function with its setup done. */
export interface Variant {
  /** Short name shown in the tables. */
  readonly name: string;
  /** One training step. May be async; must not leave tensors behind (the harness reports if it does). */
  step(): void | Promise<void>;
  /**
   * Waits until the backend has finished the work of the steps run so far, with an async read of something the
   * last step produced (e.g. the last bias). Defaults to reading a fresh scalar.
   */
  sync?(): Promise<void>;
  /** Extra per-variant figures gathered by the bench (shown in the tables), e.g. how often a clip was active. */
  extra?(): Record<string, string>;
}

/** What to run. */
export interface BenchConfig {
  /** Short id, unique within a suite, e.g. `mlp-6x256`. */
  readonly id: string;
  /** One-line description. */
  readonly title: string;
  readonly baseline: Variant;
  readonly candidates: readonly Variant[];
  /** Target ratio (candidate / baseline) by candidate name; candidates without one are shown for context. */
  readonly targets?: Readonly<Record<string, number>>;
  /**
   * Targets on what a candidate adds to another one, by candidate name: per round, (candidate ms - `over` ms) /
   * baseline ms, i.e. the extra cost in units of a baseline step (e.g. "monitor + clip <= clip + 0.01").
   */
  readonly excessTargets?: Readonly<Record<string, { readonly over: string; readonly target: number }>>;
  /** Steps of each variant before anything is measured. Defaults to 5. */
  readonly warmup?: number;
  readonly rounds: number;
  readonly stepsPerBlock: number;
  /**
   * A round is dropped and run again when a block got less than this share of one CPU core (process CPU time
   * over wall time), i.e. when other processes took the core away; at most `rounds` extra rounds are tried, and
   * then the last ones are kept whatever their share. Defaults to 0.85.
   */
  readonly minCpuShare?: number;
  /** Untimed rounds run first, exactly like the timed ones (JIT and allocator settle). Defaults to 1. */
  readonly warmupRounds?: number;
  /** Steps of each variant run while counting reads and tensors. Defaults to `stepsPerBlock` (at least 3). */
  readonly countSteps?: number;
  /** Profiles one step of each variant with `tf.profile` (kernel counts and times). Defaults to true. */
  readonly profile?: boolean;
  /** Runs a full GC before every block when the runtime allows it. Defaults to true. */
  readonly gcBetweenBlocks?: boolean;
  /** Progress output; defaults to nothing. */
  readonly log?: (line: string) => void;
}

export interface VariantResult {
  readonly name: string;
  readonly baseline: boolean;
  /** Milliseconds per step, per block, over rounds. */
  readonly msPerStep: Spread;
  /** Per-round ratio against the baseline (absent for the baseline). */
  readonly ratio?: RatioStats;
  readonly target?: number;
  /**
   * `met` when the whole interval is at or under the target, `missed` when it is wholly above, else `unclear`
   * (always `unclear` with fewer than {@link MIN_ROUNDS_FOR_VERDICT} rounds).
   */
  readonly verdict?: Verdict;
  /** What the candidate adds to another one, in baseline steps (from {@link BenchConfig.excessTargets}). */
  readonly excess?: {
    readonly over: string;
    readonly stats: RatioStats;
    readonly target: number;
    readonly verdict: Verdict;
  };
  /** Blocking reads (`readSync` not nested in an async `read`) per step. */
  readonly syncReadsPerStep: number;
  /** Async reads (`read`, i.e. `data()`) per step. */
  readonly asyncReadsPerStep: number;
  /** Change of `tf.memory().numTensors` per step after warm-up (0 = no leak). */
  readonly tensorsLeakedPerStep: number;
  /** Change of `tf.memory().numBytes` per step after warm-up. */
  readonly bytesLeakedPerStep: number;
  /** Kernels launched by one step, and the costliest ones (from {@link profileStep}); absent if not profiled. */
  readonly profile?: KernelProfile;
  readonly extra: Readonly<Record<string, string>>;
}

export interface BenchResult {
  readonly id: string;
  readonly title: string;
  readonly backend: string;
  readonly warmup: number;
  readonly warmupRounds: number;
  /** Rounds kept. */
  readonly rounds: number;
  /** Rounds dropped because another process took the CPU during one of their blocks. */
  readonly droppedRounds: number;
  readonly stepsPerBlock: number;
  readonly countSteps: number;
  readonly variants: readonly VariantResult[];
  /** Wall time of the whole comparison, seconds. */
  readonly seconds: number;
}

async function defaultSync(): Promise<void> {
  const t = tf.scalar(0);
  await t.data();
  t.dispose();
}

async function sync(v: Variant): Promise<void> {
  await (v.sync ? v.sync() : defaultSync());
}

export async function runBench(config: BenchConfig): Promise<BenchResult> {
  const started = performance.now();
  const log = config.log ?? (() => {});
  const warmup = config.warmup ?? 5;
  const countSteps = Math.max(3, config.countSteps ?? config.stepsPerBlock);
  const gc = config.gcBetweenBlocks ?? true;
  const variants = [config.baseline, ...config.candidates];
  const names = new Set(variants.map((v) => v.name));
  if (names.size !== variants.length) throw new Error(`runBench(${config.id}): variant names must be unique`);

  for (const v of variants) {
    await runSteps(v, warmup);
    await sync(v);
  }

  // Reads and leaks, outside the timed blocks (the counter's wrappers cost a little).
  const counted = new Map<string, { sync: number; async: number; tensors: number; bytes: number }>();
  for (const v of variants) {
    await sync(v);
    const before = tf.memory();
    const counter = installReadCounter();
    try {
      await runSteps(v, countSteps);
    } finally {
      counter.uninstall();
    }
    await sync(v);
    const after = tf.memory();
    counted.set(v.name, {
      sync: counter.syncReads / countSteps,
      async: counter.asyncReads / countSteps,
      tensors: (after.numTensors - before.numTensors) / countSteps,
      bytes: (after.numBytes - before.numBytes) / countSteps,
    });
  }

  const profiles = new Map<string, KernelProfile>();
  if (config.profile ?? true) {
    for (const v of variants) {
      profiles.set(v.name, await profileStep(v));
      await sync(v);
    }
  }

  const blockMs = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const warmupRounds = config.warmupRounds ?? 1;
  const minShare = config.minCpuShare ?? 0.85;
  const maxAttempts = warmupRounds + config.rounds * 2;
  let clean = 0;
  let dropped = 0;
  for (let attempt = 0; clean < config.rounds && attempt < maxAttempts; attempt++) {
    const warm = attempt < warmupRounds;
    // The order depends on the number of rounds kept, so that a dropped round is rerun in the same order.
    const order = clean % 2 === 0 ? variants : [...variants].reverse();
    const times = new Map<string, number>();
    let share = Number.POSITIVE_INFINITY;
    for (const v of order) {
      if (gc) fullGC();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await runSteps(v, config.stepsPerBlock);
      await sync(v);
      const t1 = performance.now();
      const cpu = process.cpuUsage(cpu0);
      share = Math.min(share, (cpu.user + cpu.system) / 1000 / (t1 - t0));
      times.set(v.name, (t1 - t0) / config.stepsPerBlock);
    }
    if (warm) continue;
    const lastChance = maxAttempts - attempt <= config.rounds - clean;
    const keep = share >= minShare || lastChance;
    log(
      `  ${keep ? `round ${clean + 1}/${config.rounds}` : 'dropped round'} (cpu share ${share.toFixed(2)}): ` +
        variants.map((v) => `${v.name} ${(times.get(v.name) ?? Number.NaN).toFixed(2)}`).join(', ') +
        ' ms/step',
    );
    if (!keep) {
      dropped++;
      continue;
    }
    for (const v of variants) blockMs.get(v.name)?.push(times.get(v.name) ?? Number.NaN);
    clean++;
  }

  const base = blockMs.get(config.baseline.name) ?? [];
  const results: VariantResult[] = variants.map((v, i) => {
    const ms = blockMs.get(v.name) ?? [];
    const c = counted.get(v.name) ?? { sync: Number.NaN, async: Number.NaN, tensors: Number.NaN, bytes: Number.NaN };
    const common = {
      name: v.name,
      baseline: i === 0,
      msPerStep: spread(ms),
      syncReadsPerStep: c.sync,
      asyncReadsPerStep: c.async,
      tensorsLeakedPerStep: c.tensors,
      bytesLeakedPerStep: c.bytes,
      ...(profiles.has(v.name) ? { profile: profiles.get(v.name) as KernelProfile } : {}),
      extra: v.extra?.() ?? {},
    };
    if (i === 0) return common;
    const ratio = ratioStats(ms.map((m, r) => m / (base[r] as number)));
    const target = config.targets?.[v.name];
    const excessTarget = config.excessTargets?.[v.name];
    const overMs = excessTarget && blockMs.get(excessTarget.over);
    if (excessTarget && !overMs) throw new Error(`runBench(${config.id}): no variant named ${excessTarget.over}`);
    const excessStats = overMs && ratioStats(ms.map((m, r) => (m - (overMs[r] as number)) / (base[r] as number)));
    return {
      ...common,
      ratio,
      ...(target === undefined ? {} : { target, verdict: verdict(ratio, target) }),
      ...(excessTarget && excessStats
        ? {
            excess: {
              over: excessTarget.over,
              stats: excessStats,
              target: excessTarget.target,
              verdict: verdict(excessStats, excessTarget.target),
            },
          }
        : {}),
    };
  });

  return {
    id: config.id,
    title: config.title,
    backend: tf.getBackend(),
    warmup,
    warmupRounds,
    rounds: clean,
    droppedRounds: dropped,
    stepsPerBlock: config.stepsPerBlock,
    countSteps,
    variants: results,
    seconds: (performance.now() - started) / 1000,
  };
}
