// The dashboard in a real browser (the system's headless Chromium, driven by puppeteer-core),
// open on a growth run while it trains: the chart gains points without a reload, the growth event
// is drawn as a marked rule, and after Ctrl-C the run's event file decodes (every CRC checked) to
// the same scalars as metrics.jsonl. Skips, saying why, when no Chromium is installed
// (`node scripts/setup.mjs --browser`, run by `npm test`, installs Debian's as root).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Dashboard } from '../../src/report/dashboard/server.js';
import { MetricsLog } from '../../src/train/metrics-log.js';
import { summaryOf } from '../../src/train/tensorboard.js';
import { beforeGrowthFlags, eventFiles, readEventFile, scalarsByTag } from '../helpers/tfevents-reader.js';
import { tinyModelFlags } from '../helpers/tiny-cli.js';

const { findBrowser } = (await import(pathToFileURL(path.resolve('scripts/browser.mjs')).href)) as {
  findBrowser: () => string | null;
};
const chrome = findBrowser();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-dashboard-browser-'));
const runs = path.join(tmp, 'runs');
// A finished run already there, which the page shows first; the test then ticks the live one too.
fs.mkdirSync(path.join(runs, 'static'), { recursive: true });
fs.writeFileSync(
  path.join(runs, 'static', 'metrics.jsonl'),
  [1, 2, 3]
    .map((step) =>
      JSON.stringify({ step, seconds: step, flops: step * 1e9, lr: 1e-3, loss: 9 - step, tokensPerSecond: 100 }),
    )
    .concat(JSON.stringify({ step: 3, seconds: 3, flops: 3e9, valLoss: 6.5 }))
    .join('\n') + '\n',
);
const schedule = path.join(tmp, 'grow-then-train.json');
// A small stage for 8 steps, then the grown model until the test interrupts the run.
fs.writeFileSync(
  schedule,
  JSON.stringify({
    name: 'grow-then-train',
    stages: [
      { name: 'small', steps: 8, model: { numHiddenLayers: 1, intermediateSize: 16, poolingSize: 2 } },
      { name: 'target', steps: 100000, ops: { depth: 'stack', ffn: 'share' } },
    ],
  }),
);

// Generous: under a load of 9 processes a core (another job beside the suite) a step can take seconds.
async function until<T>(what: string, f: () => Promise<T | null | undefined | false>, seconds = 180): Promise<T> {
  for (let i = 0; i < seconds * 10; i++) {
    const v = await f();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test(
  'the dashboard shows a training run live in Chromium, growth marked; its event file matches metrics.jsonl',
  {
    skip: chrome
      ? false
      : "no Chromium found (install Debian's chromium, or set GROWBERT_CHROME); run `node scripts/setup.mjs --browser` as root",
  },
  async () => {
    const { default: puppeteer } = await import('puppeteer-core');
    const dash = new Dashboard({ runs, host: '127.0.0.1', port: 0 });
    const url = await dash.listen();
    // A freshly installed Chromium's first start (font caches, profile) took over puppeteer's default 30 s on a
    // loaded CI machine: it gets 3 minutes, and one more try.
    const launch = () =>
      puppeteer.launch({
        executablePath: chrome!,
        headless: true,
        timeout: 180_000,
        protocolTimeout: 180_000,
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
      });
    const browser = await launch().catch((e: unknown) => {
      console.log(`Chromium did not start (${String(e).split('\n')[0]}); trying once more`);
      return launch();
    });
    const out = path.join(runs, 'live');
    let child: ChildProcess | undefined;
    let stderr = '';
    let exited: Promise<number | null> = Promise.resolve(null);
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.setViewport({ width: 1280, height: 1000 });
      // The page opens before the run exists: the run must appear, and then grow, with no reload.
      // It first shows the newest run there is, the finished one.
      await page.goto(url, { waitUntil: 'load' });
      await page.evaluate(() => {
        (window as unknown as { loadedOnce: number }).loadedOnce = 1;
      });
      type Dash = {
        growbertDashboard: { state: { views: Record<string, { data: (n: string) => { run: string }[] }> } };
      };
      /** Points (or events) of `run` in a chart's Vega dataset. */
      const count = (chart: string, run: string, data = 'points') =>
        page.evaluate(
          (c, r, d) => {
            const view = (window as unknown as Dash).growbertDashboard.state.views[c];
            return view ? view.data(d).filter((x) => x.run === r).length : 0;
          },
          chart,
          run,
          data,
        );
      await until('the finished run, shown first', async () => (await count('loss', 'static')) === 4);
      // Only now the run starts (so the page cannot have picked it first).
      child = spawn(
        process.execPath,
        [
          'bin/growbert.js',
          'pretrain',
          ...tinyModelFlags(path.join(tmp, 'cache'), { layers: 2 }),
          '--threads',
          '1',
          '--schedule',
          schedule,
          '--eval-every',
          '5',
          '--eval-batches',
          '1',
          '--checkpoint-every',
          '1000',
          '--log-every',
          '1',
          '--out',
          out,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stderr!.on('data', (d) => (stderr += d));
      const c = child;
      exited = new Promise<number | null>((r) => c.on('exit', (code) => r(code)));
      // The user ticks the live run once the list shows it (the list itself updates live).
      await until('the live run in the list', () => page.$('input[data-id="live"]'));
      await page.click('input[data-id="live"]');
      const first = await until('the first points of the run', async () => (await count('loss', 'live')) || null);
      const later = await until('more points without a reload', async () => {
        const n = await count('loss', 'live');
        return n > first ? n : null;
      });
      await until('the growth event', async () => (await count('loss', 'live', 'events')) >= 1);
      assert.equal(await count('loss', 'static'), 4, 'both runs drawn side by side');
      const marked = await until('the growth rule drawn', () =>
        page.evaluate(() => {
          const rules = document.querySelectorAll(
            '#chart-loss g.growth_rule_marks line, #chart-loss .growth_rule_marks line',
          );
          const label = [...document.querySelectorAll('#chart-loss text')].some((t) =>
            /live: stage 2 \(target\)/.test(t.textContent ?? ''),
          );
          return rules.length >= 1 && label ? rules.length : null;
        }),
      );
      const still = await page.evaluate(() => (window as unknown as { loadedOnce?: number }).loadedOnce === 1);
      assert.ok(still, 'the page was not reloaded');
      assert.ok(later > first && marked >= 1);
      const growthRow = await page.evaluate(() => document.querySelector('#growth tbody tr')?.textContent ?? '');
      assert.match(growthRow, /live8stage 2 \(target\)2 layers, hidden 32, FFN 64/);
      // Every axis and legend label lies inside its chart's SVG (none clipped by a stale layout).
      const clipped = await page.evaluate(() =>
        [...document.querySelectorAll('.chart svg')].flatMap((svg) => {
          const box = svg.getBoundingClientRect();
          return [...svg.querySelectorAll('.role-axis-label text, .role-legend-label text')]
            .map((t) => ({ t: t.textContent, r: t.getBoundingClientRect() }))
            .filter(({ r }) => r.left < box.left - 0.5 || r.right > box.right + 0.5)
            .map(({ t }) => t);
        }),
      );
      assert.deepEqual(clipped, []);
      await new Promise((r) => setTimeout(r, 1500)); // let a poll or two land before the picture
      const shot = path.join(tmp, 'dashboard.png');
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok(fs.statSync(shot).size > 10_000, `screenshot ${shot}`);
      console.log(`# screenshot: ${shot}`);
      assert.deepEqual(errors, []);
    } finally {
      child?.kill('SIGINT');
      await browser.close();
      await dash.close();
    }
    assert.equal(await exited, 130, stderr);
    // Ctrl-C closed the event file cleanly: whole records only, each CRC right, scalars = metrics.jsonl.
    const files = eventFiles(out);
    assert.equal(files.length, 1);
    const ev = readEventFile(path.join(out, files[0]));
    const want = new Map<string, [number, number][]>();
    const lines = new MetricsLog(out).read();
    const before = beforeGrowthFlags(lines);
    for (const [i, l] of lines.entries())
      for (const v of summaryOf(l, { beforeGrowth: before[i] }))
        if ('scalar' in v) {
          if (!want.has(v.tag)) want.set(v.tag, []);
          want.get(v.tag)!.push([l.step, Math.fround(v.scalar)]);
        }
    assert.ok((want.get('growth/max_abs_logit_diff')?.length ?? 0) === 1 && (want.get('train/loss')?.length ?? 0) > 8);
    assert.deepEqual(scalarsByTag(ev), want);
  },
);
