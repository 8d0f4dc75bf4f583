// The CLI's contract for bad input: one line naming the problem and the fix, non-zero exit.
// And the config contract: every pretrain flag has a config field, and every field a flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import { PRETRAIN_FLAGS, choicesOf, flagHelp } from '../../src/cli/config-flags.js';
import { SCHEDULE_PRESETS } from '../../src/schedule/schedule.js';
import { PRECISIONS, PretrainConfigSchema } from '../../src/train/config.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-cli-'));
function growbert(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/growbert.js', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.trim() };
}
function assertOneLineError(r: ReturnType<typeof growbert>, pattern: RegExp) {
  assert.notEqual(r.code, 0, 'exit code must be non-zero');
  const lines = r.stderr.split('\n').filter((l) => l.trim());
  assert.equal(lines.length, 1, `one line of error, got:\n${r.stderr}`);
  assert.match(lines[0], pattern);
}

test('--version and --help', () => {
  const v = growbert('--version');
  assert.equal(v.code, 0);
  assert.match(v.stdout.trim(), /^\d+\.\d+\.\d+$/);
  const h = growbert('--help');
  assert.equal(h.code, 0);
  for (const c of ['pretrain', 'eval', 'bench', 'demo']) assert.match(h.stdout, new RegExp(`\\b${c}\\b`));
});

test('unknown preset', () => {
  assertOneLineError(growbert('pretrain', '--preset', 'huge', '--out', path.join(tmp, 'a')), /preset.*'huge'.*tiny/i);
});

test('hidden size not divisible by heads', () => {
  assertOneLineError(
    growbert(
      'pretrain',
      '--hidden',
      '100',
      '--heads',
      '3',
      '--data',
      'stdlib:moby-dick',
      '--out',
      path.join(tmp, 'b'),
      '--cache-dir',
      path.join(tmp, 'cache'),
    ),
    /hiddenSize 100 is not divisible by numAttentionHeads 3/,
  );
});

test('missing data path', () => {
  assertOneLineError(
    growbert('pretrain', '--data', path.join(tmp, 'nope.txt'), '--out', path.join(tmp, 'c')),
    /nope\.txt/,
  );
});

test('empty corpus', () => {
  const f = path.join(tmp, 'empty.txt');
  fs.writeFileSync(f, '\n\n   \n');
  assertOneLineError(growbert('pretrain', '--data', f, '--out', path.join(tmp, 'd')), /empty|no text/i);
});

test('bad flag values and config files', () => {
  assertOneLineError(
    growbert('pretrain', '--max-steps', 'ten', '--out', path.join(tmp, 'e')),
    /--max-steps ten: expected an integer/,
  );
  assertOneLineError(growbert('pretrain', '--device', 'tpu', '--out', path.join(tmp, 'e')), /runtime\.device/);
  const bad = path.join(tmp, 'bad.json');
  fs.writeFileSync(bad, JSON.stringify({ train: { learningRate: 1 } }));
  assertOneLineError(growbert('pretrain', '--config', bad), /unknown field\(s\) 'learningRate' in train/);
  assertOneLineError(growbert('pretrain', '--config', path.join(tmp, 'missing.json')), /missing\.json does not exist/);
  assertOneLineError(growbert('pretrain', '--no-such-flag'), /unknown option/);
});

function leaves(schema: z.ZodTypeAny, prefix = ''): string[] {
  let s = schema;
  while (s instanceof z.ZodDefault || s instanceof z.ZodOptional || s instanceof z.ZodEffects)
    s = s instanceof z.ZodEffects ? s.innerType() : s._def.innerType;
  if (s instanceof z.ZodObject)
    return Object.entries(s.shape as Record<string, z.ZodTypeAny>).flatMap(([k, v]) =>
      leaves(v, prefix ? `${prefix}.${k}` : k),
    );
  return [prefix];
}

test('every pretrain flag maps to a config field and every field has a flag', () => {
  const fields = leaves(PretrainConfigSchema).sort();
  const flags = PRETRAIN_FLAGS.map((f) => f.path).sort();
  assert.deepEqual(flags, fields);
});

test('docs/config.md documents every pretrain flag, with every choice of the enum fields', () => {
  const doc = fs.readFileSync('docs/config.md', 'utf8');
  for (const f of PRETRAIN_FLAGS) {
    const row = doc.split('\n').find((l) => l.startsWith(`| \`--${f.flag}\` | \`${f.path}\``));
    assert.ok(row, `docs/config.md lacks --${f.flag}`);
    const choices = f.flag === 'schedule' ? SCHEDULE_PRESETS : (choicesOf(f.path) ?? []);
    for (const c of choices)
      assert.ok(new RegExp(`\\b${c}\\b`).test(row), `docs/config.md's --${f.flag} row lacks the choice '${c}'`);
    for (const c of choices) assert.ok(flagHelp(f).includes(c), `--${f.flag}'s help lacks the choice '${c}'`);
  }
  // The choices come from the schema: an enum field has them, others none.
  assert.deepEqual(choicesOf('runtime.precision'), [...PRECISIONS]);
  assert.equal(choicesOf('train.lr'), undefined);
});
