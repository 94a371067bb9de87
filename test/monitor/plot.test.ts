import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from 'vega-lite';
import { afterAll, describe, expect, it } from 'vitest';
import { GradStabError } from '../../src/errors.js';
import {
  type CellRow,
  type GlobalRow,
  gradientHealthSpec,
  importVega,
  type ModuleLoader,
  renderGradientHealthSvg,
  renderSvgWith,
  type VegaLiteSpec,
  writeGradientHealthSvg,
} from '../../src/monitor/plot.js';
import type { LayerStepStats, StepRecord } from '../../src/monitor/types.js';

type Cell = CellRow;
type Global = GlobalRow;

const layer = (name: string, norm: number, extra: Partial<LayerStepStats> = {}): LayerStepStats => ({
  layer: name,
  norm,
  maxAbs: Number.isFinite(norm) ? norm / 2 : norm,
  nonFinite: Number.isFinite(norm) ? 0 : 3,
  ...extra,
});

/** A vanishing-gradient history: norms shrink 10x per layer toward the input, with a NaN layer at `nanStep`. */
function vanishing(layers: number, steps: number, nanStep = -1): StepRecord[] {
  return Array.from({ length: steps }, (_, s) => {
    const step = s + 1;
    const ls = Array.from({ length: layers }, (_, i) =>
      layer(`dense_${i + 1}`, step === nanStep && i === layers - 2 ? Number.NaN : 10 ** (i - layers + 1)),
    );
    return { step, globalNorm: Math.hypot(...ls.map((l) => l.norm)), layers: ls };
  });
}

/** Sparse steps, zero norms, an Infinity, a NaN and the optional fields. */
const awkward: StepRecord[] = [
  { step: 10, globalNorm: 2, layers: [layer('conv', 1e-3, { weightNorm: 4 }), layer('dense', 2)] },
  { step: 20, globalNorm: 0, layers: [layer('conv', 0), layer('dense', 0)] },
  {
    step: 30,
    globalNorm: Number.POSITIVE_INFINITY,
    layers: [layer('conv', 5e-4), layer('dense', Number.POSITIVE_INFINITY)],
  },
  { step: 70, globalNorm: Number.NaN, layers: [layer('conv', Number.NaN), layer('dense', 3, { updateRatio: 1e-3 })] },
  { step: 80, globalNorm: 1, layers: [layer('conv', 1e-3), layer('dense', 1, { nonFinite: 2 })] },
];

const cellsOf = (spec: VegaLiteSpec) => (spec.datasets as { cells: Cell[] }).cells;
const globalsOf = (spec: VegaLiteSpec) => (spec.datasets as { global: Global[] }).global;
// biome-ignore lint/suspicious/noExplicitAny: walking an untyped JSON spec
const heatmapOf = (spec: VegaLiteSpec) => (spec.vconcat as any[])[0];

/** Compiles with vega-lite and returns every warning and error it logged. */
function compileMessages(spec: VegaLiteSpec): string[] {
  const messages: string[] = [];
  const logger = {
    level: () => logger,
    error: (...args: unknown[]) => {
      messages.push(`error: ${args.join(' ')}`);
      return logger;
    },
    warn: (...args: unknown[]) => {
      messages.push(`warn: ${args.join(' ')}`);
      return logger;
    },
    info: () => logger,
    debug: () => logger,
  };
  compile(spec as never, { logger: logger as never });
  return messages;
}

/** The items (rects are paths, rules lines) in one mark group of a vega SVG. */
function marksIn(svg: string, group: string): number {
  const match = svg.match(new RegExp(`<g class="[^"]* ${group}"[^>]*>(.*?)</g>`));
  return match ? ((match[1] as string).match(/<(path|line)\b/g) ?? []).length : 0;
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('gradientHealthSpec', () => {
  it('compiles with vega-lite without a warning, for every kind of history', () => {
    const histories: [string, StepRecord[]][] = [
      ['vanishing', vanishing(20, 50, 30)],
      ['awkward', awkward],
      ['grouped', vanishing(4, 1200)],
      ['empty', []],
      ['one step', [{ step: 1, globalNorm: 1, layers: [layer('a', 1)] }]],
      ['all non-finite', [{ step: 1, globalNorm: Number.NaN, layers: [layer('a', Number.NaN)] }]],
      ['all zero', [{ step: 5, globalNorm: 0, layers: [layer('a', 0), layer('b', 0)] }]],
    ];
    for (const [name, history] of histories) {
      expect([name, compileMessages(gradientHealthSpec(history))]).toEqual([name, []]);
    }
  });

  it('is plain JSON with inline data and a v6 schema', () => {
    const spec = gradientHealthSpec(awkward, { title: 'T' });
    expect(JSON.parse(JSON.stringify(spec))).toEqual(spec);
    expect(spec.$schema).toBe('https://vega.github.io/schema/vega-lite/v6.json');
    expect(JSON.stringify(spec)).not.toMatch(/"url"/);
    expect(spec.title).toMatchObject({ text: 'T' });
    expect((spec.vconcat as unknown[]).length).toBe(2);
  });

  it('has one row per step and layer, with the exact values', () => {
    const history = vanishing(3, 4);
    const cells = cellsOf(gradientHealthSpec(history));
    expect(cells).toHaveLength(12);
    for (const record of history) {
      for (const l of record.layers) {
        const rows = cells.filter((c) => c.step === record.step && c.layer === l.layer);
        expect(rows).toHaveLength(1);
        const row = rows[0] as Cell;
        expect(row.norm).toBe(l.norm);
        expect(row.logNorm).toBeCloseTo(Math.log10(l.norm), 12);
        expect(row.normText).toBe(String(l.norm));
        expect(row.maxAbsText).toBe(String(l.maxAbs));
        expect(row).toMatchObject({ zero: false, bad: 0, nonFinite: 0 });
      }
    }
    expect(globalsOf(gradientHealthSpec(history)).map((g) => g.globalNorm)).toEqual(history.map((r) => r.globalNorm));
  });

  it('puts zero norms on a floor one decade below the smallest positive norm', () => {
    const cells = cellsOf(gradientHealthSpec(awkward));
    const zeros = cells.filter((c) => c.step === 20);
    expect(zeros).toHaveLength(2);
    for (const z of zeros) {
      expect(z).toMatchObject({ norm: 0, zero: true, bad: 0, normText: '0' });
      expect(z.logNorm).toBeCloseTo(Math.log10(5e-4) - 1, 12);
    }
    const spec = gradientHealthSpec(awkward);
    expect(JSON.stringify(spec.title)).toContain('floor 5.0e-5');
    // with no positive norm at all, the floor is a constant and the cells still get colour
    const allZero = cellsOf(gradientHealthSpec([{ step: 1, globalNorm: 0, layers: [layer('a', 0)] }]));
    expect(allZero[0]?.logNorm).toBe(-10);
  });

  it('marks NaN and Infinity norms and nonFinite counts as bad, keeping their text', () => {
    const cells = cellsOf(gradientHealthSpec(awkward));
    const find = (step: number, name: string) => cells.find((c) => c.step === step && c.layer === name) as Cell;
    expect(find(30, 'dense')).toMatchObject({ norm: null, logNorm: null, bad: 1, nonFinite: 3, normText: 'Infinity' });
    expect(find(70, 'conv')).toMatchObject({ norm: null, logNorm: null, bad: 1, normText: 'NaN', maxAbsText: 'NaN' });
    // a finite norm with non-finite entries is drawn in colour and painted red over it
    expect(find(80, 'dense')).toMatchObject({ norm: 1, logNorm: 0, bad: 1, nonFinite: 2 });
    expect(find(10, 'conv').weightNorm).toBe('4');
    expect(find(70, 'dense').updateRatio).toBe('0.001');
    const globals = globalsOf(gradientHealthSpec(awkward));
    expect(globals.map((g) => g.kind)).toEqual(['ok', '0', 'NaN or ±Infinity', 'NaN or ±Infinity', 'ok']);
    expect(globals.map((g) => g.globalNorm)).toEqual([2, null, null, null, 1]);
    expect(globals.map((g) => g.globalNormText)).toEqual(['2', '0', 'Infinity', 'NaN', '1']);
  });

  it('draws the red overlay and the global rules only when there is something to mark', () => {
    const clean = gradientHealthSpec(vanishing(2, 5));
    expect(heatmapOf(clean).layer).toHaveLength(1);
    expect((clean.vconcat as { layer: unknown[] }[])[1]?.layer).toHaveLength(1);
    const dirty = gradientHealthSpec(awkward);
    expect(heatmapOf(dirty).layer).toHaveLength(2);
    expect((dirty.vconcat as { layer: unknown[] }[])[1]?.layer).toHaveLength(2);
  });

  it('places cells on the real steps: a sampled history tiles, a hole stays a hole', () => {
    const cells = cellsOf(gradientHealthSpec(awkward)).filter((c) => c.layer === 'conv');
    // steps 10, 20, 30, 70, 80: the usual gap is 10, so each cell is 10 wide, centred on its step
    expect(cells.map((c) => [c.x0, c.x1])).toEqual([
      [5, 15],
      [15, 25],
      [25, 35],
      [65, 75],
      [75, 85],
    ]);
    const dense = cellsOf(gradientHealthSpec(vanishing(1, 3)));
    expect(dense.map((c) => [c.x0, c.x1])).toEqual([
      [0.5, 1.5],
      [1.5, 2.5],
      [2.5, 3.5],
    ]);
    // the two panels share the step domain
    // biome-ignore lint/suspicious/noExplicitAny: walking an untyped JSON spec
    const [heat, line] = gradientHealthSpec(awkward).vconcat as any[];
    expect(heat.encoding.x.scale.domain).toEqual([5, 85]);
    expect(line.encoding.x.scale.domain).toEqual([5, 85]);
  });

  it('keeps the layers in model order (input side first, shown at the top), whatever the step order', () => {
    const history = vanishing(5, 3).reverse();
    const names = ['dense_1', 'dense_2', 'dense_3', 'dense_4', 'dense_5'];
    const y = heatmapOf(gradientHealthSpec(history)).encoding.y;
    expect(y.scale.domain).toEqual(names);
    expect(y.sort).toEqual(names);
    expect(cellsOf(gradientHealthSpec(history)).map((c) => c.step)).toEqual([
      1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3,
    ]);
    // a layer first seen later goes after the others
    const late: StepRecord[] = [
      { step: 1, globalNorm: 1, layers: [layer('b', 1), layer('a', 1)] },
      { step: 2, globalNorm: 1, layers: [layer('b', 1), layer('c', 1), layer('a', 1)] },
    ];
    expect(heatmapOf(gradientHealthSpec(late)).encoding.y.scale.domain).toEqual(['b', 'a', 'c']);
  });

  it('groups steps into at most maxColumns columns beyond that many, keeping one row per step', () => {
    const history = vanishing(2, 1000);
    const spec = gradientHealthSpec(history, { maxColumns: 100 });
    const cells = cellsOf(spec);
    expect(cells).toHaveLength(2000);
    const columns = new Set(cells.map((c) => `${c.x0}:${c.x1}`));
    expect(columns.size).toBe(100);
    expect(cells.every((c) => c.x1 - c.x0 === 10)).toBe(true);
    expect(heatmapOf(spec).transform[0].aggregate).toBeDefined();
    expect(JSON.stringify(spec.title)).toContain('group consecutive steps');
    // not grouped at or under the limit, nor by default for 500 steps
    expect(heatmapOf(gradientHealthSpec(vanishing(1, 100), { maxColumns: 100 })).transform).toEqual([]);
    expect(heatmapOf(gradientHealthSpec(vanishing(1, 500))).transform).toEqual([]);
    // never more than one column per pixel
    const narrow = cellsOf(gradientHealthSpec(vanishing(1, 500), { width: 50 }));
    expect(new Set(narrow.map((c) => c.x0)).size).toBeLessThanOrEqual(50);
  });

  it('takes title, width and height', () => {
    const spec = gradientHealthSpec(vanishing(3, 2), { title: 'Run 3', width: 300, height: 90 });
    // biome-ignore lint/suspicious/noExplicitAny: walking an untyped JSON spec
    const [heat, line] = spec.vconcat as any[];
    expect([heat.width, heat.height, line.width, line.height]).toEqual([300, 90, 300, 90]);
    expect(gradientHealthSpec(vanishing(40, 1)).vconcat).toMatchObject([{ height: 480 }, { height: 160 }]);
  });

  it('rejects what is not a history or not an option, in the house format', () => {
    const bad: [unknown, unknown, RegExp][] = [
      [null, undefined, /^gradientHealthSpec: history must be an array of step records, got null\.$/],
      [[{ step: 'x' }], undefined, /history\[0\] must be a step record with a finite step number/],
      [[{ step: 1, globalNorm: 1, layers: 3 }], undefined, /history\[0\]\.layers must be an array, got 3\./],
      [[{ step: 1, globalNorm: 1, layers: [{ layer: 'a' }] }], undefined, /layers\[0\]\.norm must be a number/],
      [[], { colour: 'red' }, /unknown option "colour"/],
      [[], { width: -1 }, /width must be a finite number > 0, got -1\./],
      [[], { maxColumns: 0.5 }, /maxColumns must be a whole number >= 1/],
      [[], { title: 3 }, /title must be a string, got 3\./],
    ];
    for (const [history, options, message] of bad) {
      expect(() => gradientHealthSpec(history as StepRecord[], options as never)).toThrow(GradStabError);
      expect(() => gradientHealthSpec(history as StepRecord[], options as never)).toThrow(message);
    }
  });
});

describe('renderGradientHealthSvg', () => {
  it('renders an SVG with a rect per finite cell, a red one per bad cell, the title and the line', async () => {
    const history = vanishing(20, 50, 30);
    const svg = await renderGradientHealthSvg(history, { title: 'Vanishing & co' });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('Vanishing &amp; co');
    expect(svg).toContain('dense_20');
    expect(marksIn(svg, 'concat_0_layer_0_marks')).toBe(20 * 50 - 1);
    expect(marksIn(svg, 'concat_0_layer_1_marks')).toBe(1);
    expect(svg).toContain('mark-line');
    expect(marksIn(svg, 'concat_1_layer_1_marks')).toBe(1); // the rule at the NaN step
  });

  it('renders grouped columns, sparse steps, zeros and empty histories', async () => {
    const grouped = await renderGradientHealthSvg(vanishing(3, 2000), { maxColumns: 200 });
    expect(marksIn(grouped, 'concat_0_layer_0_marks')).toBe(3 * 200);
    const awkwardSvg = await renderGradientHealthSvg(awkward);
    expect(marksIn(awkwardSvg, 'concat_0_layer_0_marks')).toBe(8); // 10 cells less the Infinity and the NaN
    expect(marksIn(awkwardSvg, 'concat_0_layer_1_marks')).toBe(3);
    expect(marksIn(awkwardSvg, 'concat_1_layer_1_marks')).toBe(3); // 0, Infinity, NaN
    expect((await renderGradientHealthSvg([])).startsWith('<svg')).toBe(true);
  });

  it('says which packages are missing and how to install them', async () => {
    const missing = (name: string): ModuleLoader => {
      return (n) =>
        n === name || name === 'both'
          ? Promise.reject(new Error(`Cannot find package '${n}' imported from plot.js`))
          : importVega(n);
    };
    await expect(renderSvgWith(missing('vega-lite'), 'renderGradientHealthSvg', awkward)).rejects.toThrow(
      /^renderGradientHealthSvg: rendering needs the optional peer dependencies vega and vega-lite: run `npm install vega vega-lite`, got vega-lite could not be loaded \(Cannot find package 'vega-lite'/,
    );
    const both = renderSvgWith(missing('both'), 'renderGradientHealthSvg', awkward);
    await expect(both).rejects.toBeInstanceOf(GradStabError);
    await expect(both).rejects.toThrow(/got vega and vega-lite could not be loaded/);
    const wrong: ModuleLoader = async () => ({ something: 1 });
    await expect(renderSvgWith(wrong, 'renderGradientHealthSvg', awkward)).rejects.toThrow(
      /vega must export parse and View and vega-lite compile/,
    );
  });

  it('renders with the modules it is given (a bundled app), without loading any', async () => {
    const never: ModuleLoader = () => Promise.reject(new Error('should not load'));
    const modules = { vega: await import('vega'), vegaLite: await import('vega-lite') };
    // vega numbers its gradient definitions per render: compare without those numbers.
    const same = (svg: string) => svg.replace(/gradient_\d+/g, 'gradient_N');
    const given = same(await renderSvgWith(never, 'renderGradientHealthSvg', awkward, { title: 'Given', modules }));
    expect(given).toBe(same(await renderGradientHealthSvg(awkward, { title: 'Given' })));
    // A CommonJS-style namespace ({ default: exports }) works too.
    const wrapped = { vega: { default: modules.vega }, vegaLite: { default: modules.vegaLite } };
    expect(
      same(await renderSvgWith(never, 'renderGradientHealthSvg', awkward, { title: 'Given', modules: wrapped })),
    ).toBe(given);
    await expect(
      renderSvgWith(never, 'renderGradientHealthSvg', awkward, { modules: { vega: modules.vega } as never }),
    ).rejects.toThrow(
      /^renderGradientHealthSvg: modules must be \{ vega, vegaLite \}: the two modules as imported, got/,
    );
    await expect(
      renderSvgWith(never, 'renderGradientHealthSvg', awkward, { modules: { vega: {}, vegaLite: {} } }),
    ).rejects.toThrow(/vega must export parse and View and vega-lite compile/);
    // The spec builder has no use for modules, and says so.
    expect(() => gradientHealthSpec(awkward, { modules } as never)).toThrow(/gradientHealthSpec: .*modules/);
  });

  it('checks its input before loading anything', async () => {
    const never: ModuleLoader = () => Promise.reject(new Error('should not load'));
    await expect(renderSvgWith(never, 'renderGradientHealthSvg', null as never)).rejects.toThrow(
      /^renderGradientHealthSvg: history must be an array/,
    );
  });
});

describe('writeGradientHealthSvg', () => {
  it('writes the SVG file and returns its path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gradstab-plot-'));
    dirs.push(dir);
    const path = join(dir, 'health.svg');
    expect(await writeGradientHealthSvg(vanishing(4, 10, 5), path, { title: 'Written' })).toBe(path);
    const text = readFileSync(path, 'utf8');
    expect(text.startsWith('<svg')).toBe(true);
    expect(text).toContain('Written');
  });

  it('rejects a path that is not a non-empty string', async () => {
    await expect(writeGradientHealthSvg(awkward, '')).rejects.toThrow(
      /^writeGradientHealthSvg: path must be a non-empty string, got ""\.$/,
    );
  });
});
