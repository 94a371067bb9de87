import { maxOf, minOf } from '../internal/extrema.js';
import { fail, optionsObject, positiveFinite, wholeNumber } from '../internal/validate.js';
import type { LayerStepStats, StepRecord } from './types.js';

/** Options of {@link gradientHealthSpec}, {@link renderGradientHealthSvg} and {@link writeGradientHealthSvg}. */
export interface GradientHealthPlotOptions {
  /** The chart's title. Defaults to `'Gradient health'`. */
  readonly title?: string;
  /** Width of both panels' plotting areas, in pixels (> 0, at most 16384). Defaults to 640. */
  readonly width?: number;
  /**
   * Height of the heatmap's plotting area, in pixels (> 0, at most 16384). Defaults to 16 per layer, between 80 and
   * 480. The global-norm
   * panel below it is a third as high, at least 90.
   */
  readonly height?: number;
  /**
   * When the history has more distinct steps than this, the heatmap groups consecutive steps into at most this
   * many columns (and never more than one per pixel of `width`), coloured by the geometric mean of the norms in
   * each (the tooltip gives the min and max). The data stays one row per step and layer, and the global-norm line
   * is never grouped. Defaults to 500.
   */
  readonly maxColumns?: number;
}

/**
 * Options of {@link renderGradientHealthSvg} and {@link writeGradientHealthSvg}: the chart's, and the vega modules to
 * render with.
 */
export interface GradientHealthRenderOptions extends GradientHealthPlotOptions {
  /**
   * The `vega` and `vega-lite` modules, for a bundled app: `import * as vega from 'vega'` and `import * as vegaLite
   * from 'vega-lite'`, passed as `{ vega, vegaLite }`. Bundlers do not follow the run-time `import()` that loads
   * them otherwise (on purpose: an app that never draws does not ship them). Defaults to that `import()`, which Node
   * and import maps resolve.
   */
  readonly modules?: VegaModules;
}

/** The two modules {@link GradientHealthRenderOptions.modules} takes, as imported. */
export interface VegaModules {
  /** The `vega` module (its `parse` and `View` are used). */
  readonly vega: unknown;
  /** The `vega-lite` module (its `compile` is used). */
  readonly vegaLite: unknown;
}

const OPTION_KEYS = ['title', 'width', 'height', 'maxColumns'] as const;
const RENDER_OPTION_KEYS = [...OPTION_KEYS, 'modules'] as const;
const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
/** Where the colour scale floor goes when no norm at all is positive: every finite cell is then 0. */
const FLOOR_WHEN_ALL_ZERO = -10;
const NON_FINITE_COLOR = '#e41a1c';
const ZERO_COLOR = '#7f7f7f';
const NON_FINITE_LABEL = 'NaN or ±Infinity';

/**
 * One heatmap row: one layer at one step. JSON-safe: every non-finite number is null, with its text beside it.
 * Exported for the tests, not from the package's index.
 * @internal
 */
export interface CellRow {
  step: number;
  layer: string;
  /** The layer's position in model order, input side first. */
  order: number;
  /** Left and right edges of the cell (or of its column, when steps are grouped), in step units. */
  x0: number;
  x1: number;
  /** The gradient norm, or null when it is NaN or ±Infinity. */
  norm: number | null;
  /** log10 of the norm; a norm of 0 gets the floor; null when the norm is not finite. */
  logNorm: number | null;
  /** Whether the norm is exactly 0 (and so `logNorm` is the floor, not a measurement). */
  zero: boolean;
  /** 1 when the norm is not finite or some gradient entry is, else 0. */
  bad: number;
  nonFinite: number;
  normText: string;
  maxAbsText: string;
  weightNorm?: string;
  updateRatio?: string;
}

/**
 * One row of the global-norm line. Exported for the tests, not from the package's index.
 * @internal
 */
export interface GlobalRow {
  step: number;
  /** The global norm when finite and > 0 (it goes on a log scale), else null. */
  globalNorm: number | null;
  globalNormText: string;
  /** `'ok'`, `'0'` or {@link NON_FINITE_LABEL}. */
  kind: string;
}

/** Exact text of a number, as JavaScript writes it (`1.2e-7`, `NaN`, `Infinity`). */
function exact(x: number): string {
  return String(x);
}

/**
 * A figure of a history record: a number, or as JSON holds a non-finite one (`monitor.toJSON()` writes `"NaN"`,
 * `"Infinity"` and `"-Infinity"`; `JSON.stringify` alone writes null), so that a saved history plots as it was.
 */
function figure(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (value === null || value === 'NaN') return Number.NaN;
  if (value === 'Infinity') return Number.POSITIVE_INFINITY;
  if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
  return undefined;
}

/** The history checked, with figures saved as JSON turned back into numbers. */
function checkHistory(fn: string, history: unknown): readonly StepRecord[] {
  if (!Array.isArray(history)) fail(fn, 'history must be an array of step records', history);
  // Array.from, not map: map skips the holes of a sparse array, which would then fail further on.
  return Array.from(history as unknown[], (r: unknown, i): StepRecord => {
    const rec = r as Partial<Record<keyof StepRecord, unknown>> | null;
    if (rec === null || typeof rec !== 'object' || typeof rec.step !== 'number' || !Number.isFinite(rec.step)) {
      fail(fn, `history[${i}] must be a step record with a finite step number`, r);
    }
    const globalNorm = figure(rec.globalNorm);
    if (globalNorm === undefined) fail(fn, `history[${i}].globalNorm must be a number`, rec.globalNorm);
    if (!Array.isArray(rec.layers)) fail(fn, `history[${i}].layers must be an array`, rec.layers);
    const layers = Array.from(rec.layers as unknown[], (l: unknown, j): LayerStepStats => {
      const stats = l as Partial<Record<keyof LayerStepStats, unknown>> | null;
      if (stats === null || typeof stats !== 'object' || typeof stats.layer !== 'string') {
        fail(fn, `history[${i}].layers[${j}] must have a string layer name`, l);
      }
      const at = `history[${i}].layers[${j}]`;
      const number = (key: keyof LayerStepStats, optional: boolean): number | undefined => {
        const value = stats[key];
        if (optional && value === undefined) return undefined;
        const n = figure(value);
        if (n === undefined) fail(fn, `${at}.${key} must be a number`, value);
        return n;
      };
      const weightNorm = number('weightNorm', true);
      const updateRatio = number('updateRatio', true);
      return {
        layer: stats.layer,
        norm: number('norm', false) as number,
        maxAbs: stats.maxAbs === undefined ? Number.NaN : (number('maxAbs', false) as number),
        nonFinite: stats.nonFinite === undefined ? 0 : (number('nonFinite', false) as number),
        ...(weightNorm === undefined ? {} : { weightNorm }),
        ...(updateRatio === undefined ? {} : { updateRatio }),
      };
    });
    return { step: rec.step, globalNorm, layers };
  });
}

/** A chart size: > 0 and at most 16384 pixels (browsers' largest canvas; larger sizes take vega seconds to draw). */
function pixels(fn: string, name: string, value: unknown): number {
  const n = positiveFinite(fn, name, value);
  if (n > MAX_PIXELS) fail(fn, `${name} must be at most ${MAX_PIXELS} (pixels)`, value);
  return n;
}
const MAX_PIXELS = 16384;

/** The options with their defaults filled in (the height's depends on the data). */
interface PlotSettings {
  readonly title: string;
  readonly width: number;
  readonly height: number | undefined;
  readonly maxColumns: number;
}

function checkOptions(fn: string, options: unknown, keys: readonly string[] = OPTION_KEYS): PlotSettings {
  const opts = optionsObject<GradientHealthPlotOptions>(fn, options, keys);
  if (opts.title !== undefined && typeof opts.title !== 'string') fail(fn, 'title must be a string', opts.title);
  return {
    title: opts.title ?? 'Gradient health',
    width: opts.width === undefined ? 640 : pixels(fn, 'width', opts.width),
    height: opts.height === undefined ? undefined : pixels(fn, 'height', opts.height),
    maxColumns: opts.maxColumns === undefined ? 500 : wholeNumber(fn, 'maxColumns', opts.maxColumns, 1),
  };
}

/**
 * Ticks of a log axis: one per power of ten (at most 6, thinned evenly) when the values span two decades or more,
 * else a few of the scale's own; the scale's own would otherwise grid every 2, 3, ... 9 of every decade.
 */
function logTicks(values: readonly number[]): { values?: number[]; tickCount?: number } {
  if (values.length === 0) return { tickCount: 4 };
  const lo = Math.floor(Math.log10(minOf(values)));
  const hi = Math.ceil(Math.log10(maxOf(values)));
  if (hi - lo < 2) return { tickCount: 4 };
  const every = Math.ceil((hi - lo + 1) / 6);
  const out: number[] = [];
  for (let k = hi; k >= lo; k -= every) out.unshift(10 ** k);
  return { values: out };
}

/** The median of a non-empty list. */
function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/**
 * Each distinct step's cell edges: centred on the step, as wide as the usual gap between recorded steps (the
 * median gap, so that a sampled history tiles without holes), but never reaching past half-way to a neighbour
 * (so that a gap in the history stays visible as one).
 */
function cellEdges(steps: readonly number[]): Map<number, [number, number]> {
  const edges = new Map<number, [number, number]>();
  const gaps = steps.slice(1).map((s, i) => s - (steps[i] as number));
  const usual = gaps.length > 0 ? median(gaps) : 1;
  steps.forEach((s, i) => {
    const before = i > 0 ? Math.min(usual, gaps[i - 1] as number) : usual;
    const after = i < gaps.length ? Math.min(usual, gaps[i] as number) : usual;
    edges.set(s, [s - before / 2, s + after / 2]);
  });
  return edges;
}

/** Groups the cells into at most `maxColumns` columns of equal width (in whole steps when steps are whole). */
function groupedEdges(
  steps: readonly number[],
  cells: Map<number, [number, number]>,
  maxColumns: number,
): Map<number, [number, number]> {
  const lo = (cells.get(steps[0] as number) as [number, number])[0];
  const hi = (cells.get(steps[steps.length - 1] as number) as [number, number])[1];
  const raw = (hi - lo) / maxColumns;
  const width = steps.every(Number.isInteger) ? Math.ceil(raw) : raw;
  const out = new Map<number, [number, number]>();
  for (const s of steps) {
    const k = Math.min(Math.floor((s - lo) / width), maxColumns - 1);
    out.set(s, [lo + k * width, lo + (k + 1) * width]);
  }
  return out;
}

/**
 * A Vega-Lite v6 spec (also valid Vega-Lite v5) of a gradient-health history, as plain JSON with the data inline:
 * a picture of where gradients vanish or explode, layer by layer and step by step.
 *
 * Two panels, one above the other, sharing the step axis:
 * - a heatmap, x = step, y = layer in model order with the **input side at the top** (the order of the records'
 *   `layers`; a layer that appears only later goes below the others), colour = log10 of the layer's gradient norm
 *   on the perceptually uniform `viridis` scale: vanishing layers are dark purple, exploding ones bright yellow.
 *   A norm of exactly 0 is drawn at a floor one decade below the smallest positive norm (the subtitle says so and
 *   the tooltip shows 0). A cell whose norm is NaN or ±Infinity, or whose gradients hold any non-finite entry
 *   (`nonFinite > 0`), is painted red. Cells sit on the real step numbers, so a sampled or sparse history keeps
 *   its time axis; beyond `maxColumns` distinct steps, consecutive steps share a column (geometric mean of norms).
 * - the global norm over steps, as a line on a log scale; a step whose global norm is 0 or not finite cannot sit
 *   on it, so it gets a vertical rule instead: grey for 0, red for NaN or ±Infinity.
 *
 * Tooltips (in a browser, e.g. with `vega-embed`) give the exact numbers of each cell and point. The function is
 * pure and needs neither `vega` nor `vega-lite`; see {@link renderGradientHealthSvg} to draw it.
 *
 * @param history The monitor's step records, in any step order.
 * @example
 * ```ts
 * import { gradientHealthSpec } from 'gradstab';
 * const history = [1, 2, 3].map((step) => ({
 *   step,
 *   globalNorm: 2 / step,
 *   layers: [
 *     { layer: 'dense_1', norm: 0.01 / step, maxAbs: 0.001, nonFinite: 0 },
 *     { layer: 'dense_2', norm: 1 / step, maxAbs: 0.1, nonFinite: 0 },
 *   ],
 * }));
 * const spec = gradientHealthSpec(history, { title: 'My run' });
 * // Plain JSON: save it, or embed it in a page with vega-embed: vegaEmbed('#chart', spec).
 * console.log(JSON.stringify(spec).includes('My run')); // true
 * ```
 */
export function gradientHealthSpec(history: readonly StepRecord[], options?: GradientHealthPlotOptions): VegaLiteSpec {
  const fn = 'gradientHealthSpec';
  return buildSpec(checkHistory(fn, history), checkOptions(fn, options));
}

function buildSpec(history: readonly StepRecord[], opts: PlotSettings): VegaLiteSpec {
  const records = [...history].sort((a, b) => a.step - b.step);
  const layerNames: string[] = [];
  const seen = new Set<string>();
  let minPositive = Number.POSITIVE_INFINITY;
  let hasZero = false;
  let hasWeightNorm = false;
  let hasUpdateRatio = false;
  for (const r of records) {
    for (const l of r.layers) {
      if (!seen.has(l.layer)) {
        seen.add(l.layer);
        layerNames.push(l.layer);
      }
      if (Number.isFinite(l.norm) && l.norm > 0) minPositive = Math.min(minPositive, l.norm);
      if (l.norm === 0) hasZero = true;
      if (l.weightNorm !== undefined) hasWeightNorm = true;
      if (l.updateRatio !== undefined) hasUpdateRatio = true;
    }
  }
  const floorLog = Number.isFinite(minPositive) ? Math.log10(minPositive) - 1 : FLOOR_WHEN_ALL_ZERO;
  const order = new Map(layerNames.map((name, i) => [name, i]));

  const steps = [...new Set(records.map((r) => r.step))];
  const single = cellEdges(steps);
  // At most one column per pixel: narrower ones would round to nothing.
  const maxColumns = Math.max(1, Math.min(opts.maxColumns, Math.floor(opts.width)));
  const grouped = steps.length > maxColumns;
  const edges = grouped ? groupedEdges(steps, single, maxColumns) : single;

  const cells: CellRow[] = [];
  const globals: GlobalRow[] = [];
  for (const r of records) {
    const [x0, x1] = edges.get(r.step) as [number, number];
    for (const l of r.layers) {
      const finite = Number.isFinite(l.norm);
      const row: CellRow = {
        step: r.step,
        layer: l.layer,
        order: order.get(l.layer) as number,
        x0,
        x1,
        norm: finite ? l.norm : null,
        logNorm: !finite ? null : l.norm > 0 ? Math.log10(l.norm) : floorLog,
        zero: l.norm === 0,
        bad: !finite || l.nonFinite > 0 ? 1 : 0,
        nonFinite: l.nonFinite,
        normText: exact(l.norm),
        maxAbsText: exact(l.maxAbs),
      };
      if (l.weightNorm !== undefined) row.weightNorm = exact(l.weightNorm);
      if (l.updateRatio !== undefined) row.updateRatio = exact(l.updateRatio);
      cells.push(row);
    }
    const g = r.globalNorm;
    const ok = Number.isFinite(g) && g > 0;
    globals.push({
      step: r.step,
      globalNorm: ok ? g : null,
      globalNormText: exact(g),
      kind: ok ? 'ok' : g === 0 ? '0' : NON_FINITE_LABEL,
    });
  }

  const lo = steps.length > 0 ? minOf([...edges.values()].map((e) => e[0])) : 0;
  const hi = steps.length > 0 ? maxOf([...edges.values()].map((e) => e[1])) : 1;
  // Whole-pixel cell edges: adjacent cells then meet exactly, without the hairline seams of anti-aliasing.
  const xScale = { domain: [lo, hi], nice: false, zero: false, round: true };
  const width = opts.width;
  const height = opts.height ?? Math.min(480, Math.max(80, 16 * layerNames.length));
  const lineHeight = Math.max(90, Math.round(height / 3));

  const subtitle = [
    `Gradient norm per layer (log10, input side at the top) and global norm over ${steps.length} recorded steps.`,
  ];
  if (grouped) subtitle.push(`Heatmap columns group consecutive steps: geometric mean of each column's norms.`);
  if (hasZero) {
    subtitle.push(
      `Zero norms are drawn at the floor ${(10 ** floorLog).toExponential(1)} (the smallest nonzero / 10).`,
    );
  }

  const extraTooltips = [
    ...(hasWeightNorm ? [{ field: 'weightNorm', type: 'nominal', title: 'weight norm' }] : []),
    ...(hasUpdateRatio ? [{ field: 'updateRatio', type: 'nominal', title: 'update ratio' }] : []),
  ];
  const cellTooltip = grouped
    ? [
        { field: 'firstStep', type: 'quantitative', title: 'from step' },
        { field: 'lastStep', type: 'quantitative', title: 'to step' },
        { field: 'layer', type: 'nominal' },
        { field: 'geoMeanNorm', type: 'quantitative', title: 'norm (geometric mean)', format: '.4~e' },
        { field: 'minNorm', type: 'quantitative', title: 'min norm', format: '.6~e' },
        { field: 'maxNorm', type: 'quantitative', title: 'max finite norm', format: '.6~e' },
        { field: 'nonFinite', type: 'quantitative', title: 'non-finite entries' },
        { field: 'steps', type: 'quantitative', title: 'steps recorded' },
      ]
    : [
        { field: 'step', type: 'quantitative' },
        { field: 'layer', type: 'nominal' },
        { field: 'normText', type: 'nominal', title: 'norm' },
        { field: 'logNorm', type: 'quantitative', title: 'log10 norm', format: '.3f' },
        { field: 'maxAbsText', type: 'nominal', title: 'max |g|' },
        { field: 'nonFinite', type: 'quantitative', title: 'non-finite entries' },
        ...extraTooltips,
      ];
  const groupTransform = grouped
    ? [
        {
          aggregate: [
            { op: 'mean', field: 'logNorm', as: 'logNorm' },
            { op: 'min', field: 'norm', as: 'minNorm' },
            { op: 'max', field: 'norm', as: 'maxNorm' },
            { op: 'sum', field: 'nonFinite', as: 'nonFinite' },
            { op: 'max', field: 'bad', as: 'bad' },
            { op: 'min', field: 'step', as: 'firstStep' },
            { op: 'max', field: 'step', as: 'lastStep' },
            { op: 'count', as: 'steps' },
          ],
          groupby: ['x0', 'x1', 'layer'],
        },
        { calculate: 'isValid(datum.logNorm) ? pow(10, datum.logNorm) : null', as: 'geoMeanNorm' },
      ]
    : [];

  const heatmap = {
    width,
    height,
    transform: groupTransform,
    encoding: {
      x: { field: 'x0', type: 'quantitative', scale: xScale, title: null, axis: { grid: false } },
      x2: { field: 'x1' },
      y: {
        field: 'layer',
        type: 'nominal',
        scale: { domain: layerNames, round: true },
        sort: layerNames,
        title: height >= 130 ? 'layer (input at top)' : 'layer',
        // A title longer than the panel is high would push the panel down: cut it instead.
        axis: { labelOverlap: 'greedy', labelLimit: 160, titleLimit: height },
      },
      tooltip: cellTooltip,
    },
    layer: [
      {
        transform: [{ filter: 'isValid(datum.logNorm) && isFinite(datum.logNorm)' }],
        mark: { type: 'rect', aria: false },
        encoding: {
          color: {
            field: 'logNorm',
            type: 'quantitative',
            scale: { scheme: 'viridis' },
            title: 'log10 norm',
            legend: { orient: 'right', gradientLength: Math.max(60, Math.min(height, 200)) },
          },
        },
      },
      ...(cells.some((c) => c.bad > 0)
        ? [
            {
              transform: [{ filter: 'datum.bad > 0' }],
              mark: { type: 'rect', aria: false },
              encoding: {
                color: {
                  datum: NON_FINITE_LABEL,
                  type: 'nominal',
                  scale: { domain: [NON_FINITE_LABEL], range: [NON_FINITE_COLOR] },
                  title: null,
                  legend: { orient: 'right' },
                },
              },
            },
          ]
        : []),
    ],
    resolve: { scale: { color: 'independent' } },
  };

  const okNorms = globals.flatMap((g) => (g.globalNorm === null ? [] : [g.globalNorm]));
  const marked = [NON_FINITE_LABEL, '0'].filter((kind) => globals.some((g) => g.kind === kind));
  const tooltip = [
    { field: 'step', type: 'quantitative' },
    { field: 'globalNormText', type: 'nominal', title: 'global norm' },
  ];
  const lineLayer = {
    // Unfiltered: the null norms of the marked steps break the line there.
    mark: {
      type: 'line',
      invalid: 'break-paths-show-domains',
      color: '#333333',
      strokeWidth: 1.5,
      point: steps.length <= 60 ? { color: '#333333', size: 16 } : false,
    },
    encoding: {
      y: {
        field: 'globalNorm',
        type: 'quantitative',
        scale: { type: 'log' },
        title: 'global norm (log)',
        axis: { format: '~g', ...logTicks(okNorms) },
      },
      tooltip,
    },
  };
  const ruleLayer = {
    transform: [{ filter: "datum.kind !== 'ok'" }],
    mark: { type: 'rule', strokeWidth: 1.5 },
    encoding: {
      color: {
        field: 'kind',
        type: 'nominal',
        scale: { domain: marked, range: marked.map((k) => (k === '0' ? ZERO_COLOR : NON_FINITE_COLOR)) },
        title: 'global norm',
        legend: { orient: 'right' },
      },
      tooltip,
    },
  };
  const globalPanel = {
    width,
    height: lineHeight,
    data: { name: 'global' },
    encoding: {
      x: { field: 'step', type: 'quantitative', scale: xScale, title: 'step', axis: { grid: false } },
    },
    layer: [
      ...(okNorms.length > 0 || marked.length === 0 ? [lineLayer] : []),
      ...(marked.length > 0 ? [ruleLayer] : []),
    ],
  };

  return {
    $schema: SCHEMA,
    title: { text: opts.title, subtitle, anchor: 'start' },
    datasets: { cells, global: globals },
    data: { name: 'cells' },
    vconcat: [heatmap, globalPanel],
    resolve: { scale: { color: 'independent' }, legend: { color: 'independent' } },
    config: { view: { stroke: null }, axis: { labelFontSize: 10, titleFontSize: 11 } },
  };
}

/** The parts of `vega` that the renderer uses. */
interface VegaApi {
  parse(spec: unknown, config?: unknown): unknown;
  View: new (
    runtime: never,
    options: { renderer: 'none' },
  ) => { toSVG(scaleFactor?: number): Promise<string>; finalize(): unknown };
}

/** The part of `vega-lite` that the renderer uses. */
interface VegaLiteApi {
  compile(spec: never): { spec: unknown };
}

/**
 * Loads one of the two optional packages. Tests pass a failing one to {@link renderSvgWith} to simulate a missing
 * package. Not exported from the package's index.
 * @internal
 */
export type ModuleLoader = (name: 'vega' | 'vega-lite') => Promise<unknown>;

/**
 * `import()` of a specifier bundlers cannot see: they leave it alone, so an app bundled for the browser that never
 * renders needs neither vega package installed (they are optional peers), and `node:fs` is never pulled into a
 * browser bundle. Node and import maps resolve the specifier at call time.
 */
const importAtRuntime = (specifier: string): Promise<unknown> => import(/* @vite-ignore */ specifier);

/**
 * The loader {@link renderGradientHealthSvg} uses. Not exported from the package's index.
 * @internal
 */
export const importVega: ModuleLoader = (name) => importAtRuntime(name);

async function loadModules(fn: string, load: ModuleLoader): Promise<{ vega: VegaApi; vegaLite: VegaLiteApi }> {
  const missing: string[] = [];
  const loaded: Record<string, unknown> = {};
  const causes: string[] = [];
  for (const name of ['vega', 'vega-lite'] as const) {
    try {
      loaded[name] = await load(name);
    } catch (e) {
      missing.push(name);
      causes.push((e as Error)?.message ?? String(e));
    }
  }
  if (missing.length > 0) {
    fail(
      fn,
      'rendering needs the optional peer dependencies vega and vega-lite: run `npm install vega vega-lite`',
      missing,
      `${missing.join(' and ')} could not be loaded (${causes.join('; ')})`,
    );
  }
  const vega = unwrap(loaded.vega) as Partial<VegaApi>;
  const vegaLite = unwrap(loaded['vega-lite']) as Partial<VegaLiteApi>;
  if (typeof vega.parse !== 'function' || typeof vega.View !== 'function' || typeof vegaLite.compile !== 'function') {
    fail(
      fn,
      'vega must export parse and View and vega-lite compile (install vega and vega-lite 6)',
      loaded,
      'other modules',
    );
  }
  return { vega: vega as VegaApi, vegaLite: vegaLite as VegaLiteApi };
}

/** A loader that hands out the modules the caller passed, or undefined when none were. */
function givenModules(fn: string, modules: unknown): ModuleLoader | undefined {
  if (modules === undefined) return undefined;
  const m = modules as Partial<VegaModules> | null;
  if (typeof m !== 'object' || m === null || !m.vega || !m.vegaLite) {
    fail(fn, 'modules must be { vega, vegaLite }: the two modules as imported', modules);
  }
  return async (name) => (name === 'vega' ? m.vega : m.vegaLite);
}

/** A CommonJS module imported from ESM comes as `{ default: exports }`. */
function unwrap(mod: unknown): unknown {
  const m = mod as { default?: unknown; parse?: unknown; compile?: unknown } | null;
  if (m && m.parse === undefined && m.compile === undefined && m.default) return m.default;
  return mod;
}

/**
 * {@link renderGradientHealthSvg} with the module loader as a parameter. Not exported from the package's index.
 * @internal
 */
export async function renderSvgWith(
  load: ModuleLoader,
  fn: string,
  history: readonly StepRecord[],
  options?: GradientHealthRenderOptions,
): Promise<string> {
  const spec = buildSpec(checkHistory(fn, history), checkOptions(fn, options, RENDER_OPTION_KEYS));
  const { vega, vegaLite } = await loadModules(fn, givenModules(fn, options?.modules) ?? load);
  const vgSpec = vegaLite.compile(spec as never).spec;
  const view = new vega.View(vega.parse(vgSpec) as never, { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Renders {@link gradientHealthSpec}'s chart to an SVG document string, headless: in Node (no canvas or browser
 * needed) or in a browser. Needs the optional peer dependencies `vega` and `vega-lite` (`npm install vega
 * vega-lite`), loaded with `import()` on the first call; without them it throws a {@link GradStabError} saying
 * so. In a bundled app, import them yourself and pass them as `options.modules` (bundlers do not follow that
 * `import()`). Tooltips are interactive only, so they are not in the SVG.
 *
 * @param history The monitor's step records.
 * @example
 * ```ts
 * import { renderGradientHealthSvg } from 'gradstab';
 * const history = [1, 2, 3, 4].map((step) => ({
 *   step,
 *   globalNorm: 1,
 *   layers: [
 *     { layer: 'conv', norm: 1e-6, maxAbs: 1e-7, nonFinite: 0 },
 *     { layer: 'dense', norm: step === 3 ? Number.NaN : 1, maxAbs: 0.5, nonFinite: step === 3 ? 2 : 0 },
 *   ],
 * }));
 * const svg = await renderGradientHealthSvg(history, { title: 'Run 7' });
 * console.log(svg.startsWith('<svg'), svg.includes('Run 7')); // true true
 * // In a bundled app: hand it the modules, which the bundler then includes.
 * const vega = await import('vega');
 * const vegaLite = await import('vega-lite');
 * const bundled = await renderGradientHealthSvg(history, { title: 'Run 7', modules: { vega, vegaLite } });
 * console.log(bundled.includes('Run 7')); // true
 * ```
 */
export async function renderGradientHealthSvg(
  history: readonly StepRecord[],
  options?: GradientHealthRenderOptions,
): Promise<string> {
  return renderSvgWith(importVega, 'renderGradientHealthSvg', history, options);
}

/**
 * Renders the chart (see {@link renderGradientHealthSvg}) and writes it to an SVG file. Node only: the file system
 * is imported at call time, so importing gradstab in a browser stays fine. Overwrites the file; the directory must
 * exist.
 *
 * @param path Where to write, e.g. `'gradients.svg'`.
 * @returns The path written.
 * @example
 * ```ts
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * import { writeGradientHealthSvg } from 'gradstab';
 * const history = [
 *   { step: 1, globalNorm: 3, layers: [{ layer: 'dense', norm: 3, maxAbs: 1, nonFinite: 0 }] },
 *   { step: 2, globalNorm: 0, layers: [{ layer: 'dense', norm: 0, maxAbs: 0, nonFinite: 0 }] },
 * ];
 * const file = await writeGradientHealthSvg(history, join(tmpdir(), 'gradstab-example.svg'));
 * console.log(file.endsWith('gradstab-example.svg')); // true
 * ```
 */
export async function writeGradientHealthSvg(
  history: readonly StepRecord[],
  path: string,
  options?: GradientHealthRenderOptions,
): Promise<string> {
  const fn = 'writeGradientHealthSvg';
  if (typeof path !== 'string' || path.length === 0) fail(fn, 'path must be a non-empty string', path);
  const svg = await renderSvgWith(importVega, fn, history, options);
  const { writeFile } = (await importAtRuntime('node:fs/promises')) as typeof import('node:fs/promises');
  await writeFile(path, svg, 'utf8');
  return path;
}

// Last in the file: the docs-examples harness pairs a doc comment with the next exported function or class, so an
// example here, above a function, would be taken for that function's.
/**
 * A Vega-Lite specification as plain JSON (no functions, no NaN or Infinity: `JSON.stringify` keeps all of it).
 * Typed loosely so that gradstab's types do not depend on `vega-lite`'s; pass it to `vega-lite`'s `compile`, to
 * `vega-embed`, or to anything else that takes a Vega-Lite spec.
 *
 * @example
 * ```ts
 * import { gradientHealthSpec, type VegaLiteSpec } from 'gradstab';
 * const spec: VegaLiteSpec = gradientHealthSpec([
 *   { step: 1, globalNorm: 1, layers: [{ layer: 'dense', norm: 1, maxAbs: 0.5, nonFinite: 0 }] },
 * ]);
 * console.log(JSON.stringify(spec).length > 0); // true
 * ```
 */
export type VegaLiteSpec = Record<string, unknown>;
