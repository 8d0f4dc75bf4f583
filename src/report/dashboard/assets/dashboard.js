// growbert dashboard, in the browser. Polls the server's read-only JSON API (server.ts) and draws
// Vega-Lite charts with vega-embed (globals `vega`, `vegaEmbed`, loaded by index.html from the
// server). New metrics lines are inserted into the charts' datasets, so a live run's curves grow
// without a reload. Plain browser JavaScript: it is served as is, not compiled.
/* global document, window, history, location, vega, vegaEmbed */

const POLL_MS = 1000;
const LIST_MS = 2000;
const X_TITLES = { step: 'step', seconds: 'training wall-clock seconds', flops: 'training FLOPs' };
// Charts: which series (built from metrics lines by rowsOf) each shows.
const CHARTS = {
  loss: {
    el: 'chart-loss',
    title: 'Masked-LM loss: training (line) and validation (dots)',
    yTitle: 'loss',
    height: 300,
    series: [{ name: 'train loss' }, { name: 'val loss', point: true }],
  },
  lr: { el: 'chart-lr', title: 'Learning rate', yTitle: 'LR', height: 180, series: [{ name: 'lr' }] },
  tps: {
    el: 'chart-tps',
    title: 'Training throughput',
    yTitle: 'tokens / s',
    height: 180,
    series: [{ name: 'tokens/s' }],
  },
};
const CHART_OF = { 'train loss': 'loss', 'val loss': 'loss', lr: 'lr', 'tokens/s': 'tps' };

const state = {
  /** id -> { id, kind, updated, removed, selected, file, offset, lines, config, schedule } */
  runs: new Map(),
  x: 'step',
  views: {},
  polls: 0,
  /** until the user ticks or unticks a run, the newest run is shown as soon as there is one */
  userChose: false,
};

/** Every change of state runs through this one queue, so polls, clicks and redraws never interleave. */
let queue = Promise.resolve();
function serial(fn) {
  const r = queue.then(fn);
  queue = r.catch(() => {});
  return r;
}

const $ = (id) => document.getElementById(id);
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}
const tableRow = (cell, values) => el('tr', {}, ...values.map((v) => el(cell, { text: String(v) })));
const fmt = (v, d = 4) =>
  typeof v === 'number' ? (Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(2) : v.toFixed(d)) : '-';

async function getJson(url) {
  const r = await fetch(url, { cache: 'no-store' });
  if (r.status === 404) return null;
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.json();
}

// ---- metrics lines -> chart rows ---------------------------------------------------------------
function growLabel(l) {
  const n = `stage ${Number(l.stage) + 1}`;
  return l.stageName && l.stageName !== n ? `${n} (${l.stageName})` : n;
}
function growShape(l) {
  const parts = [];
  if (l.layers !== undefined) parts.push(`${l.layers} layers`);
  if (l.hidden !== undefined) parts.push(`hidden ${l.hidden}`);
  if (l.ffn !== undefined) parts.push(`FFN ${l.ffn}`);
  if (typeof l.pooling === 'number' && l.pooling > 1) parts.push(`pooling ${l.pooling}`);
  if (l.batchSize !== undefined) parts.push(`${l.batchSize}x${l.seqLength}`);
  return parts.join(', ');
}
function growCheck(l) {
  return `max abs logit diff ${fmt(l.maxAbsLogitDiff)}, loss ${fmt(l.lossBefore)} -> ${fmt(l.lossAfter)}`;
}

/** { points: [...], events: [...] } for one metrics line of run `run`. */
function rowsOf(run, l) {
  const base = { run, step: l.step, seconds: l.seconds, flops: l.flops };
  if (l.event === 'grow') {
    return {
      points: [],
      events: [{ ...base, label: `${run}: ${growLabel(l)}`, shape: growShape(l), check: growCheck(l) }],
    };
  }
  const points = [];
  const add = (series, value) => {
    if (typeof value === 'number' && Number.isFinite(value)) points.push({ ...base, series, value });
  };
  if (typeof l.valLoss === 'number') add('val loss', l.valLoss);
  else if (typeof l.loss === 'number') {
    add('train loss', l.loss);
    add('lr', l.lr);
    add('tokens/s', l.tokensPerSecond);
  }
  return { points, events: [] };
}

// ---- charts ------------------------------------------------------------------------------------
function chartSpec(c) {
  const x = {
    field: state.x,
    type: 'quantitative',
    title: X_TITLES[state.x],
    axis: state.x === 'flops' ? { format: '.2s' } : {},
  };
  const color = { field: 'run', type: 'nominal', title: 'run' };
  const tooltip = [{ field: 'run' }, { field: 'series' }, { field: 'step' }, { field: 'value', format: '.4~g' }];
  const layer = c.series.map((s) => ({
    data: { name: 'points' },
    transform: [{ filter: { field: 'series', equal: s.name } }],
    mark: {
      type: 'line',
      clip: true,
      strokeWidth: s.point ? 2 : 1.3,
      point: s.point ? { filled: true, size: 30 } : false,
    },
    encoding: {
      x,
      y: { field: 'value', type: 'quantitative', title: c.yTitle, scale: { zero: false } },
      color,
      tooltip,
    },
  }));
  // Growth events: a dashed rule at the step, labelled with the stage; the tooltip has the shape and check.
  layer.push({
    name: 'growth_rule', // its SVG group gets this class: tests find the marked event by it
    data: { name: 'events' },
    mark: { type: 'rule', strokeDash: [6, 3], strokeWidth: 1.5 },
    encoding: { x, color, tooltip: [{ field: 'label' }, { field: 'step' }, { field: 'shape' }, { field: 'check' }] },
  });
  layer.push({
    name: 'growth_label',
    data: { name: 'events' },
    mark: { type: 'text', align: 'left', baseline: 'top', dx: 4, dy: 4, fontSize: 10 },
    encoding: { x, y: { value: 0 }, text: { field: 'label' }, color },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    // The whole chart (axes and legend included) fits the width of its box, measured here: vega's
    // 'container' width let the labels overflow the box when the legend held long run names.
    title: c.title,
    width: Math.max(240, $(c.el).clientWidth - 50),
    height: c.height,
    layer,
    autosize: { type: 'fit-x', contains: 'padding' },
    config: { font: 'DejaVu Sans', legend: { orient: 'right', labelLimit: 220 } },
  };
}

async function embedCharts() {
  const selected = [...state.runs.values()].filter((r) => r.selected && r.kind === 'run');
  $('empty').style.display = selected.length ? 'none' : '';
  $('charts').style.display = selected.length ? '' : 'none';
  for (const [key, c] of Object.entries(CHARTS)) {
    state.views[key]?.finalize();
    const res = await vegaEmbed(`#${c.el}`, chartSpec(c), {
      renderer: 'svg',
      logLevel: vega.Error,
      actions: { export: true, source: false, compiled: false, editor: false },
    });
    state.views[key] = res.view;
  }
  insertLines(selected.map((r) => [r.id, r.lines]));
  await runViews();
}

/**
 * Adds the lines of several runs ([run, lines] pairs) to the charts: one changeset per dataset,
 * since a second view.change() on a dataset before the view runs replaces the first.
 */
function insertLines(runsLines) {
  const byChart = {};
  const events = [];
  for (const [run, lines] of runsLines) {
    for (const l of lines) {
      const rows = rowsOf(run, l);
      events.push(...rows.events);
      for (const p of rows.points) (byChart[CHART_OF[p.series]] ??= []).push(p);
    }
  }
  for (const [key, view] of Object.entries(state.views)) {
    if (byChart[key]?.length) view.change('points', vega.changeset().insert(byChart[key]));
    if (events.length) view.change('events', vega.changeset().insert(events));
  }
}

async function runViews() {
  for (const v of Object.values(state.views)) await v.resize().runAsync();
}

// ---- tables and panels -------------------------------------------------------------------------
function renderGrowth() {
  const body = $('growth').querySelector('tbody');
  body.replaceChildren();
  for (const r of state.runs.values()) {
    if (!r.selected) continue;
    for (const l of r.lines.filter((x) => x.event === 'grow')) {
      const preserving = l.preserving === true ? 'yes' : l.preserving === false ? 'no' : '-';
      const cells = [
        r.id,
        l.step,
        growLabel(l),
        growShape(l),
        l.optimizerPolicy ?? '-',
        preserving,
        fmt(l.maxAbsLogitDiff),
        fmt(l.maxRelLogitDiff),
        fmt(l.lossBefore),
        fmt(l.lossAfter),
      ];
      body.append(tableRow('td', cells));
    }
  }
}

function renderConfigs() {
  const box = $('configs');
  box.replaceChildren();
  for (const r of state.runs.values()) {
    if (!r.selected || r.kind !== 'run') continue;
    box.append(
      el(
        'details',
        {},
        el('summary', { text: r.id }),
        el('pre', { text: r.config ? JSON.stringify(r.config, null, 2) : '(no config.json yet)' }),
        ...(r.schedule ? [el('pre', { text: JSON.stringify(r.schedule, null, 2) })] : []),
      ),
    );
  }
}

async function renderCompare(force = true) {
  const box = $('compare');
  const c = [...state.runs.values()].find((r) => r.selected && r.kind === 'compare');
  if (!c) return box.replaceChildren();
  // Redrawn only when the folder changed (a schedule finished, the report was written).
  const key = `${c.id}@${c.updated}`;
  if (!force && key === state.compareKey) return;
  state.compareKey = key;
  const data = await getJson(`/api/compare?id=${encodeURIComponent(c.id)}`);
  if (!data) return box.replaceChildren(el('p', { text: `${c.id} was removed` }));
  const rows = data.results?.schedules ?? [];
  const role = (n) => (n === 'full' ? 'baseline' : n === 'small-only' ? 'control' : 'growth');
  const pct = (x) => (typeof x === 'number' ? `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%` : '-');
  const head = ['schedule', 'role', 'final val loss', 'speedup (time)', 'speedup (FLOPs)', 'meaningful'];
  const cells = (s) => [
    s.name,
    role(s.name),
    fmt(s.finalValLoss),
    pct(s.speedupTime),
    pct(s.speedupFlops),
    s.meaningful ? 'yes' : 'no',
  ];
  const folder = c.id.split('/').map(encodeURIComponent).join('/');
  box.replaceChildren(
    el('h2', { text: `Comparison ${c.id}` }),
    el(
      'table',
      {},
      el('thead', {}, tableRow('th', head)),
      el('tbody', {}, ...rows.map((s) => tableRow('td', cells(s)))),
    ),
    el('div', {}, ...data.images.map((f) => el('img', { src: `/files/${folder}/${encodeURIComponent(f)}`, alt: f }))),
    ...(data.report ? [el('details', {}, el('summary', { text: 'report.md' }), el('pre', { text: data.report }))] : []),
  );
}

function renderList() {
  const ul = $('runs');
  ul.replaceChildren();
  for (const r of state.runs.values()) {
    const live = !r.removed && Date.now() - r.updated < 30_000;
    const onchange = (e) =>
      serial(() => {
        state.userChose = true;
        return select(r.id, e.target.checked);
      });
    const box = el('input', { type: 'checkbox', 'data-id': r.id, onchange });
    box.checked = r.selected;
    ul.append(
      el(
        'li',
        { class: `${r.kind}${r.removed ? ' removed' : ''}` },
        el('label', {}, box, ` ${r.id}`),
        el('span', { class: 'kind', text: r.kind === 'compare' ? 'compare' : live ? 'live' : '' }),
        ...(r.note ? [el('div', { class: 'hint', text: r.note })] : []),
      ),
    );
  }
}

// ---- selection and polling ---------------------------------------------------------------------
async function select(id, on) {
  const r = state.runs.get(id);
  if (!r) return;
  r.selected = on;
  // A compare folder brings its runs along (the baseline, the control and each schedule).
  if (r.kind === 'compare') for (const x of state.runs.values()) if (x.id.startsWith(`${id}/`)) x.selected = on;
  const chosen = [...state.runs.values()].filter((x) => x.selected).map((x) => encodeURIComponent(x.id));
  history.replaceState(null, '', `#runs=${chosen.join(',')}`);
  renderList();
  for (const x of state.runs.values()) if (x.selected && x.kind === 'run' && x.offset === 0) await pollRun(x, false);
  await embedCharts();
  renderGrowth();
  renderConfigs();
  await renderCompare();
}

async function pollList() {
  const data = await getJson('/api/runs');
  $('root').textContent = data.root;
  const seen = new Set();
  for (const e of data.runs) {
    seen.add(e.id);
    const r = state.runs.get(e.id);
    if (r) Object.assign(r, { updated: e.updated, removed: false, kind: e.kind });
    else
      state.runs.set(e.id, {
        ...e,
        removed: false,
        selected: false,
        file: '',
        offset: 0,
        lines: [],
        config: null,
        schedule: null,
      });
  }
  for (const r of state.runs.values()) if (!seen.has(r.id)) r.removed = true;
  const first = state.polls++ === 0;
  renderList();
  if (first) {
    const wanted = decodeURIComponent(location.hash.replace(/^#runs=/, ''))
      .split(',')
      .filter((id) => state.runs.has(id));
    if (wanted.length) state.userChose = true;
    for (const id of wanted) await select(id, true);
    if (!wanted.length) await embedCharts();
  }
  if (!state.userChose && data.runs.length && ![...state.runs.values()].some((r) => r.selected))
    await select(data.runs[0].id, true);
  else if ([...state.runs.values()].some((r) => r.selected && r.kind === 'compare')) await renderCompare(false);
}

/**
 * What the server says of a big log (metrics-index.ts): still being read, drawn from a sample
 * (every Nth training line), or with lines too long to be metrics skipped. Shown under the run.
 */
function noteSampling(r, data) {
  const parts = [];
  if (data.complete === false)
    parts.push(`reading metrics.jsonl: ${Math.floor((100 * data.offset) / Math.max(1, data.size))}%`);
  if (data.trainEvery > 1) parts.push(`every ${data.trainEvery}th training line drawn`);
  if (data.skipped > 0) parts.push(`${data.skipped} line(s) over 1 MiB skipped`);
  const note = parts.join('; ');
  if (note !== (r.note ?? '')) {
    r.note = note;
    renderList();
  }
}

/** Fetches a run's new lines; with `draw`, adds them to the charts. */
async function pollRun(r, draw = true) {
  if (r.removed) return;
  const data = await getJson(
    `/api/run?id=${encodeURIComponent(r.id)}&file=${encodeURIComponent(r.file)}&offset=${r.offset}`,
  );
  if (!data) {
    r.removed = true; // the folder went away: keep what was drawn
    return;
  }
  if (data.config !== undefined) Object.assign(r, { config: data.config, schedule: data.schedule });
  noteSampling(r, data);
  if (data.reset && r.lines.length) {
    r.lines = [];
    Object.assign(r, { file: data.file, offset: data.offset, lines: data.lines });
    if (draw) await select(r.id, true); // redraw from scratch (a resumed run rewrote its log)
    return;
  }
  Object.assign(r, { file: data.file, offset: data.offset });
  if (!data.lines.length) return;
  r.lines.push(...data.lines);
  if (draw) {
    insertLines([[r.id, data.lines]]);
    await runViews();
    if (data.lines.some((l) => l.event === 'grow')) renderGrowth();
  }
}

async function loop(fn, ms) {
  for (;;) {
    try {
      await serial(fn);
      $('status').textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (e) {
      $('status').textContent = `server unreachable (${e.message}); retrying`;
    }
    await new Promise((r) => setTimeout(r, ms));
  }
}

let resized;
window.addEventListener('resize', () => {
  clearTimeout(resized);
  resized = setTimeout(() => serial(embedCharts), 300);
});
$('x-axis').addEventListener('change', (e) =>
  serial(async () => {
    state.x = e.target.value;
    await embedCharts();
  }),
);

// For tests and the curious: the state and the Vega views.
window.growbertDashboard = {
  state,
  count: (chart, data = 'points') => state.views[chart]?.data(data).length ?? 0,
};

// Text is measured when a chart is laid out: wait for the served font, or labels are clipped.
await Promise.all([document.fonts.load('12px "DejaVu Sans"'), document.fonts.load('bold 12px "DejaVu Sans"')]);
loop(pollList, LIST_MS);
loop(async () => {
  for (const r of state.runs.values()) if (r.selected && r.kind === 'run') await pollRun(r);
}, POLL_MS);
