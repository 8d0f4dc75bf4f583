// `npm run bench:peer` with the transformers peer (bench/hf_bert_peer.py): a tiny smoke run that
// proves the wiring (interpreter, script, bf16 autocast, the stock and keeping-freed-memory
// runs, the JSON it ends with). It times nothing that is asserted: speed figures are taken by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { PYTHON, REPO, pythonMissing } from '../helpers/python.js';

const skip = pythonMissing(['torch', 'transformers']);

test('bench:peer runs transformers BertForMaskedLM beside growbert and reports the ratios', { skip }, () => {
  const shape = ['1', '32', '2', '64', '2', '16', '1', '200'];
  const r = spawnSync(
    process.execPath,
    [
      'dist/bench/peer-cpu.js',
      ...shape,
      ...['--rounds', '1', '--threads', '1', '--precisions', 'bf16', '--peers', 'hf', '--hf-python', PYTHON],
    ],
    { cwd: REPO, encoding: 'utf8', timeout: 300_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.match(out.peers.hf, /^torch 2\.\S+ transformers \d+\.\S+$/);
  assert.equal(out.peers.plain, undefined, '--peers hf runs only that peer');
  const f = out.bf16;
  for (const k of ['hfPeerTokensPerSecond', 'hfPeerKeepingFreedMemoryTokensPerSecond', 'tokensPerSecondMasked'])
    assert.ok(f[k] > 0, `bf16 ${k}: ${f[k]}`);
  assert.equal(f.ratioMaskedVsHf, Number((f.tokensPerSecondMasked / f.hfPeerTokensPerSecond).toFixed(3)));
});

test('bench:peer without the transformers interpreter: one line naming the fix, exit 2', () => {
  const r = spawnSync(
    process.execPath,
    ['dist/bench/peer-cpu.js', '--peers', 'hf', '--hf-python', '/nonexistent/python'],
    { cwd: REPO, encoding: 'utf8' },
  );
  assert.equal(r.status, 2);
  assert.match(r.stderr.trim(), /^bench:peer: no Python at \/nonexistent\/python .*python-deps\.txt[^\n]*$/);
});
