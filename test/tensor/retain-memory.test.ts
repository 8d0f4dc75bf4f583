// retainFreedMemory (native/src/perf.cc): while a trainer holds it, a freed 256 MB tensor stays in
// malloc's heap (the process's resident memory does not drop, so the next step need not fault it
// in again); after the last hold is released, glibc's defaults are back and the heap is trimmed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { retainFreedMemory, zeros } from '../../src/tensor/index.js';

const MB = 1 << 20;
const rss = () => process.memoryUsage().rss;

/** How much resident memory freeing a 256 MB tensor (filled, so its pages are resident) gives back. */
function returnedOnFree(): number {
  const t = zeros([64 * MB]).add_(1); // 256 MB of float32, every page touched
  const held = rss();
  t.dispose();
  return held - rss();
}

test(
  'retainFreedMemory keeps freed tensor memory while held, nested holds count, release trims',
  {
    skip: process.platform !== 'linux' ? 'glibc only' : false,
  },
  () => {
    assert.ok(returnedOnFree() > 200 * MB, 'by default glibc gives a freed 256 MB block back at once');
    const outer = retainFreedMemory();
    const inner = retainFreedMemory();
    assert.ok(returnedOnFree() < 32 * MB, 'held: the freed block stays in the heap');
    inner();
    inner(); // a second call of the same release does nothing
    assert.ok(returnedOnFree() < 32 * MB, 'still held by the outer hold');
    const before = rss();
    outer(); // the last release restores the defaults and trims what is free
    assert.ok(before - rss() > 200 * MB, 'the last release gives the retained memory back');
    assert.ok(returnedOnFree() > 200 * MB, 'defaults again');
  },
);
