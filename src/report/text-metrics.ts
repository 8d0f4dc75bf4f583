/**
 * Text measurement for headless Vega. Without a canvas, Vega guesses a string's width as
 * 0.8 x font size per character, which overestimates DejaVu Sans by ~50% and leaves wide empty
 * margins (the legend column, axis-title offsets). Here we measure with the real font file's
 * advance widths (opentype.js), the same file resvg draws the PNG with.
 *
 * Vega supports replacing `textMetrics.width` for this (vl-convert does the same); it is process-
 * global, so every Vega view in this process measures text as DejaVu Sans once it is installed.
 */
import { createRequire } from 'node:module';
import opentype from 'opentype.js';
import * as vega from 'vega';

const require = createRequire(import.meta.url);

/** Bundled font files: regular for labels, bold for titles. Shared with the PNG renderer. */
export const FONT_FILES = {
  regular: require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf'),
  bold: require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf'),
} as const;

interface TextItem {
  fontSize?: number | string;
  fontWeight?: number | string;
  limit?: number;
}
interface VegaTextMetrics {
  width: (item: TextItem, text: unknown) => number;
}

let fonts: { regular: opentype.Font; bold: opentype.Font } | undefined;
let installed = false;

function isBold(weight: number | string | undefined): boolean {
  if (weight === undefined) return false;
  if (typeof weight === 'number') return weight >= 600;
  return weight === 'bold' || weight === 'bolder' || Number(weight) >= 600;
}

/** Width in pixels of `text` drawn in DejaVu Sans at `fontSize` px (kerned, as resvg draws it). */
export function measureText(text: string, fontSize: number, bold = false): number {
  fonts ??= { regular: opentype.loadSync(FONT_FILES.regular), bold: opentype.loadSync(FONT_FILES.bold) };
  if (text.length === 0 || fontSize <= 0) return 0;
  return (bold ? fonts.bold : fonts.regular).getAdvanceWidth(text, fontSize);
}

/** Make Vega measure text with the bundled font (idempotent). */
export function installTextMetrics(): void {
  if (installed) return;
  const metrics = (vega as unknown as { textMetrics: VegaTextMetrics }).textMetrics;
  metrics.width = (item, line) => {
    const text = line == null ? '' : String(line).trim();
    const size = item.fontSize != null ? Number(item.fontSize) || 0 : 11;
    const w = measureText(text, size, isBold(item.fontWeight));
    // Vega truncates text longer than `limit` to fit within it; its truncation search calls this
    // function too, and clamping at `limit` keeps every comparison it makes (against <= limit) exact.
    const limit = Number(item.limit);
    return limit > 0 ? Math.min(w, limit) : w;
  };
  installed = true;
}
