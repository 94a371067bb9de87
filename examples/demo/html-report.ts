import {
  DIAGNOSE_HEADERS,
  type DiagnoseOutcome,
  diagnoseIntro,
  diagnoseRow,
  layerList,
  verifiedText,
} from './diagnose-section.js';
import { formatLoss } from './progress.js';
import type { TrainingSettings } from './train.js';

/** One configuration's section of the report. */
export interface ReportSection {
  readonly id: string;
  readonly title: string;
  readonly story: string;
  /** Training loss after each step. */
  readonly losses: readonly number[];
  /** The monitor's chart (gradstab's renderGradientHealthSvg), an inline `<svg>`. */
  readonly chartSvg: string;
  readonly verdicts: string;
}

/** Everything the report shows. */
export interface ReportContent {
  readonly backend: string;
  readonly settings: TrainingSettings;
  readonly headers: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** The He et al. 2015 comparison, one paragraph. */
  readonly findings: readonly string[];
  readonly sections: readonly ReportSection[];
  /** The last section: `diagnose()` on the configurations that do not train, `steps` per trial (absent: none). */
  readonly diagnose?: { readonly steps: number; readonly outcomes: readonly DiagnoseOutcome[] };
}

export const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/**
 * The training loss per step as an inline SVG line chart, drawn by hand so that the report needs nothing but the
 * browser. The x axis spans the planned `steps` (a run that stopped early ends early); the y axis runs from 0 to the
 * largest finite loss, at most 2: higher losses are drawn at the top, and a note gives the largest. Steps after the
 * loss turned NaN are not drawn; a red mark shows where that happened.
 */
export function lossCurveSvg(losses: readonly number[], steps = losses.length, width = 640, height = 160): string {
  const pad = { left: 44, right: 12, top: 10, bottom: 26 };
  const w = width - pad.left - pad.right;
  const h = height - pad.top - pad.bottom;
  const finite = losses.filter(Number.isFinite);
  const highest = Math.max(0, ...finite);
  const top = Math.min(2, Math.max(0.1, highest));
  const span = Math.max(steps, losses.length, 2) - 1;
  const x = (i: number) => pad.left + (w * i) / span;
  const y = (v: number) => pad.top + h * (1 - Math.min(v, top) / top);
  const points: string[] = [];
  let broken = -1;
  for (let i = 0; i < losses.length; i++) {
    const v = losses[i] as number;
    if (!Number.isFinite(v)) {
      broken = i;
      break;
    }
    points.push(`${x(i).toFixed(1)},${y(v).toFixed(1)}`);
  }
  const ticks = [0, top / 2, top]
    .map(
      (t) =>
        `<line x1="${pad.left - 4}" x2="${pad.left + w}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/>` +
        `<text x="${pad.left - 6}" y="${y(t) + 4}" text-anchor="end">${t.toPrecision(2)}</text>`,
    )
    .join('');
  // Labels near the right edge end at their mark instead of running off the chart.
  const label = (at: number, text: string, color: string) =>
    at > pad.left + w / 2
      ? `<text x="${at - 4}" y="${pad.top + 12}" text-anchor="end" fill="${color}">${text}</text>`
      : `<text x="${at + 4}" y="${pad.top + 12}" fill="${color}">${text}</text>`;
  const nanMark =
    broken < 0
      ? ''
      : `<line x1="${x(broken)}" x2="${x(broken)}" y1="${pad.top}" y2="${pad.top + h}" stroke="#e41a1c" stroke-width="2"/>` +
        label(x(broken), `NaN from step ${broken + 1}`, '#e41a1c');
  const offScale =
    highest > top ? label(pad.left + w, `off scale above ${top}: up to ${highest.toPrecision(3)}`, '#555') : '';
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11" role="img" aria-label="training loss per step">`,
    ticks,
    `<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="${points.join(' ')}"/>`,
    nanMark,
    broken < 0 ? offScale : '',
    `<text x="${pad.left + w / 2}" y="${height - 6}" text-anchor="middle">step (1 to ${steps}); training loss</text>`,
    '</svg>',
  ].join('');
}

/** One line of {@link lossCurvesSvg}. */
export interface LossSeries {
  readonly label: string;
  readonly losses: readonly number[];
  readonly color: string;
  /** Drawn dashed (a rejected candidate). */
  readonly dashed?: boolean;
  /** The line's width (default 1.5): wider for a line drawn first, so that one on top of it still shows it. */
  readonly width?: number;
}

/** Round numbers for a linear axis from `lo` to `hi`: about four ticks at 1, 2 or 5 times a power of ten. */
function linearTicks(lo: number, hi: number): number[] {
  const raw = (hi - lo) / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((t) => t >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/**
 * Training-loss curves of several trials in one inline SVG (plain polylines, no script), x over steps 1 to `steps`.
 * The y scale is logarithmic when the finite losses span more than a factor of 10 (a diverging trial), else linear
 * over their range. A trial whose loss turned NaN or Infinity ends there, with a cross at the top of the chart in
 * its colour; the legend names each line and where it ended.
 */
export function lossCurvesSvg(series: readonly LossSeries[], steps: number, width = 640, plotHeight = 200): string {
  const legendRow = 16;
  const pad = { left: 52, right: 12, top: 10, bottom: 30 };
  const w = width - pad.left - pad.right;
  const height = pad.top + plotHeight + pad.bottom + legendRow * series.length + 6;
  const finite = series.flatMap((s) => s.losses.filter(Number.isFinite));
  const highest = finite.length > 0 ? Math.max(...finite) : 1;
  // A diverging trial would squash the others flat: the axis stops at 10 times the highest starting loss, and higher
  // losses are drawn at the top, with a note of the largest.
  const starts = series.map((s) => s.losses.find(Number.isFinite)).filter((v): v is number => v !== undefined);
  const cap = starts.length > 0 ? 10 * Math.max(...starts) : highest;
  let lo = finite.length > 0 ? Math.min(...finite) : 0;
  let hi = Math.min(highest, cap);
  const offScale = highest > hi;
  const log = lo > 0 && hi / lo > 10;
  if (!log) {
    const margin = hi > lo ? 0.05 * (hi - lo) : Math.max(0.01, 0.05 * Math.abs(hi));
    lo -= margin;
    hi += margin;
  }
  const scale = (v: number) => (log ? Math.log10(v) : v);
  const [top, bottom] = [scale(hi), scale(lo)];
  const span = Math.max(steps, 2) - 1;
  const x = (step: number) => pad.left + (w * (step - 1)) / span;
  const y = (v: number) => pad.top + (plotHeight * (top - scale(Math.min(v, hi)))) / (top - bottom || 1);
  let ticks: number[];
  if (log) {
    // Powers of ten (every few when there are many), and 2 and 5 times them when there are few.
    const [first, last] = [Math.floor(Math.log10(lo)), Math.ceil(Math.log10(hi))];
    const every = Math.max(1, Math.ceil((last - first) / 6));
    const mantissas = last - first > 3 ? [1] : [1, 2, 5];
    ticks = [];
    for (let e = first; e <= last; e++) {
      if ((e - first) % every !== 0) continue;
      for (const m of mantissas) if (m * 10 ** e >= lo && m * 10 ** e <= hi) ticks.push(m * 10 ** e);
    }
  } else ticks = linearTicks(lo, hi);
  const tickLabel = (t: number) => (log && t >= 1e4 ? t.toExponential(0) : String(Number(t.toPrecision(3))));
  const grid = ticks
    .map(
      (t) =>
        `<line x1="${pad.left - 4}" x2="${pad.left + w}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#ddd"/>` +
        `<text x="${pad.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${escapeHtml(tickLabel(t))}</text>`,
    )
    .join('');
  const lines = series
    .map((s) => {
      const end = s.losses.findIndex((v) => !Number.isFinite(v));
      const shown = end < 0 ? s.losses : s.losses.slice(0, end);
      const points = shown.map((v, i) => `${x(i + 1).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      const dash = s.dashed ? ' stroke-dasharray="5 3"' : '';
      const cross =
        end < 0
          ? ''
          : `<text x="${x(end + 1).toFixed(1)}" y="${pad.top + 9}" text-anchor="middle" font-size="13" fill="${s.color}">×</text>`;
      return `<polyline fill="none" stroke="${s.color}" stroke-width="${s.width ?? 1.5}"${dash} points="${points}"/>${cross}`;
    })
    .join('');
  const legendTop = pad.top + plotHeight + pad.bottom;
  const legend = series
    .map((s, i) => {
      const ly = legendTop + legendRow * i + 8;
      const end = s.losses.findIndex((v) => !Number.isFinite(v));
      const note = end < 0 ? '' : ` (× not finite from step ${end + 1})`;
      const dash = s.dashed ? ' stroke-dasharray="5 3"' : '';
      return (
        `<line x1="${pad.left}" x2="${pad.left + 24}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>` +
        `<text x="${pad.left + 30}" y="${ly + 4}">${escapeHtml(s.label + note)}</text>`
      );
    })
    .join('');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11" role="img" aria-label="training loss of the diagnosis trials">`,
    `<rect x="${pad.left}" y="${pad.top}" width="${w}" height="${plotHeight}" fill="none" stroke="#bbb"/>`,
    grid,
    lines,
    offScale
      ? `<text x="${pad.left + w - 4}" y="${pad.top + 22}" text-anchor="end" fill="#555">off scale above ${escapeHtml(tickLabel(hi))}: up to ${highest.toPrecision(3)}</text>`
      : '',
    `<text x="${pad.left + w / 2}" y="${pad.top + plotHeight + 22}" text-anchor="middle">step (1 to ${steps}); training loss, ${log ? 'log' : 'linear'} scale</text>`,
    legend,
    '</svg>',
  ].join('');
}

/** The baseline's line colour, and the candidates' in turn. */
const BASELINE_COLOR = '#222';
const PALETTE = ['#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

/** The chart of a diagnosis: the baseline trial and every verified candidate's trial. */
export function diagnosisChart(outcome: DiagnoseOutcome): string {
  const d = outcome.diagnosis;
  const series: LossSeries[] = [
    {
      label: `baseline: the unchanged model (held-out ${formatLoss(d.measurements.heldOutAfter)})`,
      losses: d.measurements.losses,
      color: BASELINE_COLOR,
      width: 3,
    },
  ];
  const add = (list: typeof d.prescriptions, prescribed: boolean) => {
    list.forEach((p, i) => {
      if (!p.verified) return;
      series.push({
        label: `${prescribed ? `#${i + 1} ` : 'rejected: '}${p.kind} (held-out ${formatLoss(p.verified.loss)})`,
        losses: p.verified.losses,
        color: PALETTE[(series.length - 1) % PALETTE.length] as string,
        dashed: !prescribed,
      });
    });
  };
  add(d.prescriptions, true);
  add(d.rejected, false);
  return lossCurvesSvg(series, d.measurements.steps);
}

/** A prescription in the report: what it does, how it did, and its code. */
function prescriptionHtml(
  outcome: DiagnoseOutcome,
  p: DiagnoseOutcome['diagnosis']['prescriptions'][number],
  label: string,
) {
  return `<div class="prescription">
<p><strong>${escapeHtml(label)} ${escapeHtml(p.kind)}</strong>: ${escapeHtml(p.description)}</p>
<p class="verdicts">${escapeHtml(verifiedText(outcome, p))}</p>
<pre><code>${escapeHtml(p.code)}</code></pre>
</div>`;
}

/** One diagnosed configuration's section. */
function diagnosisHtml(outcome: DiagnoseOutcome): string {
  const d = outcome.diagnosis;
  const m = d.measurements;
  const nonFinite = m.losses.findIndex((l) => !Number.isFinite(l));
  const findings = d.findings
    .map(
      (f) =>
        `<tr><td>${escapeHtml(f.severity)}</td><td>${escapeHtml(f.kind)}</td>` +
        `<td>${escapeHtml(layerList(f.layers) || '-')}</td><td>${escapeHtml(f.description)}</td></tr>`,
    )
    .join('\n');
  const prescribed = d.prescriptions
    .map((p, i) => prescriptionHtml(outcome, p, p.verified ? `${i + 1}.` : 'advice:'))
    .join('\n');
  const rejected = d.rejected.map((p) => prescriptionHtml(outcome, p, 'rejected:')).join('\n');
  const none = d.prescriptions.some((p) => p.verified?.improved) ? '' : '<p><strong>No verified fix.</strong></p>';
  return `<section id="diagnose-${escapeHtml(outcome.config.id)}">
<h3>${escapeHtml(outcome.config.title)}</h3>
<p>Baseline trial (the unchanged model, ${m.steps} steps at learning rate ${escapeHtml(String(m.learningRate))}):
held-out loss ${escapeHtml(formatLoss(m.heldOutBefore))} -&gt; ${escapeHtml(formatLoss(m.heldOutAfter))}; training loss
${escapeHtml(m.trend)}${nonFinite < 0 ? '' : `, not finite at step ${nonFinite + 1} (the trial stopped there)`}.</p>
<h4>Findings</h4>
<table><thead><tr><th>severity</th><th>kind</th><th>layers</th><th>what was measured</th></tr></thead>
<tbody>
${findings}
</tbody></table>
<h4>Prescriptions (best first)</h4>
${none}${prescribed || '<p>None.</p>'}
${rejected ? `<h4>Tried and not recommended</h4>\n${rejected}` : ''}
${diagnosisChart(outcome)}
</section>`;
}

/** The report's last section: the diagnose table, then a section per diagnosed configuration. */
function diagnoseHtml(diagnosed: NonNullable<ReportContent['diagnose']>): string {
  const rows = diagnosed.outcomes
    .map(
      (o) =>
        `<tr>${diagnoseRow(o)
          .map((cell, c) => {
            const text =
              c === 0 ? `<a href="#diagnose-${escapeHtml(o.config.id)}">${escapeHtml(cell)}</a>` : escapeHtml(cell);
            return `<td${c >= 3 ? ' class="num"' : ''}>${text}</td>`;
          })
          .join('')}</tr>`,
    )
    .join('\n');
  return `<section id="diagnose">
<h2>diagnose(): what is wrong, and which fix works</h2>
<p>${escapeHtml(diagnoseIntro(diagnosed.steps, diagnosed.outcomes))}</p>
<table>
<thead><tr>${DIAGNOSE_HEADERS.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows}
</tbody>
</table>
${diagnosed.outcomes.map(diagnosisHtml).join('\n')}
</section>`;
}

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
section { margin-top: 2.5rem; border-top: 2px solid #eee; }
.story { color: #555; }
.verdicts { font-family: ui-monospace, monospace; font-size: 0.85rem; }
pre { background: #f6f6f6; padding: 0.5rem; overflow-x: auto; font-size: 0.8rem; }
.prescription { margin-left: 1rem; }
`;

/** The whole report: one self-contained HTML file (inline CSS and SVG, no script, nothing fetched). */
export function htmlReport(content: ReportContent): string {
  const s = content.settings;
  const numeric = (c: number) => c >= 1 && c < content.headers.length - 1;
  const head = content.headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = content.rows
    .map(
      (row, r) =>
        `<tr>${row
          .map((cell, c) => {
            const text = c === 0 ? `<a href="#${content.sections[r]?.id}">${escapeHtml(cell)}</a>` : escapeHtml(cell);
            return `<td${numeric(c) ? ' class="num"' : ''}>${text}</td>`;
          })
          .join('')}</tr>`,
    )
    .join('\n');
  const sections = content.sections
    .map(
      (section) => `<section id="${section.id}">
<h2>${escapeHtml(section.title)}</h2>
<p class="story">${escapeHtml(section.story)}</p>
<p class="verdicts">monitor: ${escapeHtml(section.verdicts)}</p>
${lossCurveSvg(section.losses, s.steps)}
${section.chartSvg}
</section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>gradstab demo: vanishing and exploding gradients</title>
<style>${STYLE}</style>
</head>
<body>
<h1>gradstab demo: vanishing and exploding gradients</h1>
<p>The same ${s.depth}-hidden-layer MLP (width ${s.width}) on two interleaved spirals, trained ${s.steps} steps of
${s.batchSize} examples with SGD + momentum 0.9 at learning rate ${s.learningRate} (unless stated), on the tfjs
<code>${escapeHtml(content.backend)}</code> backend. gradstab's gradient-health monitor watched the raw gradients of every
run (before any clipping). Accuracy and loss are on 512 held-out points.</p>
${content.findings.map((f) => `<p><strong>${escapeHtml(f)}</strong></p>`).join('\n')}
<table>
<thead><tr>${head}</tr></thead>
<tbody>
${body}
</tbody>
</table>
<p>Each section below: the training loss, then the monitor's chart. Heatmap: each layer's gradient norm per step
(log colour scale, input layer at the top; red cells are NaN or Infinity); line: the global gradient norm.</p>
${sections}
${content.diagnose ? diagnoseHtml(content.diagnose) : ''}
</body>
</html>
`;
}
