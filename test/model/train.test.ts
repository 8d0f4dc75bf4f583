import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BertForMaskedLM, presetConfig } from '../../src/model/index.js';
import { dispose, manualSeed, noGrad, randint, tensor, tidy } from '../../src/tensor/index.js';

for (const variant of [{}, { poolingSize: 2 }, { ffnRank: 16 }]) {
  test(`loss falls on one repeated batch with plain SGD (${JSON.stringify(variant)})`, () => {
    manualSeed(0);
    const model = new BertForMaskedLM(
      presetConfig('tiny', 200, { ...variant, hiddenDropoutProb: 0, attentionProbsDropoutProb: 0 }),
      { seed: 0 },
    );
    const batch = {
      inputIds: randint(5, 200, [4, 16]),
      maskedPositions: tensor(
        [
          [1, 4, 9],
          [2, 3, 15],
          [5, 6, 7],
          [8, 12, 14],
        ],
        { dtype: 'int64' },
      ),
      maskedLabels: randint(5, 200, [4, 3]),
    };
    const losses: number[] = [];
    for (let step = 0; step < 30; step++) {
      tidy(() => {
        const { loss } = model.forward(batch);
        losses.push(loss!.item());
        loss!.backward();
        noGrad(() => {
          for (const p of model.parameters()) {
            p.add_(p.grad!, -0.5);
            p.grad = null;
          }
        });
      });
    }
    const [first, last] = [losses[0], losses[losses.length - 1]];
    console.log(`${JSON.stringify(variant)}: loss ${first.toFixed(3)} -> ${last.toFixed(3)}`);
    assert.ok(last < 0.7 * first, `loss ${first} -> ${last}`);
    dispose(batch);
    model.dispose();
  });
}
