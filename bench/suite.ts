/** The shape of a benchmark file (`bench/*.bench.ts`): its default export is a {@link BenchSuite}. */
import type { BackendName } from './backends.js';
import type { BenchResult } from './harness.js';

/** What `bench/run.ts` passes to a suite. */
export interface SuiteContext {
  readonly backend: BackendName;
  /** A smaller, faster run (fewer rounds and steps): a smoke test, not for the docs. */
  readonly quick: boolean;
  /** Overrides the suite's number of rounds. */
  readonly rounds?: number;
  /** Overrides the suite's steps per block. */
  readonly steps?: number;
  /** Progress output (to stderr). */
  readonly log: (line: string) => void;
}

export interface BenchSuite {
  /** Names the markdown block `<!-- bench:<id>:start -->` ... `<!-- bench:<id>:end -->`. */
  readonly id: string;
  readonly title: string;
  /** Markdown: what is measured and how (goes at the top of the generated block). */
  readonly description: string;
  run(ctx: SuiteContext): Promise<BenchResult[]>;
}
