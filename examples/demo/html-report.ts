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
}

const escapeHtml = (text: string) =>
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

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
section { margin-top: 2.5rem; border-top: 2px solid #eee; }
.story { color: #555; }
.verdicts { font-family: ui-monospace, monospace; font-size: 0.85rem; }
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
</body>
</html>
`;
}
