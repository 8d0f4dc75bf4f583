// The run folder's one owner, RunDir: what makes a folder a growbert run, what growbert may remove
// from it, who writes it now (run-lock.ts), what `pretrain --out DIR` may do with DIR (decided
// before any work), and the files in it: config.json, the tokenizer copy, schedule.json, the
// checkpoints and latest.json, the metrics log and the event files. pretrain asks it questions
// and gives it orders; compare, eval, export, grow and the dashboard read runs through it.
// - A run is recognised only by the marker growbert writes into it (RUN/.growbert-run, JSON
//   {kind, version, created, files}), never by fields a user's own config.json also has. A run
//   made before the marker existed counts as one only when it holds a checkpoint.
// - `files` lists the entries growbert claimed when it created the run (those that were not there
//   yet): starting over removes only these, so a user's file beside them is never touched.
// - a fresh run needs a new or empty folder, or a marked run with no checkpoint yet (it is started
//   over); a folder with a checkpoint is continued with --resume, never overwritten; a resume
//   keeps the run's shape, tokenizer, clock and budget unit (resume-checks.ts);
// - temp files of a save cut off by a kill are removed, and a latest.json that points nowhere
//   falls back to the newest complete checkpoint (src/train/checkpoint.ts).
// The names and paths inside a run are src/train/run.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { atomicWriteFile } from '../io/atomic.js';
import { GrowbertError } from '../io/errors.js';
import { fsStep, guardOut, isWithin, ownedName, realPath } from '../io/out-guard.js';
import { BertTokenizer } from '../data/tokenizer.js';
import { BertForMaskedLM, bertConfig, type BertConfig } from '../model/index.js';
import type { Budget } from '../schedule/plan.js';
import { dispose, type Device } from '../tensor/index.js';
import type { Clock } from './budget-clock.js';
import * as ck from './checkpoint.js';
import { readConfigFile, type PretrainConfig } from './config.js';
import { MetricsLog, type MetricsLine } from './metrics-log.js';
import { holdsRunLock, lockRun, releaseRunLock } from './run-lock.js';
import { TensorBoardSink } from './tensorboard.js';
import { RUN_ENTRIES, RUN_LOCK, RUN_MARKER, runOfCheckpoint, runPaths, type RunPaths } from './run.js';

const MARKER_KIND = 'growbert-run';

export interface RunMarker {
  kind: typeof MARKER_KIND;
  version: 1;
  created: string;
  /** the entries growbert claimed (RUN_ENTRIES names): the only ones it ever removes */
  files: string[];
}

export interface RunCheckOptions {
  /** the run's inputs (corpus paths, tokenizer file): the folder must stay clear of them */
  inputs?: (string | undefined)[];
  say?: (line: string) => void;
  /** this process writes the run (rank 0 of a data-parallel run, or the only process) */
  leader?: boolean;
}

export interface LoadedModel {
  model: BertForMaskedLM;
  config: BertConfig;
  tokenizer: BertTokenizer;
  /** the checkpoint folder the weights came from, and its run */
  checkpoint: string;
  run: RunDir;
  trainer: Record<string, unknown>;
}

const warnLine = (l: string) => console.error(`growbert: warning: ${l}`);

export class RunDir {
  readonly paths: RunPaths;
  constructor(readonly dir: string) {
    this.paths = runPaths(dir);
  }

  /** The run of a run folder (its latest checkpoint) or of a checkpoint folder, and that checkpoint. */
  static find(runOrCkpt: string): { run: RunDir; checkpoint: string } {
    const checkpoint = ck.resolveCheckpoint(runOrCkpt);
    return { run: new RunDir(runOfCheckpoint(checkpoint)), checkpoint };
  }

  // ---- what the folder is ----

  /** The run's marker, or null when the folder has none (or an unreadable one: then it is not vouched for). */
  marker(): RunMarker | null {
    try {
      const m = JSON.parse(fs.readFileSync(this.paths.marker, 'utf8')) as Partial<RunMarker>;
      if (m?.kind !== MARKER_KIND || !Array.isArray(m.files)) return null;
      return { kind: MARKER_KIND, version: 1, created: String(m.created), files: m.files.map(String) };
    } catch {
      return null;
    }
  }

  /** A run made before the marker existed: it holds a checkpoint (latest.json or a step folder with trainer.json). */
  private isLegacy(): boolean {
    const root = this.paths.checkpoints;
    try {
      if (fs.existsSync(this.paths.latest)) return true;
      return fs
        .readdirSync(root)
        .some((n) => /^step-\d{8}$/.test(n) && fs.existsSync(path.join(root, n, 'trainer.json')));
    } catch {
      return false;
    }
  }

  /** True when the folder is a growbert run: it has growbert's marker, or (an older run) a checkpoint. */
  isRun(): boolean {
    return this.marker() !== null || this.isLegacy();
  }

  /** The entries growbert may replace or remove (with the marker and lock). */
  ownedEntries(): string[] {
    const m = this.marker();
    const files = m ? m.files : this.isLegacy() ? [...RUN_ENTRIES] : [];
    return files.length ? [...files, RUN_MARKER] : [];
  }

  /**
   * Marks the folder as a run and claims every growbert entry not there yet (plus those `all`
   * says growbert wrote, as in a folder it built itself). Entries already claimed stay claimed.
   */
  claim(all = false): void {
    const present = fs.readdirSync(this.dir);
    const m = this.marker();
    const free = RUN_ENTRIES.filter((e) => all || !present.some((n) => ownedName(n, [e])));
    const files = [...new Set([...(m?.files ?? []), ...free])];
    const marker: RunMarker = { kind: MARKER_KIND, version: 1, created: m?.created ?? new Date().toISOString(), files };
    atomicWriteFile(this.paths.marker, JSON.stringify(marker, null, 2) + '\n');
  }

  /** Removes the entries growbert claimed (and `extra` of its own); the user's files stay. */
  removeOutputs(extra: string[] = []): void {
    const owned = [...this.ownedEntries(), ...extra];
    for (const n of fs.readdirSync(this.dir))
      if (ownedName(n, owned) && n !== RUN_MARKER) fs.rmSync(path.join(this.dir, n), { recursive: true, force: true });
  }

  // ---- who writes it ----

  /** Takes the run's lock, or throws naming the live holder (run-lock.ts). */
  lock(): void {
    lockRun(this.dir);
  }

  release(): void {
    releaseRunLock(this.dir);
  }

  // ---- what pretrain may do with it ----

  /**
   * Checks (and tidies) the folder for a run: a fresh run must not overwrite a run, a resume must
   * have one. Returns the checkpoint to resume from, or null for a start from step 0; the folder,
   * when it exists, is locked from here on.
   */
  check(resume: boolean, o: RunCheckOptions = {}): string | null {
    const say = o.say ?? ((l: string) => console.error(l));
    // Data parallel: rank 0 decides for the run (and may already be writing into the folder, so
    // other ranks must not judge its contents); they only need the checkpoint to resume from.
    if (o.leader === false) return resume && fs.existsSync(this.dir) ? this.latestCheckpoint(() => {}) : null;
    // reuse: a run folder is this command's own; whether it may be written is decided below
    guardOut({
      out: this.dir,
      inputs: resume ? [] : (o.inputs ?? []),
      kind: 'a growbert run',
      owns: () => this.isRun(),
      reuse: true,
      forceHint: null,
      ignore: [RUN_LOCK],
    });
    if (!fs.existsSync(this.dir)) {
      if (resume)
        throw new GrowbertError(
          `nothing to resume: ${this.dir} does not exist; drop --resume to start a new run there`,
        );
      return null;
    }
    this.lock(); // before anything is tidied: a live run's folder is refused here
    const removed = ck.removeStaleTemps(this.dir);
    if (removed.length)
      say(`removed ${removed.length} temp file(s) of an interrupted checkpoint save in ${this.paths.checkpoints}`);
    const latest = this.latestCheckpoint((l) => say(`warning: ${l}`));
    if (latest) {
      if (!resume)
        throw new GrowbertError(
          `${this.dir} already holds a run; pass --resume to continue it (from ${path.basename(latest)}), or choose another --out`,
        );
      return latest;
    }
    if (!this.marker()) {
      if (fs.readdirSync(this.dir).some((n) => n !== RUN_LOCK))
        throw new GrowbertError(
          `${this.dir} holds a run of an older growbert with no usable checkpoint; growbert never deletes what it cannot vouch for: choose another --out`,
        );
      if (resume)
        throw new GrowbertError(`nothing to resume in ${this.dir} (no run there); drop --resume to start a new run`);
      return null; // an empty folder
    }
    this.startOver(resume, say);
    return null;
  }

  /** A marked run that stopped before its first checkpoint: nothing in it can be continued. */
  private startOver(resume: boolean, say: (l: string) => void): void {
    say(
      resume
        ? `${this.dir} has no checkpoint yet (the run stopped before its first one): starting it from step 0 with its saved config`
        : `${this.dir} holds a run that stopped before its first checkpoint: starting it over`,
    );
    // a fresh start may use other data: all growbert wrote is made again; a resume keeps config and tokenizer
    if (!resume) this.removeOutputs();
    else if (ownedName('metrics.jsonl', this.ownedEntries())) this.metrics().truncateAfter(-1);
  }

  /**
   * Creates the folder when needed, takes its lock and marks it as growbert's (claiming the
   * entries it will write): called by the process that writes the run, once its config passed
   * every check. A failure leaves no folder it made: never one holding only the marker.
   */
  create(): void {
    const made = fsStep('create the run folder', this.dir, () => fs.mkdirSync(this.dir, { recursive: true }));
    const [marked, locked] = [this.isRun(), holdsRunLock(this.dir)];
    try {
      if (!locked) this.lock();
      if (!marked) fsStep('mark', this.dir, () => this.claim());
    } catch (e) {
      if (!locked) this.release();
      if (made) {
        fs.rmSync(this.paths.marker, { force: true });
        // the folders this call made, innermost first, each only when empty (rmdir never deletes content)
        for (let d = path.resolve(this.dir); isWithin(d, path.resolve(made)); d = path.dirname(d))
          try {
            fs.rmdirSync(d);
          } catch {
            break;
          }
      }
      throw e;
    }
  }

  /**
   * A resume keeps what defines the run's budget: its unit (a time budget's stages end by the
   * clock, a step budget's by steps) and, for a time budget, the clock it charges. A changed one
   * would move the LR schedule and could train a finished run on; refused, naming the flag.
   */
  checkBudgetKept(budget: Budget, clock: Clock): void {
    const plan = this.readPlan<{ budget?: Budget }>();
    const was = plan?.budget;
    if (!was) return; // stopped before its plan was saved: nothing was planned yet
    if (was.unit !== budget.unit)
      throw new GrowbertError(
        `${this.dir} was planned with a budget of ${was.label ?? `${was.amount} ${was.unit}`}; a resume keeps the budget's unit (${was.unit}): give --budget (or --max-steps) in ${was.unit}, or start a new run`,
      );
    const wasClock = (this.readConfig()?.clock as Clock | undefined) ?? 'wall';
    if (budget.unit === 'seconds' && clock !== wasClock)
      throw new GrowbertError(
        `${this.dir} charges its time budget on the ${wasClock} clock; a resume keeps it: drop --clock ${clock} (or pass --clock ${wasClock}), or start a new run`,
      );
  }

  /**
   * A resume builds the model from the checkpoint; a config.json edited since (say model.hiddenSize)
   * would silently plan, log and count FLOPs for another shape. Refused, naming the field.
   */
  checkShapeKept(saved: BertConfig, planned: BertConfig | undefined): void {
    if (!planned) return;
    const fields = ['hiddenSize', 'numHiddenLayers', 'numAttentionHeads', 'intermediateSize', 'vocabSize'] as const;
    for (const f of fields) {
      if (saved[f] === planned[f]) continue;
      const name = f === 'vocabSize' ? 'the vocabulary size (data.vocabSize or --tokenizer)' : `model.${f}`;
      throw new GrowbertError(
        `${this.dir}/config.json (or a flag) gives ${name} ${planned[f]}, but the checkpoint has ${saved[f]}; a run keeps its shape: undo the change, or start a new run (or grow this one) for the new shape`,
      );
    }
  }

  // ---- its files ----

  /** config.json as saved, or null when the run has none. */
  readConfig(): Record<string, unknown> | null {
    return fs.existsSync(this.paths.config) ? (readConfigFile(this.paths.config) as Record<string, unknown>) : null;
  }

  /**
   * Saves the config a run starts with: data paths absolute (the run resumes the same from any
   * folder), without the launch's rendezvous file (the store deletes it at the end; a crashed
   * launch's would hand a resume stale addresses), as an auto-chosen port is not kept either.
   */
  saveConfig(input: PretrainConfig): void {
    const { rdzvFile: _launchOnly, ...dist } = input.dist;
    const saved = { ...input, data: absoluteDataPaths(input.data), dist };
    fsStep('create the run folder', this.dir, () => this.writeConfig(saved));
  }

  /** Writes config.json as given (a run that `grow` or `import` builds). */
  writeConfig(config: object): void {
    atomicWriteFile(this.paths.config, JSON.stringify(config, null, 2) + '\n');
  }

  hasTokenizer(): boolean {
    return fs.existsSync(this.paths.tokenizerFile);
  }

  saveTokenizer(t: BertTokenizer): void {
    t.save(this.paths.tokenizerDir);
  }

  loadTokenizer(): BertTokenizer {
    const file = this.paths.tokenizerFile;
    if (!fs.existsSync(file))
      throw new GrowbertError(`${this.dir} has no tokenizer (${file} missing); is it a growbert run folder?`);
    return BertTokenizer.fromFile(file);
  }

  /**
   * The tokenizer a resume continues with: the run's own, whatever the cache or --tokenizer now
   * say, so a resume does not depend on the cache folder or on retraining. `given` when the run
   * has none yet (it stopped before saving one).
   */
  tokenizerFor(given: string | undefined, say: (l: string) => void): string | undefined {
    const own = path.resolve(this.paths.tokenizerFile);
    if (!fs.existsSync(own)) return given;
    if (given && realPath(given) !== realPath(own) && realPath(given) !== path.dirname(realPath(own)))
      say(`note: --tokenizer ${given} not used: a run resumes with its own tokenizer, ${own}`);
    return own;
  }

  /** schedule.json (src/train/plan-stages.ts), or null when the run has none yet. */
  readPlan<T>(): T | null {
    return fs.existsSync(this.paths.schedule) ? (JSON.parse(fs.readFileSync(this.paths.schedule, 'utf8')) as T) : null;
  }

  savePlan(plan: unknown): void {
    atomicWriteFile(this.paths.schedule, JSON.stringify(plan, null, 2) + '\n');
  }

  metrics(): MetricsLog {
    return new MetricsLog(this.dir);
  }

  readMetrics(): MetricsLine[] {
    return this.metrics().read();
  }

  /** A new TensorBoard event file for this start or resume (tensorboard.ts), starting at `o.step`. */
  openEventFile(o: ConstructorParameters<typeof TensorBoardSink>[1]): TensorBoardSink {
    return new TensorBoardSink(this.dir, o);
  }

  // ---- checkpoints (their format: checkpoint.ts) ----

  latestCheckpoint(warn?: (line: string) => void): string | null {
    return ck.latestCheckpoint(this.dir, warn);
  }

  /** The checkpoint a resume loads: the latest that passes its hash check (older ones after it, with a warning). */
  loadLatestGood(warn: (line: string) => void = warnLine): { dir: string; data: ck.CheckpointData } | null {
    return ck.loadLatestGood(this.dir, warn);
  }

  saveCheckpoint(step: number, data: ck.CheckpointData, keep?: number): string {
    return ck.saveCheckpoint(this.dir, step, data, keep);
  }

  /** After a blow-up: the newest good checkpoint becomes latest; null when there is none. */
  fallBackToGood(): string | null {
    return ck.fallBackToGood(this.dir);
  }

  /** The model and tokenizer of the run's latest checkpoint, or of `checkpoint` in it. */
  loadModel(opts: { device?: Device; checkpoint?: string } = {}): LoadedModel {
    const checkpoint = opts.checkpoint ?? ck.resolveCheckpoint(this.dir);
    const data = ck.loadCheckpoint(checkpoint, { skipOptimizer: true });
    const raw = data.trainer.modelConfig;
    if (!raw)
      throw new GrowbertError(
        `${checkpoint}/trainer.json has no modelConfig; the checkpoint was not written by this growbert`,
      );
    const config = bertConfig(raw as BertConfig);
    const model = new BertForMaskedLM(config, { device: opts.device });
    model.loadStateDict(data.model);
    dispose(data.model);
    return { model, config, tokenizer: this.loadTokenizer(), checkpoint, run: this, trainer: data.trainer };
  }
}

/** Loads the model (and tokenizer) of a run's latest checkpoint, or of a checkpoint folder. */
export function loadRunModel(runOrCkpt: string, opts: { device?: Device } = {}): LoadedModel {
  const { run, checkpoint } = RunDir.find(runOrCkpt);
  return run.loadModel({ ...opts, checkpoint });
}

/** Paths (not stdlib:, hf: and the like) as absolute ones: the saved config resumes from any folder. */
function absoluteDataPaths<D extends { specs: string[]; cacheDir?: string; tokenizer?: string }>(data: D): D {
  const abs = (p: string) => (/^[a-z][a-z0-9+.-]*:/i.test(p) && !fs.existsSync(p) ? p : path.resolve(p));
  return {
    ...data,
    specs: data.specs.map(abs),
    ...(data.cacheDir !== undefined && { cacheDir: abs(data.cacheDir) }),
    ...(data.tokenizer !== undefined && { tokenizer: abs(data.tokenizer) }),
  };
}
