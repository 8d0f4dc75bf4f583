import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GrowbertError } from '../../src/io/errors.js';
import { GLUE_TASKS, loadGlue, type GlueExample, type GlueTask } from '../../src/eval/glue-data.js';

// Compiled to dist/test/eval/: shared/ sits beside the repo, or inside it on machines that carry
// a copy. GLUE data is never committed, so the shared-data tests skip when it is absent.
const GLUE_DIR = ['../../../../shared/data/glue', '../../../shared/data/glue']
  .map((rel) => fileURLToPath(new URL(rel, import.meta.url)))
  .find((p) => fs.existsSync(p));

function labelSet(xs: GlueExample[]): number[] {
  return [...new Set(xs.map((x) => x.label))].sort();
}

test('task table', () => {
  for (const [k, spec] of Object.entries(GLUE_TASKS)) assert.equal(spec.task, k);
  assert.equal(GLUE_TASKS.mnli.devFile, 'dev_matched.tsv');
  assert.equal(GLUE_TASKS.stsb.labels, null);
  assert.equal(GLUE_TASKS.cola.metric, 'matthews');
  assert.equal(GLUE_TASKS.mrpc.metric, 'f1_accuracy');
});

test(
  'loads the shared SST-2, MRPC and CoLA copies',
  { skip: GLUE_DIR === undefined && 'shared GLUE data absent' },
  () => {
    const dir = GLUE_DIR!;
    const counts: [GlueTask, number, number, boolean][] = [
      ['sst2', 67349, 872, false],
      ['mrpc', 3668, 408, true],
      ['cola', 8551, 1043, false],
    ];
    for (const [task, nTrain, nDev, pair] of counts) {
      const train = loadGlue(task, dir, 'train');
      const dev = loadGlue(task, dir, 'dev');
      assert.equal(train.length, nTrain, `${task} train`);
      assert.equal(dev.length, nDev, `${task} dev`);
      assert.deepEqual(labelSet(train), [0, 1], `${task} train labels`);
      assert.deepEqual(labelSet(dev), [0, 1], `${task} dev labels`);
      for (const ex of [...train, ...dev]) {
        assert.equal(typeof ex.textA, 'string');
        assert.equal(ex.textB !== undefined, pair);
      }
    }
    const sst = loadGlue('sst2', dir, 'dev');
    assert.deepEqual(sst[0], { textA: "it 's a charming and often affecting journey . ", label: 1 });
    // MRPC starts with a BOM; the header cell "Quality" must still be found, and unmatched
    // quotes must stay as text rather than swallow the following rows.
    const mrpc = loadGlue('mrpc', dir, 'dev');
    assert.equal(mrpc[0]!.label, 1);
    assert.ok(mrpc[0]!.textA.startsWith('He said the foodservice pie business'));
    assert.equal(mrpc[0]!.textB, '" The foodservice pie business does not fit our long-term growth strategy .');
    // CoLA has no header and dev has no final newline: the last line is still an example.
    const cola = loadGlue('cola', dir, 'dev');
    assert.equal(cola[0]!.textA, 'The sailors rode the breeze clear of the rocks.');
    assert.ok(cola[cola.length - 1]!.textA.endsWith('about himself.'));
  },
);

/** A temp GLUE root with one file written into it. */
function fakeGlue(dir: string, file: string, content: string): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-glue-'));
  fs.mkdirSync(path.join(root, dir));
  fs.writeFileSync(path.join(root, dir, file), content);
  return root;
}

function assertGlueError(fn: () => unknown, fileSuffix: string, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof GrowbertError, `expected GrowbertError, got ${String(e)}`);
    assert.ok(e.message.includes(fileSuffix), `message should name the file: ${e.message}`);
    assert.match(e.message, re);
    return true;
  });
}

test('small files in every task layout, with CRLF and a BOM', () => {
  const rte = fakeGlue(
    'RTE',
    'train.tsv',
    '\ufeffindex\tsentence1\tsentence2\tlabel\r\n0\ta b\tc\tnot_entailment\r\n1\td\te\tentailment\r\n\r\n',
  );
  assert.deepEqual(loadGlue('rte', rte, 'train'), [
    { textA: 'a b', textB: 'c', label: 1 },
    { textA: 'd', textB: 'e', label: 0 },
  ]);
  const sts = fakeGlue(
    'STS-B',
    'dev.tsv',
    'index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n' +
      '0\tmain-captions\tMSRvid\t2012test\t0000\tnone\tnone\tA man.\tA person.\t4.250\n',
  );
  assert.deepEqual(loadGlue('stsb', sts, 'dev'), [{ textA: 'A man.', textB: 'A person.', label: 4.25 }]);
  const mnliHeader =
    'index\tpromptID\tpairID\tgenre\ts1b\ts2b\ts1p\ts2p\tsentence1\tsentence2\tlabel1\tlabel2\tgold_label\n';
  const mnli = fakeGlue(
    'MNLI',
    'dev_matched.tsv',
    mnliHeader + '0\t1\t2\tgov\tx\tx\tx\tx\tP.\tH.\tneutral\tneutral\tneutral\n',
  );
  assert.deepEqual(loadGlue('mnli', mnli, 'dev'), [{ textA: 'P.', textB: 'H.', label: 2 }]);
  const qnli = fakeGlue('QNLI', 'train.tsv', 'index\tquestion\tsentence\tlabel\n0\tWhy?\tBecause.\tentailment\n');
  assert.deepEqual(loadGlue('qnli', qnli, 'train'), [{ textA: 'Why?', textB: 'Because.', label: 0 }]);
  for (const root of [rte, sts, mnli, qnli]) fs.rmSync(root, { recursive: true, force: true });
});

test('bad input gives GrowbertErrors naming the file and line', () => {
  const roots: string[] = [];
  const make = (dir: string, file: string, content: string): string => {
    const r = fakeGlue(dir, file, content);
    roots.push(r);
    return r;
  };
  const missingRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-glue-'));
  roots.push(missingRoot);
  assertGlueError(
    () => loadGlue('sst2', missingRoot, 'train'),
    path.join('SST-2', 'train.tsv'),
    /not found.*--data should point at the GLUE root/,
  );
  assertGlueError(() => loadGlue('mnli', missingRoot, 'dev'), 'dev_matched.tsv', /not found/);

  assertGlueError(() => loadGlue('sst2', make('SST-2', 'train.tsv', ''), 'train'), 'train.tsv:1', /empty/);
  assertGlueError(() => loadGlue('cola', make('CoLA', 'dev.tsv', '\n\n'), 'dev'), 'dev.tsv:1', /empty/);
  assertGlueError(() => loadGlue('sst2', make('SST-2', 'dev.tsv', 'sentence\tlabel\n'), 'dev'), 'dev.tsv:2', /empty/);

  assertGlueError(
    () => loadGlue('sst2', make('SST-2', 'train.tsv', 'sentence\tlabel\ngood\t1\nno label here\n'), 'train'),
    'train.tsv:3',
    /1 tab-separated columns.*at least 2/,
  );
  assertGlueError(
    () => loadGlue('cola', make('CoLA', 'train.tsv', 'gj04\t1\t\tOk.\ngj04\t1\t\n'), 'train'),
    'train.tsv:2',
    /columns/,
  );
  assertGlueError(
    () => loadGlue('rte', make('RTE', 'dev.tsv', 'index\tsentence1\tsentence2\tlabel\n0\ta\tb\tmaybe\n'), 'dev'),
    'dev.tsv:2',
    /unknown label "maybe"; rte labels are entailment, not_entailment/,
  );
  assertGlueError(
    () => loadGlue('sst2', make('SST-2', 'dev.tsv', 'sentence\tlabel\nfine\t2\n'), 'dev'),
    'dev.tsv:2',
    /labels are 0, 1/,
  );
  assertGlueError(
    () => loadGlue('stsb', make('STS-B', 'train.tsv', 'sentence1\tsentence2\tscore\na\tb\thigh\n'), 'train'),
    'train.tsv:2',
    /score "high" is not a number/,
  );
  assertGlueError(
    () => loadGlue('mrpc', make('MRPC', 'train.tsv', 'label\tsentence\n1\tx\n'), 'train'),
    'train.tsv:1',
    /no "#1 String" column/,
  );
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});
