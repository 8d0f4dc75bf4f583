// Locating the Hugging Face reference fixtures (shared/, beside the repo or carried inside it)
// and small helpers shared by the model tests.
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BertForMaskedLM, fromHfConfig } from '../../src/model/index.js';
import { loadSafetensors, tidy, type Tensor } from '../../src/tensor/index.js';

const REL = 'shared/data/hf-fixtures/bert-tiny-mlm';
/** The bert-tiny-mlm fixture folder, or null when the shared data is absent. */
export const MLM_FIXTURE: string | null =
  [`../../../../${REL}`, `../../../${REL}`, `../${REL}`]
    .map((rel) => (rel.startsWith('../../') ? fileURLToPath(new URL(rel, import.meta.url)) : rel))
    .find((p) => fs.existsSync(`${p}/model.safetensors`)) ?? null;

/** The fixture's model, in eval mode, with Hugging Face's weights. */
export function loadFixtureModel(dir: string): BertForMaskedLM {
  const config = fromHfConfig(JSON.parse(fs.readFileSync(`${dir}/config.json`, 'utf8')));
  const model = new BertForMaskedLM(config, { seed: 1 });
  const { tensors } = loadSafetensors(`${dir}/model.safetensors`);
  model.loadStateDict(tensors);
  for (const t of tensors.values()) t.dispose();
  return model.eval();
}

/** max |a - b| as a number. */
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  return tidy(() => a.float().sub(b.float()).abs().max().item());
}
