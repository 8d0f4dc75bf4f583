// Shared by test/export and test/eval: the committed Hugging Face fixtures, the shared GLUE data
// (skipped when absent), and a run
// folder built by hand (tokenizer + a small BertForMaskedLM + a step-0 checkpoint), so these
// tests need no pre-training trainer.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BertTokenizer } from '../../src/data/tokenizer.js';
import { BertForMaskedLM, type BertConfigInput } from '../../src/model/index.js';
import { dispose, tidy, type Tensor } from '../../src/tensor/index.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { runPaths } from '../../src/train/run.js';
import { hfFixture } from '../helpers/hf-fixtures.js';

// Compiled to dist/test/<dir>/: shared/ sits beside the repo, or inside it on machines that carry a copy.
function shared(rel: string): string | null {
  return (
    [`../../../../shared/data/${rel}`, `../../../shared/data/${rel}`]
      .map((r) => fileURLToPath(new URL(r, import.meta.url)))
      .find((p) => fs.existsSync(p)) ?? null
  );
}

/** test/fixtures/hf: committed, always present. */
export const FIXTURES = path.dirname(hfFixture('README.md'));
export const GLUE_DIR = shared('glue');
export const noGlue = GLUE_DIR === null && 'shared GLUE data absent';

export function tmpDir(prefix = 'growbert-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** The fixture's small uncased WordPiece vocabulary. */
export function smallTokenizer(): BertTokenizer {
  return BertTokenizer.fromFile(hfFixture('tokenizer', 'vocab.txt'));
}

export const TINY: Omit<BertConfigInput, 'vocabSize'> = {
  hiddenSize: 32,
  numHiddenLayers: 2,
  numAttentionHeads: 4,
  intermediateSize: 64,
  maxPositionEmbeddings: 64,
};

/** Writes RUN/tokenizer/ and a step-0 checkpoint of a seeded model; returns the model (caller disposes). */
export function makeRun(
  dir: string,
  config: BertConfigInput,
  tokenizer: BertTokenizer,
  seed = 1,
  randomizeNorms = true,
): BertForMaskedLM {
  tokenizer.save(runPaths(dir).tokenizerDir);
  const model = new BertForMaskedLM(config, { seed });
  // random (not 1 / 0) LayerNorm parameters and biases, so a round trip that dropped them would show
  if (randomizeNorms)
    tidy(() => {
      for (const [n, t] of model.namedParameters())
        if (n.includes('LayerNorm') || n.endsWith('bias')) t.detach().uniform_(-0.5, 1.5);
    });
  const sd = model.stateDict();
  saveCheckpoint(dir, 0, {
    model: sd,
    optimizer: new Map(),
    trainer: { step: 0, tokens: 0, modelConfig: model.config },
  });
  dispose(sd);
  return model;
}

/** The fixture's expected inputs as a batch. */
export function fixtureBatch(ex: Map<string, Tensor>) {
  return {
    inputIds: ex.get('input_ids')!,
    tokenTypeIds: ex.get('token_type_ids')!,
    attentionMask: ex.get('attention_mask')!,
  };
}

export function maxAbsDiff(a: Tensor, b: Tensor): number {
  return tidy(() => a.float().sub(b.float()).abs().max().item());
}

/** Runs the CLI in-process, capturing what it prints. */
export async function runCli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const { main } = await import('../../src/cli/main.js');
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log,
    error = console.error;
  // main() returns process.exitCode when a command set it; the test runner sets it to 1 after
  // any failed test, which must not turn this command's success into a failure
  const exitCode = process.exitCode;
  process.exitCode = undefined;
  console.log = (...a: unknown[]) => {
    out.push(a.join(' '));
  };
  console.error = (...a: unknown[]) => {
    err.push(a.join(' '));
  };
  try {
    return { code: await main(args), out, err };
  } finally {
    console.log = log;
    console.error = error;
    process.exitCode = exitCode;
  }
}
