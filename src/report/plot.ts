/**
 * Line charts for reports (e.g. the growth comparison): Vega-Lite compiles the chart, Vega renders
 * it to SVG headlessly (no canvas), and resvg rasterises the SVG to PNG. All text uses the DejaVu
 * Sans font shipped in the `dejavu-fonts-ttf` npm package, so the PNG has legible text even on a
 * machine with no system fonts, and SVG and PNG name the same family.
 */
import { renderAsync } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import { atomicWriteFile } from '../io/atomic.js';
import { buildVegaLiteSpec, CHART_FONT_FAMILY, type LineChartSpec } from './plot-spec.js';
import { FONT_FILES, installTextMetrics } from './text-metrics.js';

export type { LineChartSpec, Marker, Point, Series } from './plot-spec.js';
export { buildVegaLiteSpec, chartData, CHART_FONT_FAMILY } from './plot-spec.js';

/** PNG pixels per SVG pixel: 2 keeps text crisp on high-density screens and in printed reports. */
export const PNG_SCALE = 2;

/** Render the chart to an SVG string and a PNG image (`PNG_SCALE` x the SVG's pixel size). */
export async function renderLineChart(spec: LineChartSpec): Promise<{ svg: string; png: Uint8Array }> {
  const svg = await renderSvg(spec);
  const { png } = await rasterise(svg);
  return { svg, png };
}

/**
 * Rasterise an SVG at `PNG_SCALE` on white, with the bundled DejaVu Sans as the only font (system
 * fonts are not loaded, so output does not depend on the machine). Returns the PNG and, for
 * tests, the raw RGBA pixels.
 */
export async function rasterise(
  svg: string,
): Promise<{ png: Uint8Array; pixels: Uint8Array; width: number; height: number }> {
  const image = await renderAsync(svg, {
    fitTo: { mode: 'zoom', value: PNG_SCALE },
    background: 'white',
    font: {
      fontFiles: [FONT_FILES.regular, FONT_FILES.bold],
      loadSystemFonts: false,
      defaultFontFamily: CHART_FONT_FAMILY,
      sansSerifFamily: CHART_FONT_FAMILY,
    },
    logLevel: 'error',
  });
  return {
    png: new Uint8Array(image.asPng()),
    pixels: new Uint8Array(image.pixels),
    width: image.width,
    height: image.height,
  };
}

/**
 * Render the chart and write `${fileStem}.svg` and `${fileStem}.png`, each atomically (temp +
 * rename), creating the folder if needed. Both are rendered before either is written.
 */
export async function writeChart(fileStem: string, spec: LineChartSpec): Promise<{ svgPath: string; pngPath: string }> {
  const { svg, png } = await renderLineChart(spec);
  const svgPath = `${fileStem}.svg`;
  const pngPath = `${fileStem}.png`;
  atomicWriteFile(svgPath, svg);
  atomicWriteFile(pngPath, png);
  return { svgPath, pngPath };
}

async function renderSvg(spec: LineChartSpec): Promise<string> {
  installTextMetrics();
  const compiled = compile(buildVegaLiteSpec(spec)).spec;
  // renderer 'none': no canvas or DOM; toSVG() builds the SVG from the scenegraph.
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Warn });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
