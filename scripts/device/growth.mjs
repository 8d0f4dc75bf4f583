// The growth comparison part of a device visit: scripts/gpu-bert-small.sh (full, the default
// compound and small-only at BERT-small, bf16, on the doc corpus) with a time budget per run sized
// to what is left of the visit. Its report, results and the loss plots come back in OUT/growth/;
// when the comparison is cut off, the runs that finished are read from their own folders, so the
// summary still says what each got. Without CUDA the part is skipped, and the same command runs
// once at the tiny target on the CPU (a smoke of the plumbing; it shows nothing about growth).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { copyResults, tail } from './runner.mjs';

// Estimates (no GPU visit has measured them yet; the report's "wall s" column will): the corpus
// prepared once (tokenizer trained, 4.5M words encoded) and, per run, start-up, evaluation and
// checkpoints, which a time budget does not charge.
const GPU = { fixedS: 60, perRunS: 20, minBudgetS: 20, marginS: 15, maxBudgetS: Infinity };
// the CPU smoke: a few seconds a run, however long the deadline, since it shows nothing about growth
const CPU = { fixedS: 20, perRunS: 10, minBudgetS: 2, marginS: 10, maxBudgetS: 3 };

/** The per-run budget (s) that fits `left` seconds for `runs` runs, or 0 when under the minimum. */
export function sizeBudget(left, runs, cuda) {
  const c = cuda ? GPU : CPU;
  const s = Math.min(c.maxBudgetS, Math.floor((left - c.marginS - c.fixedS - runs * c.perRunS) / runs));
  return s >= c.minBudgetS ? s : 0;
}

/** What each finished run of a (possibly cut off) comparison got: its final validation loss and time. */
export function finishedRuns(runsDir) {
  const out = [];
  if (!fs.existsSync(runsDir)) return out;
  for (const budget of fs.readdirSync(runsDir)) {
    const bdir = path.join(runsDir, budget);
    if (!fs.statSync(bdir).isDirectory() || budget === 'schedules') continue;
    for (const run of walkRuns(bdir)) {
      const lines = fs
        .readFileSync(path.join(run, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const last = [...lines].reverse().find((l) => l.valLoss !== undefined);
      const done = JSON.parse(fs.readFileSync(path.join(run, 'compare-done.json'), 'utf8'));
      out.push({
        ...done,
        steps: last?.step ?? null,
        seconds: last?.seconds ?? null,
        finalValLoss: last?.valLoss ?? null,
      });
    }
  }
  return out;
}

function walkRuns(dir) {
  if (fs.existsSync(path.join(dir, 'compare-done.json'))) return [dir];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => walkRuns(path.join(dir, e.name)));
}

/**
 * @param {import('./runner.mjs').Visit} v
 * @param {{ cuda: boolean, seeds: number, corpus: string|null, work: string, out: string, room: number }} o
 *   corpus: a folder of .txt files (null: the built-in corpus); room: files OUT can still take
 */
export async function growthPart(v, o) {
  const runs = 3 * o.seeds;
  const budgetS = sizeBudget(v.left(), runs, o.cuda);
  if (!budgetS)
    return {
      status: 'skipped',
      reason: `${Math.round(v.left())} s left: too little for ${runs} runs of a useful budget`,
    };
  const runsDir = path.join(o.work, 'growth-runs');
  const results = path.join(o.work, 'growth-results');
  const env = {
    BUDGET: `${budgetS}s`,
    SEEDS: String(o.seeds),
    OUT: runsDir,
    RESULTS: results,
    DEVICE: o.cuda ? 'cuda' : 'cpu',
    ...(o.cuda
      ? { EXTRA: `--cache-dir ${path.join(o.work, 'cache')}` }
      : {
          TARGET: 'tiny',
          PRECISION: 'fp32',
          EXTRA: `--vocab-size 300 --batch-size 4 --seq-length 32 --eval-batches 1 --threads 1 --cache-dir ${path.join(o.work, 'cache')}`,
        }),
  };
  const r = await v.sh('bash', ['scripts/gpu-bert-small.sh', o.corpus ?? 'builtin'], {
    limitS: v.left() - (o.cuda ? GPU : CPU).marginS + 5,
    env,
  });
  const plots = fs.existsSync(results)
    ? fs
        .readdirSync(results)
        .filter((f) => /^loss-.*\.png$/.test(f))
        .sort()
    : [];
  const files = ['report.md', 'results.json', ...plots].map((f) => path.join(results, f));
  const copied = copyResults(files, path.join(o.out, 'growth'), o.room);
  const res = {
    status: r.ok ? 'ok' : 'failed',
    budgetPerRun: env.BUDGET,
    seeds: o.seeds,
    target: env.TARGET ?? 'small',
    corpus: o.corpus ?? 'built-in (stdlib:sotu, stdlib:moby-dick)',
    seconds: r.seconds,
    returned: copied.map((f) => `growth/${f}`),
    finishedRuns: finishedRuns(runsDir),
  };
  if (!r.ok) res.reason = tail(r.stderr);
  if (r.ok && fs.existsSync(path.join(results, 'results.json'))) {
    const j = JSON.parse(fs.readFileSync(path.join(results, 'results.json'), 'utf8'));
    res.budgets = (j.budgets ?? []).map((b) => ({
      budget: b.budget,
      fullBeatsSmallOnly: b.fullBeatsSmallOnly,
      schedules: b.schedules.map((s) => ({
        name: s.name,
        finalValLoss: s.finalValLoss,
        speedupTime: s.speedupTime,
        speedupFlops: s.speedupFlops,
      })),
    }));
    if (j.seeded) res.seeded = j.seeded;
  }
  return res;
}
