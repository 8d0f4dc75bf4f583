import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GrowbertError } from '../../src/io/errors.js';
import { seriesColours } from '../../src/report/plot-spec.js';
import {
  chartData,
  PNG_SCALE,
  rasterise,
  renderLineChart,
  writeChart,
  type LineChartSpec,
} from '../../src/report/plot.js';
import { measureText } from '../../src/report/text-metrics.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Width and height from the IHDR chunk, which must directly follow the signature. */
function pngSize(png: Uint8Array): { width: number; height: number } {
  assert.deepEqual([...png.subarray(0, 8)], PNG_SIGNATURE, 'PNG signature');
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  assert.equal(view.getUint32(8), 13, 'IHDR length');
  assert.equal(Buffer.from(png.subarray(12, 16)).toString('latin1'), 'IHDR');
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

function svgSize(svg: string): { width: number; height: number } {
  const m = /^<svg\b[^>]*\bwidth="(\d+(?:\.\d+)?)"[^>]*\bheight="(\d+(?:\.\d+)?)"/.exec(svg);
  assert.ok(m, 'root <svg> has width and height');
  return { width: Number(m[1]), height: Number(m[2]) };
}

/** A small XML well-formedness check: every tag closes in order, no stray `<` or `&` in text. */
function assertWellFormed(xml: string): void {
  const stack: string[] = [];
  const re = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let m: RegExpExecArray | null;
  let pos = 0;
  while ((m = re.exec(xml)) !== null) {
    pos = re.lastIndex;
    const [, close, name, , selfClose, text] = m;
    if (text !== undefined) {
      assert.ok(
        !/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(text),
        `bad entity in text near ${JSON.stringify(text.slice(0, 40))}`,
      );
      continue;
    }
    if (close) assert.equal(stack.pop(), name, `closing </${name}> matches its opening tag`);
    else if (!selfClose) stack.push(name!);
  }
  assert.equal(pos, xml.length, `unparseable XML near ${JSON.stringify(xml.slice(pos, pos + 60))}`);
  assert.deepEqual(stack, [], 'all tags closed');
}

const curve = (n: number, f: (x: number) => number) =>
  Array.from({ length: n }, (_, i) => ({ x: (i + 1) * 10, y: f((i + 1) * 10) }));

const SPEC: LineChartSpec = {
  title: 'MLM loss <grown> & baseline',
  xLabel: 'training step',
  yLabel: 'masked-LM loss',
  series: [
    { name: 'baseline', points: curve(60, (s) => 2 + 8 * Math.exp(-s / 150)) },
    // given out of x order, with points that cannot be drawn
    {
      name: 'grown "x2"',
      points: [...curve(60, (s) => 1.9 + 8 * Math.exp(-s / 110)), { x: 5, y: NaN }, { x: Infinity, y: 3 }].reverse(),
    },
    { name: 'empty run', points: [] },
  ],
  markers: [
    { x: 300, series: 'grown "x2"', label: 'grow depth x2' },
    { x: 100, label: 'warmup ends' },
    { x: 450, y: 4, label: 'a point' },
  ],
  hLines: [{ y: 2, label: 'baseline final 2.00' }],
  width: 400,
  height: 250,
};

test('renderLineChart: well-formed SVG naming every series and axis, PNG at PNG_SCALE x its size', async () => {
  const { svg, png } = await renderLineChart(SPEC);
  assert.ok(svg.startsWith('<svg'), 'starts with <svg');
  assertWellFormed(svg);
  // the index of a <text> element that shows `t` (XML-escaped), or -1
  const at = (t: string) =>
    svg.indexOf(`>${t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</text>`);
  for (const text of [
    'baseline',
    'grown "x2"',
    'empty run (no data)',
    'training step',
    'masked-LM loss',
    'MLM loss <grown> & baseline',
    'grow depth x2',
    'warmup ends',
    'a point',
    'baseline final 2.00',
  ]) {
    assert.ok(at(text) >= 0, `SVG shows ${text}`);
  }
  assert.ok(
    at('baseline') < at('grown "x2"') && at('grown "x2"') < at('empty run (no data)'),
    'legend in series order',
  );
  assert.ok(svg.includes('font-family="DejaVu Sans'), 'text uses the bundled font');
  // each series' line is stroked in its own colour
  for (const c of seriesColours(2)) assert.ok(svg.includes(`stroke="${c}"`), `a line stroked ${c}`);

  const s = svgSize(svg);
  assert.ok(s.width >= 400 && s.width < 400 + 400, `SVG width ${s.width} = plot + axes + legend`);
  assert.ok(s.height >= 250 && s.height < 250 + 150, `SVG height ${s.height}`);
  const p = pngSize(png);
  assert.equal(p.width, Math.ceil(s.width * PNG_SCALE));
  assert.equal(p.height, Math.ceil(s.height * PNG_SCALE));
});

test('rasterise: text is drawn with the bundled font, with system fonts off', async () => {
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40">' +
    '<text x="5" y="30" font-family="DejaVu Sans, Verdana, sans-serif" font-size="24">Hg 42</text></svg>';
  const { pixels, width, height } = await rasterise(svg);
  assert.equal(width, 120 * PNG_SCALE);
  assert.equal(height, 40 * PNG_SCALE);
  let dark = 0;
  let right = -1;
  for (let i = 0; i < pixels.length; i += 4) {
    if (pixels[i]! < 100 && pixels[i + 1]! < 100 && pixels[i + 2]! < 100) {
      dark++;
      right = Math.max(right, (i / 4) % width);
    }
  }
  assert.ok(dark > 200, `text produced ${dark} dark pixels`);
  // Vega lays text out with measureText: the drawn ink must end where that width says it does.
  const measured = measureText('Hg 42', 24);
  const inked = (right + 1) / PNG_SCALE - 5;
  assert.ok(inked <= measured + 1 && inked >= measured - 4, `ink width ${inked} vs measured advance ${measured}`);
});

test('chartData: drops undrawable points, sorts by x, resolves markers', () => {
  const d = chartData(SPEC);
  const grown = d.lines.filter((r) => r.series === 'grown "x2"');
  assert.equal(grown.length, 60, 'NaN and Infinity points dropped');
  for (let i = 1; i < grown.length; i++) assert.ok(grown[i]!.x > grown[i - 1]!.x, 'joined in x order');
  assert.deepEqual(
    d.legend.map((e) => e.value),
    ['baseline', 'grown "x2"', 'empty run (no data)'],
  );
  assert.equal(new Set(d.legend.map((e) => e.colour)).size, 3, 'distinct colours');
  // a series marker without y sits on that series' line; a bare x is a rule; x/y is a point
  const onLine = d.markerPoints.find((m) => m.label === 'grow depth x2')!;
  assert.ok(Math.abs(onLine.y - (1.9 + 8 * Math.exp(-300 / 110))) < 1e-12);
  assert.equal(onLine.colour, d.colours.get('grown "x2"'));
  assert.deepEqual(
    d.markerRules.map((r) => [r.x, r.side]),
    [[100, 'right']],
  );
  assert.deepEqual(d.markerPoints.map((m) => m.label).sort(), ['a point', 'grow depth x2']);

  const log = chartData({
    ...SPEC,
    logX: true,
    logY: true,
    series: [
      {
        name: 'a',
        points: [
          { x: 0, y: 1 },
          { x: 1, y: -1 },
          { x: 2, y: 3 },
        ],
      },
    ],
    markers: [],
    hLines: [{ y: 0, label: 'gone' }],
  });
  assert.deepEqual(log.lines, [{ series: 'a', x: 2, y: 3 }], 'non-positive values dropped on log axes');
  assert.deepEqual(log.lonePoints, log.lines, 'a one-point series is drawn as a point');
  assert.deepEqual(log.hLines, []);
});

test('seriesColours: many series stay distinct', () => {
  const cs = seriesColours(40);
  assert.equal(new Set(cs).size, 40);
});

test('bad specs are GrowbertErrors naming the fix', () => {
  const base = { title: 't', xLabel: 'x', yLabel: 'y' };
  assert.throws(
    () =>
      chartData({
        ...base,
        series: [
          { name: 'a', points: [] },
          { name: 'a', points: [] },
        ],
      }),
    (e: unknown) => e instanceof GrowbertError && /distinct name/.test(e.message),
  );
  assert.throws(() => chartData({ ...base, series: [], yDomain: [2, 1] }), GrowbertError);
  assert.throws(() => chartData({ ...base, series: [], logY: true, yDomain: [0, 1] }), GrowbertError);
  assert.throws(() => chartData({ ...base, series: [], width: 0 }), GrowbertError);
  assert.throws(
    () => chartData({ ...base, series: [], markers: [{ x: 1, series: 'nope', label: 'm' }] }),
    GrowbertError,
  );
});

test('renderLineChart: empty and log-scale charts render', async () => {
  const empty = await renderLineChart({ title: 'nothing yet', xLabel: 'step', yLabel: 'loss', series: [] });
  assert.ok(empty.svg.startsWith('<svg') && empty.svg.includes('nothing yet'));
  assertWellFormed(empty.svg);
  pngSize(empty.png);
  const log = await renderLineChart({ ...SPEC, logX: true, logY: true, yDomain: [1.5, 12] });
  assertWellFormed(log.svg);
  const p = pngSize(log.png);
  assert.ok(p.width > 400 * PNG_SCALE && p.height > 250 * PNG_SCALE);
});

test('writeChart writes STEM.svg and STEM.png atomically into a new folder', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-plot-'));
  try {
    const stem = path.join(dir, 'nested', 'loss');
    const { svgPath, pngPath } = await writeChart(stem, SPEC);
    assert.equal(svgPath, `${stem}.svg`);
    assert.equal(pngPath, `${stem}.png`);
    assert.ok(fs.readFileSync(svgPath, 'utf8').startsWith('<svg'));
    pngSize(new Uint8Array(fs.readFileSync(pngPath)));
    assert.deepEqual(fs.readdirSync(path.dirname(stem)).sort(), ['loss.png', 'loss.svg'], 'no temp files left');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
