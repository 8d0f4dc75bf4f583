// Part of `npm run check:device`: growbert's own logits for an exported Hugging Face folder, on
// fixed token ids, for the comparison with transformers' BertForMaskedLM (eval mode, float32).
//   node scripts/check-device-logits.mjs EXPORT_DIR IDS_JSON_OUT LOGITS_F32_OUT
import * as fs from 'node:fs';
import { hfMaskedLM, readHfModel } from '../dist/src/export/hf-import.js';
import { noGrad, tensor } from '../dist/src/tensor/index.js';

const [dir, idsOut, logitsOut] = process.argv.slice(2);
const { model } = hfMaskedLM(readHfModel(dir));
model.eval();
const V = model.config.vocabSize,
  S = Math.min(32, model.config.maxPositionEmbeddings);
// Two rows of ids spread over the vocabulary, [CLS]=2 first (any ids < V would do).
const ids = [0, 1].map((r) =>
  Array.from({ length: S }, (_, i) => (i === 0 ? 2 : 5 + ((i * 7919 + r * 104729) % (V - 5)))),
);
fs.writeFileSync(idsOut, JSON.stringify(ids));
const logits = noGrad(
  () =>
    model.forward({
      inputIds: tensor(
        BigInt64Array.from(ids.flat(), (v) => BigInt(v)),
        { shape: [2, S] },
      ),
    }).logits,
);
fs.writeFileSync(logitsOut, Buffer.from(logits.data().buffer));
