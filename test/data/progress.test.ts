import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { ProgressBar, formatDuration } from '../../src/io/progress.js';

function sink(isTTY: boolean): { stream: Writable & { isTTY?: boolean; columns?: number }; out: () => string } {
  let buf = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      buf += String(chunk);
      cb();
    },
  }) as Writable & { isTTY?: boolean; columns?: number };
  stream.isTTY = isTTY;
  stream.columns = 200;
  return { stream, out: () => buf };
}

test('draws rate and ETA on a TTY, redrawing in place', () => {
  let now = 0;
  const { stream, out } = sink(true);
  const bar = new ProgressBar({ total: 100, label: 'tokenizing', unit: 'docs', stream, now: () => now });
  assert.equal(bar.enabled, true);
  now = 2000;
  bar.update(50);
  // eslint-disable-next-line no-control-regex -- the bar ends with the terminal's erase-line escape
  assert.match(out(), /^\rtokenizing \[#{12}-{12}\] 50\/100 docs 50% 25 docs\/s ETA 2s\x1b\[K$/);
  now = 2050;
  bar.tick(10); // inside the redraw interval: not drawn
  assert.equal(out().split('\r').length, 2);
  now = 4000;
  bar.update(100);
  bar.finish();
  bar.finish();
  assert.ok(out().endsWith('\n'));
  assert.match(out(), /100\/100 docs 100% 25 docs\/s in 4s/);
});

test('silent on a non-TTY unless forced; forced prints plain lines', () => {
  const quiet = sink(false);
  const bar = new ProgressBar({ total: 10, stream: quiet.stream });
  assert.equal(bar.enabled, false);
  bar.update(5);
  bar.finish();
  assert.equal(quiet.out(), '');
  let now = 0;
  const loud = sink(false);
  const forced = new ProgressBar({ unit: 'steps', enabled: true, stream: loud.stream, now: () => now });
  now = 1000;
  forced.update(3);
  forced.finish();
  assert.equal(loud.out(), '3 steps 3.0 steps/s in 1s\n3 steps 3.0 steps/s in 1s\n');
  assert.ok(!loud.out().includes('\r'));
});

test('durations', () => {
  assert.equal(formatDuration(5), '5s');
  assert.equal(formatDuration(75), '1m15s');
  assert.equal(formatDuration(3725), '1h02m');
  assert.equal(formatDuration(Infinity), '?');
});
