// The Hugging Face reference fixture (committed in test/fixtures/hf) and small helpers shared by
// the model tests.
import * as fs from 'node:fs';
import { hfFixture } from '../helpers/hf-fixtures.js';
import { BertForMaskedLM, fromHfConfig } from '../../src/model/index.js';
import { loadSafetensors, tidy, type Tensor } from '../../src/tensor/index.js';

/** The bert-tiny-mlm fixture folder. */
export const MLM_FIXTURE: string = hfFixture('bert-tiny-mlm');

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
