import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DIAGNOSE_HEADERS,
  diagnoseStepsFor,
  diagnosisText,
  PROBLEM_KINDS,
  verifiedWinner,
} from '../../examples/demo/diagnose-section.js';
import { escapeHtml, htmlReport, lossCurveSvg, lossCurvesSvg } from '../../examples/demo/html-report.js';
import { Progress } from '../../examples/demo/progress.js';
import { firstToLastAtInit } from '../../examples/demo/results.js';
import { formatTable } from '../../examples/demo/table.js';
import type { RunResult } from '../../examples/demo/train.js';
import { type DemoResult, parseDemoArgs, runDemo } from '../../examples/demo.js';
import { runExampleScript } from '../helpers/run-example.js';
import { useCpu } from '../helpers/tf.js';

const outDir = mkdtempSync(join(tmpdir(), 'gradstab-demo-'));
let result: DemoResult;
let printed = '';
let tensorsLeft = Number.NaN;

beforeAll(async () => {
  await useCpu();
  // The demo's depth and width; 32 steps (2 epochs) instead of 640: what happens at initialization and in the first
  // steps is the same, and the cpu backend is slow. diagnose() gets its smallest budget, 10 steps per trial.
  const sink = { isTTY: false, write: (text: string) => (printed += text) };
  const before = tf.memory().numTensors;
  result = await runDemo(
    { backend: 'cpu', steps: 32, depth: 30, width: 32, output: join(outDir, 'report.html') },
    sink,
  );
  tensorsLeft = tf.memory().numTensors - before;
}, 180_000);
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

const run = (id: string): RunResult => {
  const found = result.runs.find((r) => r.config.id === id);
  if (!found) throw new Error(`no run ${id}`);
  return found;
};

/** Whether `value` holds a tensor or a function anywhere: the diagnoses must be plain data. */
function holdsLiveObjects(value: unknown): boolean {
  if (value instanceof tf.Tensor || typeof value === 'function') return true;
  if (value === null || typeof value !== 'object') return false;
  return Object.values(value).some(holdsLiveObjects);
}

describe('npm run demo (examples/demo.ts), 30x32 MLP, 32 steps on cpu', () => {
  it('trains the six configurations in order, 32 steps each unless the monitor stopped fit', () => {
    expect(result.runs.map((r) => r.config.id)).toEqual([
      'sigmoid-default',
      'relu-xavier',
      'relu-he',
      'sigmoid-batchnorm',
      'relu-he-high-lr',
      'relu-he-high-lr-clipped',
    ]);
    for (const r of result.runs) if (r.config.id !== 'relu-he-high-lr') expect(r.stepsRun).toBe(32);
  });

  it('sigmoid with the default init: the first hidden layer gets ~1e-19 of the last one, and the monitor says vanishing', () => {
    const r = run('sigmoid-default');
    expect(firstToLastAtInit(r)).toBeLessThan(1e-12);
    expect(r.report.verdicts.find((v) => v.kind === 'vanishing')?.firstStep).toBe(1);
  });

  it('He et al. Fig. 3 at initialization: ReLU + Xavier loses 1e-3 of the gradient over 30 layers, ReLU + He keeps it', () => {
    const xavier = run('relu-xavier');
    const he = run('relu-he');
    expect(firstToLastAtInit(xavier)).toBeLessThan(1e-3);
    expect(firstToLastAtInit(he)).toBeGreaterThan(0.05);
    expect(xavier.report.verdicts.some((v) => v.kind === 'vanishing' && v.firstStep === 1)).toBe(true);
    expect(xavier.report.counts.exploding).toBe(0); // the regression the output-end reference fixed
    expect(he.report.counts.vanishing + he.report.counts.exploding).toBe(0);
    // Xavier's gradients are uniformly small, so its loss barely moves; He's falls.
    expect(xavier.report.globalNorm.typical).toBeLessThan(he.report.globalNorm.typical / 10);
    expect(he.losses.at(-1)).toBeLessThan((he.losses[0] as number) - 0.02);
  });

  it('batch normalization keeps the sigmoid network healthy at initialization', () => {
    const bn = run('sigmoid-batchnorm');
    expect(firstToLastAtInit(bn)).toBeGreaterThan(1e-2);
    expect(bn.report.counts.vanishing).toBe(0);
    expect(Number.isFinite(bn.testLoss)).toBe(true);
  });

  it('30x the learning rate: NaN gradients within a few steps, fit stopped; clipped: finite, learning, clipping', () => {
    const wild = run('relu-he-high-lr');
    expect(wild.stoppedOnNonFinite).toBe(true);
    expect(wild.stepsRun).toBeLessThan(32);
    expect(wild.testLoss).toBeNaN();
    const clipped = run('relu-he-high-lr-clipped');
    expect(clipped.report.counts.nonFinite).toBe(0);
    expect(clipped.clippedSteps).toBeGreaterThan(0);
    expect(clipped.clippedSteps).toBeLessThanOrEqual(clipped.stepsRun);
    expect(Number.isFinite(clipped.testLoss)).toBe(true);
    expect(clipped.testLoss).toBeLessThan(0.69);
  });

  it('prints progress lines, the table with one row per configuration, and the findings', () => {
    expect(printed).toMatch(/\[1\/6\] sigmoid, tfjs default init {2}step 8\/32 {2}loss \d/);
    const table = printed.slice(printed.indexOf('\nconfiguration ') + 1);
    const rows = table.split('\n').slice(2, 8);
    expect(rows.map((l) => l.split(/ {2,}/)[0])).toEqual(result.runs.map((r) => r.config.title));
    expect(rows[4]).toMatch(/NaN\s+NaN/);
    expect(printed).toContain('He et al. 2015, Fig. 3 at small scale (30 ReLU layers)');
    expect(printed).toContain(`Report with the monitor's charts: ${result.reportPath}`);
  });

  it("writes a self-contained HTML report: a loss curve and the monitor's chart per configuration, nothing fetched", () => {
    const html = readFileSync(result.reportPath, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    for (const r of result.runs) expect(html).toContain(`<section id="${r.config.id}">`);
    expect(html.match(/aria-label="training loss per step"/g)).toHaveLength(6);
    expect(html.match(/class="marks"/g)?.length).toBeGreaterThanOrEqual(6); // vega's rendered SVGs
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\((?!#)/i); // url(#id): the SVG's own gradients
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
    expect(html).toContain('NaN from step');
  });

  it('leaves no tensors behind: every model, optimizer and diagnosis freed', () => {
    expect(tensorsLeft).toBe(0);
  });

  it('diagnose() on the three configurations that do not train: each finds a problem, as plain data', () => {
    expect(result.diagnoseSteps).toBe(diagnoseStepsFor(result.settings.steps));
    expect(result.diagnoseSteps).toBe(10); // 32 / 6 rounds to 5, raised to diagnose()'s minimum
    expect(result.diagnoses.map((d) => d.config.id)).toEqual(['sigmoid-default', 'relu-xavier', 'relu-he-high-lr']);
    for (const d of result.diagnoses) {
      expect(d.diagnosis.healthy).toBe(false);
      expect(d.diagnosis.findings.some((f) => PROBLEM_KINDS.includes(f.kind))).toBe(true);
      expect(d.diagnosis.measurements.steps).toBe(10);
      expect(d.diagnosis.measurements.trainExamples + d.diagnosis.measurements.heldOutExamples).toBe(1024);
      expect(holdsLiveObjects(d)).toBe(false);
    }
    const kinds = (id: string) =>
      result.diagnoses.find((d) => d.config.id === id)?.diagnosis.findings.map((f) => f.kind);
    expect(kinds('sigmoid-default')).toContain('vanishing');
    expect(kinds('relu-he-high-lr')).toEqual(expect.arrayContaining(['nonFinite']));
    const wild = result.diagnoses[2];
    expect(wild?.diagnosis.measurements.heldOutAfter).toBeNaN();
    // The high learning rate's fix is verified: a trial whose held-out loss is finite beats the NaN baseline.
    const fix = wild && verifiedWinner(wild);
    expect(fix?.verified?.improved).toBe(true);
    expect(Number.isFinite(fix?.verified?.loss)).toBe(true);
  });

  it('prints the diagnose section last: per configuration its findings and verified fix (or none), then a table', () => {
    const start = printed.indexOf(
      "gradstab's diagnose() on the 3 configurations that do not train: 10 steps per trial",
    );
    expect(start).toBeGreaterThan(printed.indexOf('He et al. 2015, Fig. 3'));
    expect(start).toBeLessThan(printed.indexOf("Report with the monitor's charts"));
    expect(printed).toMatch(
      /\[diagnose 1\/3\] sigmoid, tfjs default init {2}\d+% {2}baseline trial \(the unchanged model\), 10 steps/,
    );
    expect(printed).toContain('[diagnose 3/3] ReLU, He init, learning rate x60  ');
    expect(printed).toContain('learning-rate range test, 10 steps');
    expect(printed).toMatch(/verifying candidate 1: \w+, 10 steps/);
    const section = printed.slice(start);
    for (const d of result.diagnoses) {
      expect(section).toContain(diagnosisText(d));
      for (const f of d.diagnosis.findings) expect(diagnosisText(d)).toContain(`finding: ${f.kind} (${f.severity})`);
      const winner = verifiedWinner(d);
      if (winner) {
        expect(diagnosisText(d)).toContain(`prescription: ${winner.description}`);
        expect(diagnosisText(d)).toMatch(/verified: held-out loss \S+ -> \S+ .*10 steps from the same start/);
      } else expect(diagnosisText(d)).toContain('no verified fix');
    }
    const table = section.slice(section.indexOf(`\n${DIAGNOSE_HEADERS[0]} `) + 1);
    const rows = table.split('\n').slice(2, 5);
    expect(rows.map((l) => l.split(/ {2,}/)[0])).toEqual(result.diagnoses.map((d) => d.config.title));
    expect(rows[2]).toMatch(/nonFinite.*\s+NaN\s+\d\.\d+$/); // baseline NaN, fixed finite
  });

  it('the report ends with the diagnose section: findings, prescriptions with their code, and loss curves', () => {
    const html = readFileSync(result.reportPath, 'utf8');
    const start = html.indexOf('<section id="diagnose">');
    expect(start).toBeGreaterThan(html.lastIndexOf('<section id="relu-he-high-lr-clipped">'));
    const section = html.slice(start);
    for (const d of result.diagnoses) {
      expect(section).toContain(`<section id="diagnose-${d.config.id}">`);
      for (const p of [...d.diagnosis.prescriptions, ...d.diagnosis.rejected]) {
        expect(section).toContain(`<pre><code>${escapeHtml(p.code)}</code></pre>`);
      }
    }
    const charts = section.match(/<svg[^>]*aria-label="training loss of the diagnosis trials"[\s\S]*?<\/svg>/g) ?? [];
    expect(charts).toHaveLength(3);
    for (const [i, chart] of charts.entries()) {
      const d = result.diagnoses[i];
      const trials =
        1 + [...(d?.diagnosis.prescriptions ?? []), ...(d?.diagnosis.rejected ?? [])].filter((p) => p.verified).length;
      expect(chart.match(/<polyline /g)).toHaveLength(trials);
      expect(chart).toContain('baseline: the unchanged model');
    }
    expect(charts[2]).toContain('off scale above'); // the high learning rate's loss reaches 1e34 before NaN
    expect(charts[2]).toContain('not finite from step');
    expect(section).not.toMatch(/<script|<link|<img|<iframe/i);
  });

  it('loss curves: a line per trial, log scale for a wide range, a cross and a note where a loss turned NaN, escaped labels', () => {
    const svg = lossCurvesSvg(
      [
        { label: 'base <1>', losses: [0.7, 5, 3e4, Number.NaN], color: '#222' },
        { label: 'fix & go', losses: [0.7, 0.6, 0.5, 0.4], color: '#1f77b4', dashed: true },
      ],
      4,
    );
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    expect(svg).toContain('log scale');
    expect(svg).toContain('base &lt;1&gt; (× not finite from step 4)');
    expect(svg).toContain('fix &amp; go');
    expect(svg).toContain('stroke-dasharray="5 3"');
    expect(svg).toContain('>×</text>');
    const flat = lossCurvesSvg([{ label: 'a', losses: [0.69, 0.68, 0.7], color: '#222' }], 3);
    expect(flat).toContain('linear scale');
    expect(flat).not.toContain('NaN');
  });

  it('parses its options and documents them', () => {
    expect(parseDemoArgs([])).toEqual({
      backend: 'wasm',
      steps: 640,
      depth: 30,
      width: 32,
      output: 'gradstab-demo-report.html',
    });
    expect(parseDemoArgs(['--backend', 'cpu', '--steps', '64', '--output', 'r.html'])).toMatchObject({
      backend: 'cpu',
      steps: 64,
      output: 'r.html',
    });
    expect(parseDemoArgs(['--help'])).toBeUndefined();
    expect(() => parseDemoArgs(['--steps', '0'])).toThrow('demo: --steps needs a whole number >= 1, got 0');
    expect(() => parseDemoArgs(['--backend', 'gpu'])).toThrow('demo: --backend must be wasm or cpu, got gpu');
    expect(() => parseDemoArgs(['--fast'])).toThrow('demo: unknown argument --fast');
    expect(parseDemoArgs(['--diagnose-steps', '0'])).toMatchObject({ diagnoseSteps: 0 });
    expect(parseDemoArgs(['--diagnose-steps', '40'])).toMatchObject({ diagnoseSteps: 40 });
    expect(() => parseDemoArgs(['--diagnose-steps', '5'])).toThrow(
      'demo: --diagnose-steps must be 0 (skip) or at least 10',
    );
    expect([diagnoseStepsFor(32), diagnoseStepsFor(160), diagnoseStepsFor(640)]).toEqual([10, 27, 100]);
    const help = runExampleScript('demo.ts', '--help');
    expect(help).toContain('usage: npm run demo -- [--backend wasm|cpu] [--steps N] [--output FILE]');
    expect(help).toContain('--diagnose-steps');
    expect(help).toContain('diagnose() on the three configurations that do not train');
  });

  it('formats tables with numbers right-aligned', () => {
    expect(
      formatTable(
        ['name', 'x'],
        [
          ['a', '1.5'],
          ['bb', '10.0'],
        ],
      ),
    ).toBe('name     x\n----  ----\na      1.5\nbb    10.0');
  });

  it('progress: a bar redrawn in place on a terminal, a line per quarter elsewhere', () => {
    const tty: string[] = [];
    const bar = new Progress({ isTTY: true, columns: 80, write: (t) => tty.push(t) });
    bar.start('[1/1] x', 8);
    for (let step = 1; step <= 8; step++) bar.step(step, 0.5);
    bar.done('ok');
    expect(tty[0]).toBe('\r[###.....................] [1/1] x  step 1/8  loss 0.500\x1b[K');
    expect(tty.at(-2)).toContain('[########################] [1/1] x  step 8/8'); // the last step is always drawn
    expect(tty.at(-1)).toBe('\r\x1b[K[1/1] x  ok\n');
    const plain: string[] = [];
    const lines = new Progress({ isTTY: false, write: (t) => plain.push(t) });
    lines.start('[1/1] x', 8);
    for (let step = 1; step <= 8; step++) lines.step(step, Number.NaN);
    expect(plain).toEqual([2, 4, 6, 8].map((n) => `[1/1] x  step ${n}/8  loss NaN\n`));
    // A diagnosis's stages: a line as each starts (elsewhere), the bar filled to the share done (on a terminal).
    const stages: string[] = [];
    const staged = new Progress({ isTTY: false, write: (t) => stages.push(t) });
    staged.start('[d 1/1] x', 10);
    staged.stage(0.1, 'baseline', 1, 10);
    staged.stage(0.2, 'baseline', 2, 10);
    staged.stage(0.5, 'range test', 1, 10);
    expect(stages).toEqual(['[d 1/1] x  10%  baseline, 10 steps\n', '[d 1/1] x  50%  range test, 10 steps\n']);
    const drawn: string[] = [];
    const stagedBar = new Progress({ isTTY: true, columns: 80, write: (t) => drawn.push(t) });
    stagedBar.start('[d 1/1] x', 10);
    stagedBar.stage(0.5, 'range test', 5, 10);
    expect(drawn).toEqual(['\r[############............] [d 1/1] x  range test  step 5/10\x1b[K']);
  });

  it('loss curve: x over the planned steps, a NaN mark labelled inside the chart, losses off the scale noted', () => {
    const stopped = lossCurveSvg([0.7, 0.6, Number.NaN], 640);
    expect(stopped).toContain('step (1 to 640)');
    expect(stopped).toContain('>NaN from step 3</text>');
    expect(stopped).not.toContain('text-anchor="end" fill="#e41a1c"'); // step 3 of 640: left half, label to the right
    const late = lossCurveSvg([0.7, 0.6, Number.NaN], 3);
    expect(late).toContain('text-anchor="end" fill="#e41a1c">NaN from step 3'); // right half: label ends at the mark
    const huge = lossCurveSvg([0.7, 2.8e34, 0.5]);
    expect(huge).toContain('off scale above 2: up to 2.80e+34');
    expect(lossCurveSvg([0.7, 0.5])).not.toContain('off scale');
  });

  it('the HTML report escapes text from the runs', () => {
    const html = htmlReport({
      backend: 'cpu',
      settings: { depth: 2, width: 2, steps: 2, batchSize: 2, learningRate: 0.1 },
      headers: ['configuration', 'x', 'verdicts'],
      rows: [['<b>a</b>', '1', 'a & b']],
      findings: ['"quoted" <finding>'],
      sections: [
        { id: 'a', title: '<i>t</i>', story: "it's", losses: [0.7, 0.6], chartSvg: '<svg></svg>', verdicts: '<v>' },
      ],
    });
    expect(html).toContain('&lt;b&gt;a&lt;/b&gt;');
    expect(html).toContain('a &amp; b');
    expect(html).toContain('&quot;quoted&quot; &lt;finding&gt;');
    expect(html).toContain('&lt;i&gt;t&lt;/i&gt;');
    expect(html).toContain('it&#39;s');
    expect(html).not.toMatch(/<b>|<i>|<v>|<finding>/);
  });
});
