// issue 27's data loss, as the user met it: `growbert export --force` killed with SIGKILL while it
// swaps the folder's files (GROWBERT_FAULT_SWAP=N: the process kills itself at the Nth step, a
// real kill -9), then the same command again: it finishes the replacement the killed one left and
// writes a whole export, with the user's file beside it untouched and no temp sibling left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TINY, makeRun, smallTokenizer, tmpDir } from '../export/helpers.js';

const root = fs.realpathSync(tmpDir('growbert-export-kill-'));
const run = path.join(root, 'run');
const out = path.join(root, 'hf');

function growbert(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['bin/growbert.js', ...args], {
    encoding: 'utf8',
    timeout: 120000,
    env: { ...process.env, ...env },
  });
  return { code: r.status, signal: r.signal, stderr: r.stderr.trim() };
}

test('export --force killed mid-swap: the next export finishes it, nothing of the user lost', () => {
  const tok = smallTokenizer();
  makeRun(run, { ...TINY, vocabSize: tok.vocabSize }, tok).dispose();
  assert.equal(growbert(['export', '--run', run, '--out', out]).code, 0);
  fs.writeFileSync(path.join(out, 'README.md'), "the user's notes");
  const first = fs.readdirSync(out).sort();
  const killed = growbert(['export', '--run', run, '--out', out, '--force'], { GROWBERT_FAULT_SWAP: '5' });
  assert.equal(killed.signal, 'SIGKILL', killed.stderr);
  assert.notDeepEqual(fs.readdirSync(out).sort(), first, 'killed mid-swap: the folder is half replaced');
  const again = growbert(['export', '--run', run, '--out', out, '--force']);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(fs.readdirSync(out).sort(), first);
  assert.equal(fs.readFileSync(path.join(out, 'README.md'), 'utf8'), "the user's notes");
  assert.deepEqual(
    fs.readdirSync(root).filter((n) => n.startsWith('.hf.')),
    [],
    'no temp sibling or journal left',
  );
  const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')) as { hidden_size: number };
  assert.equal(cfg.hidden_size, TINY.hiddenSize);
});
