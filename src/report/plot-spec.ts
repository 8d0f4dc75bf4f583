/**
 * The pure half of the charting module: validates a `LineChartSpec`, cleans its data, and turns it
 * into a Vega-Lite spec. No rendering and no file I/O here (see `plot.ts`), so it is cheap to test.
 */
import type { TopLevelSpec } from 'vega-lite';
import { GrowbertError } from '../io/errors.js';

export interface Point {
  x: number;
  y: number;
}

export interface Series {
  name: string;
  points: Point[];
}

/**
 * A labelled event on the chart (e.g. a growth step). With `y` it is a point at (x, y); without
 * `y` but with `series` it is a point on that series' line at `x` (when `x` lies within the
 * series' range); otherwise it is a vertical rule at `x`. With `series` it takes that series' colour.
 */
export interface Marker {
  x: number;
  y?: number;
  series?: string;
  label: string;
}

export interface LineChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  markers?: Marker[];
  logX?: boolean;
  logY?: boolean;
  /** Fixed y range; lines outside it are clipped. */
  yDomain?: [number, number];
  /** Plot-area size in SVG pixels (default 640 x 400); title, axes and legend add to it. */
  width?: number;
  height?: number;
  /** Horizontal reference lines, e.g. the baseline's final loss. */
  hLines?: { y: number; label: string }[];
}

/** The font every piece of chart text uses; `plot.ts` hands the same font file to the PNG renderer. */
export const CHART_FONT_FAMILY = 'DejaVu Sans';
/** The font list written into the SVG: DejaVu Sans first; fallbacks for viewers that lack it. */
export const CHART_FONT_STACK = `${CHART_FONT_FAMILY}, Verdana, sans-serif`;

export const DEFAULT_WIDTH = 640;
export const DEFAULT_HEIGHT = 400;

/** Categorical colours: Tableau 10 (tuned for colour-vision deficiency), then darker shades of its hues. */
const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
  '#1f4e79',
  '#a0522d',
  '#8b1a1a',
  '#2f6f6a',
  '#2e6b27',
  '#9a7d0a',
  '#6b3e66',
  '#c2185b',
  '#5d4037',
  '#616161',
];
const NEUTRAL = '#333333';

/** `n` visually distinct colours: the fixed palette first, then golden-angle hues beyond it. */
export function seriesColours(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    if (i < PALETTE.length) out.push(PALETTE[i]!);
    else out.push(`hsl(${Math.round(((i - PALETTE.length) * 137.508) % 360)}, 65%, 42%)`);
  }
  return out;
}

interface LineRow {
  series: string;
  x: number;
  y: number;
}
interface MarkerRow {
  x: number;
  y: number;
  label: string;
  colour: string;
}
interface RuleRow {
  x: number;
  label: string;
  colour: string;
  /** Which side of the rule its label goes: away from the nearer edge of the x range. */
  side: 'left' | 'right';
}
interface HLineRow {
  y: number;
  label: string;
}

/** The cleaned data a chart draws, in the order it is drawn. Exposed for tests. */
export interface ChartData {
  colours: Map<string, string>;
  /** Legend entries in series order; a series with nothing to draw reads "NAME (no data)". */
  legend: { value: string; colour: string }[];
  lines: LineRow[];
  /** Rows of series that have exactly one drawable point (a line of one point is invisible). */
  lonePoints: LineRow[];
  markerPoints: MarkerRow[];
  markerRules: RuleRow[];
  hLines: HLineRow[];
}

function checkPositiveInt(v: number | undefined, what: string): void {
  if (v === undefined) return;
  if (!Number.isInteger(v) || v < 16 || v > 10000) {
    throw new GrowbertError(`chart ${what} ${v} is invalid: give a whole number of pixels from 16 to 10000`);
  }
}

/** Validate the parts of a spec that cannot be repaired by dropping points. */
export function validateSpec(spec: LineChartSpec): void {
  const seen = new Set<string>();
  for (const s of spec.series) {
    if (seen.has(s.name)) {
      throw new GrowbertError(
        `chart "${spec.title}" has two series named "${s.name}": give each series a distinct name`,
      );
    }
    seen.add(s.name);
  }
  checkPositiveInt(spec.width, 'width');
  checkPositiveInt(spec.height, 'height');
  if (spec.yDomain) {
    const [lo, hi] = spec.yDomain;
    if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(lo < hi) || (spec.logY && lo <= 0)) {
      throw new GrowbertError(
        `chart "${spec.title}" yDomain [${lo}, ${hi}] is invalid: give finite numbers with low < high` +
          (spec.logY ? ' and low > 0 (logY)' : ''),
      );
    }
  }
  for (const m of spec.markers ?? []) {
    if (m.series !== undefined && !seen.has(m.series)) {
      throw new GrowbertError(
        `chart "${spec.title}" marker "${m.label}" names series "${m.series}", which the chart lacks: name one of its series or leave series out`,
      );
    }
  }
}

/**
 * Clean the spec's data: drop points that cannot be drawn (NaN, ±Infinity, and non-positive values
 * on a log axis), sort each series by x, and resolve markers to points or rules.
 */
export function chartData(spec: LineChartSpec): ChartData {
  validateSpec(spec);
  const okX = (x: number): boolean => Number.isFinite(x) && (!spec.logX || x > 0);
  const okY = (y: number): boolean => Number.isFinite(y) && (!spec.logY || y > 0);
  const palette = seriesColours(spec.series.length);
  const colours = new Map<string, string>();
  const sorted = new Map<string, Point[]>();
  const lines: LineRow[] = [];
  const lonePoints: LineRow[] = [];
  spec.series.forEach((s, i) => {
    colours.set(s.name, palette[i]!);
    const pts = s.points.filter((p) => okX(p.x) && okY(p.y)).sort((a, b) => a.x - b.x);
    sorted.set(s.name, pts);
    const rows = pts.map((p) => ({ series: s.name, x: p.x, y: p.y }));
    lines.push(...rows);
    if (rows.length === 1) lonePoints.push(rows[0]!);
  });
  const legend = spec.series.map((s) => {
    const noData = `${s.name} (no data)`;
    const empty = sorted.get(s.name)!.length === 0 && !colours.has(noData);
    return { value: empty ? noData : s.name, colour: colours.get(s.name)! };
  });

  const markerPoints: MarkerRow[] = [];
  const markerRules: RuleRow[] = [];
  for (const m of spec.markers ?? []) {
    if (!okX(m.x)) continue;
    const colour = m.series !== undefined ? colours.get(m.series)! : NEUTRAL;
    if (m.y !== undefined) {
      if (okY(m.y)) markerPoints.push({ x: m.x, y: m.y, label: m.label, colour });
      continue;
    }
    const onLine = m.series !== undefined ? interpolate(sorted.get(m.series)!, m.x, spec) : undefined;
    if (onLine !== undefined) markerPoints.push({ x: m.x, y: onLine, label: m.label, colour });
    else markerRules.push({ x: m.x, label: m.label, colour, side: 'right' });
  }
  const hLines = (spec.hLines ?? []).filter((h) => okY(h.y)).map((h) => ({ y: h.y, label: h.label }));
  // A rule in the right half of the x range gets its label on its left, and vice versa, so the
  // label stays inside the plot rather than running over the axis or the legend.
  const fx = spec.logX ? Math.log : (v: number) => v;
  let lo = Infinity;
  let hi = -Infinity;
  for (const rows of [lines, markerPoints, markerRules]) {
    for (const r of rows) {
      lo = Math.min(lo, fx(r.x));
      hi = Math.max(hi, fx(r.x));
    }
  }
  for (const r of markerRules) if (hi > lo && fx(r.x) > (lo + hi) / 2) r.side = 'left';
  return { colours, legend, lines, lonePoints, markerPoints, markerRules, hLines };
}

/**
 * The y where the drawn line of `pts` (sorted by x) crosses `x`, or undefined outside its x range.
 * Interpolates in screen space (log space on a log axis), so the point sits on the drawn segment.
 */
function interpolate(pts: Point[], x: number, spec: LineChartSpec): number | undefined {
  if (pts.length === 0 || x < pts[0]!.x || x > pts[pts.length - 1]!.x) return undefined;
  const fx = spec.logX ? Math.log : (v: number) => v;
  const fy = spec.logY ? Math.log : (v: number) => v;
  const gy = spec.logY ? Math.exp : (v: number) => v;
  for (let i = 0; i < pts.length; i++) {
    const b = pts[i]!;
    if (b.x === x) return b.y;
    if (b.x > x) {
      const a = pts[i - 1]!;
      const t = (fx(x) - fx(a.x)) / (fx(b.x) - fx(a.x));
      return gy(fy(a.y) + t * (fy(b.y) - fy(a.y)));
    }
  }
  return undefined;
}

/** A linear or log scale; a fixed domain is kept exactly (not widened to nice round ends). */
function scaleFor(log: boolean, domain: [number, number] | undefined): Record<string, unknown> {
  return {
    type: log ? 'log' : 'linear',
    ...(log ? {} : { zero: false }),
    nice: !log && domain === undefined,
    ...(domain ? { domain: [domain[0], domain[1]] } : {}),
  };
}

function unitDomain(log: boolean): [number, number] {
  return log ? [1, 10] : [0, 1];
}

/**
 * Two text layers for labels drawn over lines: a white outline underneath, then the text, so a
 * label stays legible where it crosses a line or grid.
 */
function haloText(
  rows: object[],
  clip: boolean,
  mark: Record<string, unknown>,
  encoding: Record<string, unknown>,
): unknown[] {
  const text = { field: 'label', type: 'nominal' };
  const base: Record<string, unknown> = { type: 'text', fontSize: 11, clip, ...mark };
  const { fill: _fill, ...plain } = encoding;
  const { color: _color, ...uncoloured } = base;
  return [
    {
      data: { values: rows },
      mark: { ...uncoloured, fill: 'white', stroke: 'white', strokeWidth: 3, strokeJoin: 'round' },
      encoding: { ...plain, text },
    },
    { data: { values: rows }, mark: base, encoding: { ...encoding, text } },
  ];
}

/** The Vega-Lite spec for a line chart. Pure; `plot.ts` compiles and renders it. */
export function buildVegaLiteSpec(spec: LineChartSpec): TopLevelSpec {
  const d = chartData(spec);
  const width = spec.width ?? DEFAULT_WIDTH;
  const height = spec.height ?? DEFAULT_HEIGHT;
  // With nothing to place on an axis, give it a unit domain rather than an infinite one.
  const hasX = d.lines.length + d.markerPoints.length + d.markerRules.length > 0;
  const hasY = d.lines.length + d.markerPoints.length + d.hLines.length > 0;
  const xScale = scaleFor(spec.logX === true, hasX ? undefined : unitDomain(spec.logX === true));
  const yScale = scaleFor(spec.logY === true, spec.yDomain ?? (hasY ? undefined : unitDomain(spec.logY === true)));
  const x = { field: 'x', type: 'quantitative', scale: xScale, title: spec.xLabel } as const;
  const y = { field: 'y', type: 'quantitative', scale: yScale, title: spec.yLabel } as const;
  const names = d.legend.map((e) => e.value);
  const colour = {
    field: 'series',
    type: 'nominal',
    // Explicit domain: empty series still get a legend entry, and colours follow the given order.
    scale: { domain: names, range: d.legend.map((e) => e.colour) },
    legend:
      names.length > 0
        ? { title: null, orient: 'right', symbolType: 'stroke', symbolStrokeWidth: 3, labelLimit: 320 }
        : null,
  } as const;
  // Literal colours for markers (scale: null uses the field value as the colour, with no legend).
  // They go on stroke/fill, not color, so they do not merge with the series' colour legend.
  const literalColour = { field: 'colour', type: 'nominal', scale: null, legend: null } as const;

  // Clip to the plot area only under a fixed yDomain (the one way data can fall outside it), so
  // a marker at the edge of a data-fitted domain is drawn whole.
  const clip = spec.yDomain !== undefined;
  const layers: unknown[] = [];
  if (d.lines.length > 0) {
    layers.push({
      data: { values: d.lines },
      mark: { type: 'line', clip: true, strokeWidth: 2, interpolate: 'linear' },
      encoding: { x, y, color: colour, order: { field: 'x', type: 'quantitative' } },
    });
  } else {
    // No line to draw: an invisible layer still yields the legend and the axes. Its rows sit at
    // an x and a y that other layers (or the unit domain) already cover, so they move no scale.
    const at = {
      x: d.markerPoints[0]?.x ?? d.markerRules[0]?.x ?? unitDomain(spec.logX === true)[0],
      y: d.markerPoints[0]?.y ?? d.hLines[0]?.y ?? (spec.yDomain ?? unitDomain(spec.logY === true))[0],
    };
    layers.push({
      data: { values: d.legend.map((e) => ({ series: e.value, ...at })) },
      mark: { type: 'point', opacity: 0 },
      encoding: { x, y, color: colour },
    });
  }
  // A series with one drawable point has no line to show; draw the point. (Layers are added only
  // when they have rows: Vega warns about the infinite extent of an empty data set.)
  if (d.lonePoints.length > 0) {
    layers.push({
      data: { values: d.lonePoints },
      mark: { type: 'point', filled: true, size: 60, clip },
      encoding: { x, y, color: colour },
    });
  }
  if (d.hLines.length > 0) {
    layers.push({
      data: { values: d.hLines },
      mark: { type: 'rule', strokeDash: [6, 4], color: NEUTRAL, strokeWidth: 1.5, clip },
      encoding: { y },
    });
    layers.push(
      // Label at the left end: curves that approach this level (losses falling, scores rising)
      // start far from it, so the label rarely hides data there.
      ...haloText(
        d.hLines,
        clip,
        { align: 'left', baseline: 'bottom', dx: 4, dy: -3, color: NEUTRAL },
        { y, x: { value: 0 } },
      ),
    );
  }
  if (d.markerRules.length > 0) {
    layers.push({
      data: { values: d.markerRules },
      mark: { type: 'rule', strokeDash: [3, 3], strokeWidth: 1.5, clip },
      encoding: { x, stroke: literalColour },
    });
    layers.push(
      // Labels run up the rule from just below the top edge, so neighbouring events do not collide.
      ...(['left', 'right'] as const).flatMap((side) => {
        const rows = d.markerRules.filter((r) => r.side === side);
        if (rows.length === 0) return [];
        const mark = {
          angle: 270,
          align: 'right',
          baseline: side === 'left' ? 'bottom' : 'top',
          dx: -4,
          dy: side === 'left' ? -3 : 3,
        };
        return haloText(rows, clip, mark, { x, y: { value: 0 }, fill: literalColour });
      }),
    );
  }
  if (d.markerPoints.length > 0) {
    layers.push({
      data: { values: d.markerPoints },
      mark: {
        type: 'point',
        shape: 'diamond',
        filled: true,
        size: 90,
        stroke: 'white',
        strokeWidth: 1,
        opacity: 1,
        clip,
      },
      encoding: { x, y, fill: literalColour },
    });
    layers.push(
      ...haloText(
        d.markerPoints,
        clip,
        { align: 'left', baseline: 'bottom', dx: 6, dy: -5 },
        { x, y, fill: literalColour },
      ),
    );
  }

  const vl = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: spec.title, fontSize: 15, anchor: 'start' },
    width,
    height,
    background: 'white',
    padding: 8,
    config: {
      font: CHART_FONT_STACK,
      axis: {
        labelFontSize: 11,
        titleFontSize: 12,
        grid: true,
        gridColor: '#e6e6e6',
        labelOverlap: true,
        labelSeparation: 6,
      },
      legend: { labelFontSize: 12 },
      view: { stroke: '#888888' },
    },
    layer: layers,
  };
  return vl as unknown as TopLevelSpec;
}
