// issue 27's silent budgets, at the command line: `plan --budget ""` is refused (it used the
// default), 1e400flops is not planned as Infinity steps, 1.5 is not planned as 2 steps, and
// `pretrain --budget 1e400flops` stops before any work. Each is one line with exit code 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-budget-cli-'));

function growbert(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/growbert.js', ...args], { encoding: 'utf8', timeout: 120000 });
  return {
    code: r.status,
    stdout: r.stdout,
    lines: r.stderr
      .trim()
      .split('\n')
      .filter((l) => l.trim()),
  };
}

test('bad budgets are one line at the command line, for plan and pretrain', () => {
  const cases: [string[], RegExp][] = [
    [['plan', '--schedule', 'full', '--no-calibrate', '--budget', ''], /budget '' is empty/],
    [['plan', '--schedule', 'full', '--no-calibrate', '--budget', '1e400flops'], /infinite \(beyond a double\)/],
    [['plan', '--schedule', 'full', '--no-calibrate', '--budget', '1.5'], /a budget of steps is a whole number/],
    [['plan', '--schedule', 'full', '--no-calibrate', '--budget', '1e40flops'], /more than growbert counts exactly/],
    [
      ['pretrain', '--budget', '1e400flops', '--out', path.join(tmp, 'r'), '--cache-dir', path.join(tmp, 'c')],
      /infinite \(beyond a double\)/,
    ],
  ];
  for (const [args, re] of cases) {
    const r = growbert(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.lines.join('\n')}\n${r.stdout}`);
    assert.equal(r.lines.length, 1, r.lines.join('\n'));
    assert.match(r.lines[0]!, re);
    assert.doesNotMatch(r.stdout, /Infinity|NaN/);
  }
});
