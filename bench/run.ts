/**
 * Runs the benchmarks in `bench/*.bench.ts`.
 *
 *   npm run bench                                   # every suite, cpu and wasm
 *   npm run bench -- clipping --backend wasm        # suites whose file name starts with "clipping", wasm only
 *   npm run bench -- --quick                        # a smoke run (fewer rounds and steps)
 *   npm run bench -- --rounds 20 --steps 10         # override the suites' sizes
 *   npm run bench -- --write docs/benchmarks.md     # also rewrite each suite's block in that markdown file
 *   npm run bench -- --profile                      # also print the costliest kernels of each variant
 *
 * Tables go to stdout, progress to stderr. With `--write`, the text between `<!-- bench:<id>:start -->` and
 * `<!-- bench:<id>:end -->` is replaced (the block is appended when the markers are missing); the rest of the
 * file is left as it is.
 */

import { readdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { BACKENDS, type BackendName, describeBackend, useBackend } from './backends.js';
import { type BenchResult, formatTable, markdownTable } from './harness.js';
import { writeBlock } from './markdown-block.js';
import type { BenchSuite } from './suite.js';

interface Args {
  backends: BackendName[];
  rounds?: number;
  steps?: number;
  quick: boolean;
  write?: string;
  profile: boolean;
  filters: string[];
}

const USAGE =
  'usage: npm run bench -- [name-filter...] [--backend cpu|wasm|all] [--rounds N] [--steps N] [--quick] ' +
  '[--write FILE.md] [--profile]';

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { backends: [...BACKENDS], quick: false, profile: false, filters: [] };
  const positiveInt = (flag: string, value: string | undefined): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer, got ${value}\n${USAGE}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? a.split('=', 2) : [a, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--backend': {
        const b = value();
        if (b === 'all') args.backends = [...BACKENDS];
        else if ((BACKENDS as readonly string[]).includes(b ?? '')) args.backends = [b as BackendName];
        else throw new Error(`--backend must be cpu, wasm or all, got ${b}\n${USAGE}`);
        break;
      }
      case '--rounds':
        args.rounds = positiveInt('--rounds', value());
        break;
      case '--steps':
        args.steps = positiveInt('--steps', value());
        break;
      case '--quick':
        args.quick = true;
        break;
      case '--profile':
        args.profile = true;
        break;
      case '--write': {
        const file = value();
        if (!file) throw new Error(`--write needs a file\n${USAGE}`);
        args.write = file;
        break;
      }
      case '--help':
      case '-h':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        if (a.startsWith('-')) throw new Error(`unknown option ${a}\n${USAGE}`);
        args.filters.push(a);
    }
  }
  return args;
}

async function loadSuites(filters: readonly string[]): Promise<{ file: string; suite: BenchSuite }[]> {
  const dir = path.dirname(fileURLToPath(import.meta.url));
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => filters.length === 0 || filters.some((q) => f.startsWith(q)))
    .sort();
  const out: { file: string; suite: BenchSuite }[] = [];
  for (const file of files) {
    const mod = (await import(pathToFileURL(path.join(dir, file)).href)) as { default?: BenchSuite };
    if (!mod.default || typeof mod.default.run !== 'function') {
      throw new Error(`${file} must export default a BenchSuite`);
    }
    out.push({ file, suite: mod.default });
  }
  return out;
}

function commandLine(): string {
  return `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim().replace(/ --$/, '');
}

function environment(backendNotes: readonly string[], load: readonly [number[], number[]]): string {
  const cpu = cpus();
  const fmtLoad = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  return [
    `- Command: \`${commandLine()}\``,
    `- Date: ${new Date().toISOString().slice(0, 10)}`,
    `- Machine: ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}), ${process.platform} ${process.arch}`,
    `- Node ${process.version}, @tensorflow/tfjs ${tf.version.tfjs}; backends: ${backendNotes.join(', ')}`,
    `- Load average (1, 5, 15 min) before: ${fmtLoad(load[0])}; after: ${fmtLoad(load[1])} ` +
      '(other processes on the machine add noise to every figure)',
  ].join('\n');
}

function verdictLines(results: readonly BenchResult[]): string[] {
  const lines: string[] = [];
  for (const r of results) {
    for (const v of r.variants) {
      const kernels = v.profile ? `, ${Number(v.profile.kernels.toFixed(2))} kernels/step` : '';
      if (v.target !== undefined && v.ratio) {
        lines.push(
          `- ${r.id} on ${r.backend}: ${v.name} / baseline = ${v.ratio.median.toFixed(3)} ` +
            `[${v.ratio.ci95[0].toFixed(3)}, ${v.ratio.ci95[1].toFixed(3)}], target <= ${v.target}: ` +
            `**${v.verdict}**${kernels}`,
        );
      }
      const e = v.excess;
      if (e) {
        lines.push(
          `- ${r.id} on ${r.backend}: ${v.name} - ${e.over} = ${e.stats.median.toFixed(3)} ` +
            `[${e.stats.ci95[0].toFixed(3)}, ${e.stats.ci95[1].toFixed(3)}] baseline steps, target <= ${e.target}: ` +
            `**${e.verdict}**${kernels}`,
        );
      }
    }
  }
  return lines;
}

function profileLines(r: BenchResult, top = 8): string {
  const lines = [`${r.id} on ${r.backend}: costliest kernels in one step (tf.profile)`];
  for (const v of r.variants) {
    if (!v.profile) continue;
    const p = v.profile;
    lines.push(`  ${v.name}: ${p.kernels} kernels, ${p.kernelMs.toFixed(2)} ms in kernels`);
    for (const k of p.byKernel.slice(0, top)) {
      lines.push(`    ${k.name.padEnd(24)} x${String(k.count).padEnd(5)} ${k.ms.toFixed(2)} ms`);
    }
  }
  return lines.join('\n');
}

function suiteMarkdown(
  suite: BenchSuite,
  results: readonly BenchResult[],
  backendNotes: readonly string[],
  load: readonly [number[], number[]],
  quick: boolean,
): string {
  return [
    `<!-- bench:${suite.id}:start -->`,
    '<!-- generated by bench/run.ts: edits between these markers are overwritten -->',
    `### ${suite.title}`,
    '',
    ...(quick ? ['**Quick run (`--quick`): a smoke test, too few rounds for claims.**', ''] : []),
    suite.description,
    '',
    environment(backendNotes, load),
    '',
    ...results.flatMap((r) => [markdownTable(r), '']),
    'Targets:',
    '',
    ...verdictLines(results),
    `<!-- bench:${suite.id}:end -->`,
  ].join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const suites = await loadSuites(args.filters);
  if (suites.length === 0) throw new Error(`no bench/*.bench.ts matches ${args.filters.join(', ')}`);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const loadBefore = loadavg();
  const bySuite = new Map<string, BenchResult[]>();
  const backendNotes: string[] = [];
  for (const backend of args.backends) {
    await useBackend(backend);
    backendNotes.push(await describeBackend());
    for (const { file, suite } of suites) {
      log(`# ${file} on ${backend}`);
      const results = await suite.run({
        backend,
        quick: args.quick,
        log,
        ...(args.rounds !== undefined ? { rounds: args.rounds } : {}),
        ...(args.steps !== undefined ? { steps: args.steps } : {}),
      });
      for (const r of results) {
        console.log(`${formatTable(r)}\n`);
        if (args.profile) console.log(`${profileLines(r)}\n`);
      }
      bySuite.set(suite.id, [...(bySuite.get(suite.id) ?? []), ...results]);
    }
  }
  const load: [number[], number[]] = [loadBefore, loadavg()];
  for (const { suite } of suites) {
    // Group by benchmark (in the order the suite runs them), then by backend (in the order given).
    const all = bySuite.get(suite.id) ?? [];
    const ids = [...new Set(all.map((r) => r.id))];
    const results = ids.flatMap((id) => all.filter((r) => r.id === id));
    const lines = verdictLines(results);
    if (lines.length > 0) console.log(`${suite.id} targets:\n${lines.join('\n').replace(/\*\*/g, '')}\n`);
    if (args.write) {
      writeBlock(args.write, suite.id, suiteMarkdown(suite, results, backendNotes, load, args.quick));
      log(`wrote the ${suite.id} block of ${args.write}`);
    }
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
