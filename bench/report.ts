/** Text and markdown tables of the harness's results. */
import type { BenchResult, VariantResult } from './harness.js';
import type { RatioStats } from './stats.js';

const fmt = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : String(x));
const fmtCount = (x: number): string => (Number.isInteger(x) ? String(x) : x.toFixed(2));

function ratioCell(r: RatioStats | undefined): string {
  if (!r) return '1 (baseline)';
  return `${fmt(r.median, 3)} [${fmt(r.ci95[0], 3)}, ${fmt(r.ci95[1], 3)}]`;
}

function iqrCell(r: RatioStats | undefined): string {
  return r ? `${fmt(r.q25, 3)} to ${fmt(r.q75, 3)}` : '';
}

function leakCell(v: VariantResult): string {
  if (v.tensorsLeakedPerStep === 0 && v.bytesLeakedPerStep === 0) return 'none';
  return `${fmtCount(v.tensorsLeakedPerStep)} tensors/step (${fmtCount(v.bytesLeakedPerStep)} B/step)`;
}

function targetCell(v: VariantResult): string {
  return v.target === undefined ? '' : `<= ${v.target}: ${v.verdict}`;
}

const signed = (x: number): string => (x >= 0 ? `+${fmt(x, 3)}` : fmt(x, 3));

/** What a candidate adds to another one, in baseline steps, with its target. */
function excessCell(v: VariantResult): string {
  const e = v.excess;
  if (!e) return '';
  return (
    `${signed(e.stats.median)} [${signed(e.stats.ci95[0])}, ${signed(e.stats.ci95[1])}] over ${e.over}; ` +
    `<= +${e.target}: ${e.verdict}`
  );
}

function rows(result: BenchResult): string[][] {
  const extraKeys = [...new Set(result.variants.flatMap((v) => Object.keys(v.extra)))];
  const excess = result.variants.some((v) => v.excess);
  const header = [
    'variant',
    'ms/step (median, IQR)',
    'ratio vs baseline [95% CI]',
    'ratio IQR',
    'target',
    ...(excess ? ['extra cost in baseline steps [95% CI]'] : []),
    'blocking reads/step',
    'async reads/step',
    'leak',
    'kernels/step',
    ...extraKeys,
  ];
  const body = result.variants.map((v) => [
    v.name,
    `${fmt(v.msPerStep.median)} (${fmt(v.msPerStep.q25)} to ${fmt(v.msPerStep.q75)})`,
    ratioCell(v.ratio),
    iqrCell(v.ratio),
    targetCell(v),
    ...(excess ? [excessCell(v)] : []),
    fmtCount(v.syncReadsPerStep),
    fmtCount(v.asyncReadsPerStep),
    leakCell(v),
    v.profile ? fmtCount(v.profile.kernels) : '',
    ...extraKeys.map((k) => v.extra[k] ?? ''),
  ]);
  return [header, ...body];
}

/** A plain-text table for the terminal. */
export function formatTable(result: BenchResult): string {
  const table = rows(result);
  const widths = (table[0] ?? []).map((_, c) => Math.max(...table.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((cell, c) => cell.padEnd(widths[c] ?? 0))
      .join('  ')
      .trimEnd();
  const [header, ...body] = table;
  const head =
    `${result.id} on ${result.backend}: ${result.title}\n` +
    `  ${result.rounds} rounds x ${result.stepsPerBlock} steps/block, warm-up ${result.warmup} steps + ` +
    `${result.warmupRounds} round, ${result.droppedRounds} round(s) dropped for CPU contention, ` +
    `${result.seconds.toFixed(1)} s`;
  return [
    head,
    line(header ?? []),
    line((header ?? []).map((_, c) => '-'.repeat(widths[c] ?? 0))),
    ...body.map(line),
  ].join('\n');
}

/** A markdown table (with a caption line) for the docs. */
export function markdownTable(result: BenchResult): string {
  const table = rows(result);
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const [header, ...body] = table;
  const line = (r: string[]) => `| ${r.map(esc).join(' | ')} |`;
  return [
    `**${result.id}** on \`${result.backend}\`: ${result.title} ` +
      `(${result.rounds} rounds x ${result.stepsPerBlock} steps per block, after ${result.warmup} warm-up steps ` +
      `and ${result.warmupRounds} untimed round; ${result.droppedRounds} round(s) dropped for CPU contention; ` +
      `reads and leaks counted over ${result.countSteps} steps)`,
    '',
    line(header ?? []),
    line((header ?? []).map(() => '---')),
    ...body.map(line),
  ].join('\n');
}
