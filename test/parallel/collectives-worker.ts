// One rank of the collectives test (test/parallel/data-parallel.test.ts spawns two of these with
// RANK/WORLD_SIZE/MASTER_PORT set). Prints one JSON line of results. Does nothing when run
// without GROWBERT_TEST_WORKER (the test runner may load every file under test/).
import * as fs from 'node:fs';
import { DataParallel } from '../../src/parallel/data-parallel.js';
import { workerEnv } from '../../src/parallel/env.js';
import { ProcessGroup } from '../../src/parallel/process-group.js';
import * as T from '../../src/tensor/index.js';

async function main(): Promise<void> {
  const env = workerEnv()!;
  const out: Record<string, unknown> = {};
  const dp = DataParallel.init({
    env,
    backend: 'gloo',
    device: 'cpu',
    timeoutSeconds: 3,
    masterAddr: '127.0.0.1',
    masterPort: env.masterPort!,
    heartbeatMs: 500,
  });
  const pg: ProcessGroup = dp.pg;
  const r = dp.rank;
  // sum, avg, max on tensors; two allreduces in flight at once, waited in reverse order
  const a = T.tensor([r + 1, 10 * (r + 1)]);
  const b = T.tensor([r + 1.5]);
  const c = T.tensor([r * 7]);
  const wa = pg.allReduce(a, 'sum');
  const wb = pg.allReduce(b, 'avg');
  wb.wait();
  wa.wait();
  pg.allReduce(c, 'max').wait();
  out.sum = Array.from(a.data() as Float32Array);
  out.avg = Array.from(b.data() as Float32Array);
  out.max = Array.from(c.data() as Float32Array);
  // broadcast of several tensors of different shapes and dtypes from rank 0
  const ts = [T.full([2, 3], r + 1), T.tensor([r * 100, 5], { dtype: 'int64' })];
  dp.broadcast(ts);
  out.broadcast = ts.map((t) => t.toArray());
  out.object = dp.broadcastObject(r === 0 ? { steps: [3, 4], name: 'zero' } : { steps: [], name: 'other' });
  out.sums = dp.sum([r, 0.5]);
  pg.barrier();
  // a second group, formed through a file store instead of TCP
  const fg = ProcessGroup.init({
    backend: 'gloo',
    rank: r,
    worldSize: 2,
    store: { file: process.env.GROWBERT_TEST_STORE_FILE! },
    timeoutMs: 5000,
  });
  const f = T.tensor([r + 2]);
  fg.allReduce(f, 'product').wait();
  out.fileStore = Array.from(f.data() as Float32Array);
  fg.destroy();
  // identical weights pass; differing ones name the rank
  dp.verifyIdentical([['w', T.ones([4])]], 'same');
  try {
    dp.verifyIdentical([['w', T.full([4], r === 1 ? 2 : 1)]], 'after a test growth');
    out.verify = 'no error';
  } catch (e) {
    out.verify = (e as Error).message;
  }
  try {
    dp.rows(7);
  } catch (e) {
    out.rows = (e as Error).message;
  }
  // A collective that rank 1 never joins: rank 0 times out (3 s) with an error, not a hang.
  const timedOut = process.env.GROWBERT_TEST_STORE_FILE! + '.timed-out';
  if (r === 0) {
    const t0 = Date.now();
    try {
      pg.allReduce(T.ones([3])).wait();
      out.timeout = 'no error';
    } catch (e) {
      out.timeout = ((await dp.explain(e, 'a lone all-reduce')) as Error).message;
    }
    out.timeoutSeconds = (Date.now() - t0) / 1000;
    fs.writeFileSync(timedOut, '');
  } else {
    // stay in the group (silent) until rank 0 has timed out, however loaded the machine: leaving
    // early would fail rank 0's all-reduce with a closed connection instead of the timeout
    for (let i = 0; i < 1200 && !fs.existsSync(timedOut); i++) await new Promise((res) => setTimeout(res, 100));
  }
  console.log(JSON.stringify(out));
  // The group is left broken by the timeout: exit without tearing it down.
  process.exit(0);
}

if (process.env.GROWBERT_TEST_WORKER === '1') {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
