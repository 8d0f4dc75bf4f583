// Data-parallel training on CPU over Gloo (loopback): the collectives; 2 workers train exactly
// as 1 worker does on the same global batch, across a growth event; a 2-worker checkpoint
// resumes on 1 worker; a killed or frozen worker is reported by rank and nothing hangs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { distributedBackends } from '../../src/parallel/process-group.js';
import { workerEnv } from '../../src/parallel/env.js';
import { freePort } from '../../src/parallel/launch.js';
import { pretrain } from '../../src/train/pretrain.js';
import { tinyRunConfig, writeSchedule } from '../helpers/tiny-run.js';
import { parseConfig, type PretrainConfigInput } from '../../src/train/config.js';
import { MetricsLog } from '../../src/train/metrics-log.js';
import { latestCheckpoint, loadCheckpoint } from '../../src/train/checkpoint.js';
import { loadRunModel } from '../../src/train/run-dir.js';

const skip = distributedBackends() ? false : 'this addon was built without c10d (no Gloo headers)';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'growbert-dist-'));
const cacheDir = path.join(tmp, 'cache');
const quiet = () => {};

// stage 1: 1 layer, FFN 16; stage 2: 2 layers, FFN 64, grown by stacking and sharing. Dropout off,
// so 1 and 2 workers compute the same function.
const schedule = writeSchedule(tmp, 'two-stage', {
  name: 'two-stage',
  stages: [
    { name: 'small', steps: 4, model: { numHiddenLayers: 1, intermediateSize: 16 } },
    { name: 'target', steps: 4, ops: { depth: 'stack', ffn: 'share' } },
  ],
});

function config(out: string, over: { train?: object; dist?: object; resume?: boolean } = {}): PretrainConfigInput {
  return tinyRunConfig(out, cacheDir, {
    model: { hiddenDropoutProb: 0, attentionProbsDropoutProb: 0 },
    // the schedule's stages set the length
    train: {
      maxSteps: undefined,
      evalEvery: 4,
      checkpointEvery: 2,
      keepCheckpoints: 20,
      evalBatches: 3,
      ...over.train,
    },
    // fp32: the 1e-5 agreement below is float32's; bf16 (auto on a CPU with bf16) rounds each
    // worker's half-batch matmuls differently from one process's whole batch.
    runtime: { precision: 'fp32' },
    dist: { timeout: 20, ...over.dist },
    schedule,
    resume: over.resume ?? false,
  });
}

/** `growbert ...` in a child process; resolves with its exit code and output (or fails after limitMs). */
function growbert(
  args: string[],
  o: { env?: NodeJS.ProcessEnv; limitMs?: number; onStderr?: (all: string) => void } = {},
) {
  return new Promise<{ code: number | null; stdout: string; stderr: string; seconds: number }>((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, ['bin/growbert.js', ...args], {
      env: o.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '',
      stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      o.onStderr?.(stderr);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`growbert ${args.join(' ')} did not finish in ${o.limitMs} ms:\n${stderr}`));
    }, o.limitMs ?? 60000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, seconds: (Date.now() - t0) / 1000 });
    });
  });
}

/** A config as a file, for `growbert pretrain --config`. */
function configFile(name: string, c: PretrainConfigInput): string {
  const f = path.join(tmp, `${name}.json`);
  fs.writeFileSync(f, JSON.stringify(c));
  return f;
}

const trainLosses = (run: string) =>
  new MetricsLog(run)
    .read()
    .filter((l) => l.loss !== undefined)
    .map((l) => [l.step, Number(l.loss)] as const);
const valLosses = (run: string) =>
  new MetricsLog(run)
    .read()
    .filter((l) => l.valLoss !== undefined)
    .map((l) => [l.step, Number(l.valLoss)] as const);
function assertClose(
  a: readonly (readonly [unknown, number])[],
  b: readonly (readonly [unknown, number])[],
  tol: number,
  what: string,
) {
  assert.deepEqual(
    a.map(([s]) => s),
    b.map(([s]) => s),
    `${what}: same steps`,
  );
  for (let i = 0; i < a.length; i++)
    assert.ok(
      Math.abs(a[i][1] - b[i][1]) <= tol * Math.abs(a[i][1]),
      `${what} at step ${a[i][0]}: ${a[i][1]} vs ${b[i][1]}`,
    );
}
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
/** The TCP sockets `pid` listens on (Linux /proc): local address as /proc writes it (hex), and port. */
function listeningSockets(pid: number): { addr: string; port: number }[] {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      /* closed meanwhile */
    }
  }
  const out: { addr: string; port: number }[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(table)) continue;
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const c = line.trim().split(/\s+/);
      if (c.length < 10 || c[3] !== '0A' || !inodes.has(c[9])) continue; // 0A: LISTEN
      const [addr, port] = c[1].split(':');
      out.push({ addr, port: parseInt(port, 16) });
    }
  }
  return out;
}
const pids = (stderr: string) => [...stderr.matchAll(/rank (\d+) is pid (\d+)/g)].map((m) => Number(m[2]));

test("workerEnv reads torchrun's variables", () => {
  assert.equal(workerEnv({}), null);
  assert.deepEqual(
    workerEnv({
      RANK: '3',
      WORLD_SIZE: '4',
      LOCAL_RANK: '1',
      LOCAL_WORLD_SIZE: '2',
      MASTER_ADDR: 'node0',
      MASTER_PORT: '1234',
    }),
    {
      rank: 3,
      worldSize: 4,
      localRank: 1,
      localWorldSize: 2,
      nodeRank: 1,
      masterAddr: 'node0',
      masterPort: 1234,
      rdzvFile: undefined,
    },
  );
  assert.equal(workerEnv({ RANK: '0', WORLD_SIZE: '2', GROWBERT_RDZV_FILE: '/x/store' })!.rdzvFile, '/x/store');
  // one worker per machine unless told otherwise; Slurm's variables stand in for torchrun's
  assert.deepEqual(workerEnv({ RANK: '1', WORLD_SIZE: '2' }), {
    rank: 1,
    worldSize: 2,
    localRank: 0,
    localWorldSize: 1,
    nodeRank: 1,
    masterAddr: undefined,
    masterPort: undefined,
    rdzvFile: undefined,
  });
  assert.deepEqual(workerEnv({ RANK: '5', WORLD_SIZE: '8', SLURM_LOCALID: '1', SLURM_NTASKS_PER_NODE: '4(x2)' }), {
    rank: 5,
    worldSize: 8,
    localRank: 1,
    localWorldSize: 4,
    nodeRank: 1,
    masterAddr: undefined,
    masterPort: undefined,
    rdzvFile: undefined,
  });
  assert.throws(() => workerEnv({ RANK: '2', WORLD_SIZE: '2' }), /RANK=2 must be less than WORLD_SIZE=2/);
  assert.throws(() => workerEnv({ RANK: '0' }), /RANK and WORLD_SIZE must be set together/);
});

test(
  'collectives on two processes: sums, averages, broadcasts, a file store, checksums, a timeout',
  { skip },
  async () => {
    const port = await freePort();
    const worker = path.resolve('dist/test/parallel/collectives-worker.js');
    const run = (rank: number) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const child = spawn(process.execPath, [worker], {
          env: {
            ...process.env,
            GROWBERT_TEST_WORKER: '1',
            GROWBERT_TEST_STORE_FILE: path.join(tmp, 'store'),
            RANK: String(rank),
            WORLD_SIZE: '2',
            MASTER_PORT: String(port),
            OMP_NUM_THREADS: '1',
          },
        });
        let out = '',
          err = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (err += d));
        child.on('exit', (code) => resolve({ code, out, err }));
      });
    const [r0, r1] = await Promise.all([run(0), run(1)]);
    assert.equal(r0.code, 0, r0.err);
    assert.equal(r1.code, 0, r1.err);
    const [a, b] = [JSON.parse(r0.out.trim().split('\n').pop()!), JSON.parse(r1.out.trim().split('\n').pop()!)];
    for (const x of [a, b]) {
      assert.deepEqual(x.sum, [3, 30]);
      assert.deepEqual(x.avg, [2]);
      assert.deepEqual(x.max, [7]);
      assert.deepEqual(x.broadcast, [
        [1, 1, 1, 1, 1, 1],
        [0, 5],
      ]);
      assert.deepEqual(x.object, { steps: [3, 4], name: 'zero' });
      assert.deepEqual(x.sums, [1, 1]);
      assert.deepEqual(x.fileStore, [6]);
      assert.match(x.verify, /after a test growth: rank 1 holds different values than rank 0/);
      assert.match(x.rows, /batch size 7 is not divisible by the 2 data-parallel workers/);
    }
    assert.match(a.timeout, /a lone all-reduce failed on rank 0 of 2: .*Timed out/);
    // it waited for its 3 s timeout and then failed, not hung (the bound is loose: a loaded machine is slow)
    assert.ok(a.timeoutSeconds >= 2.5 && a.timeoutSeconds < 60, `the timeout fired after ${a.timeoutSeconds} s`);
  },
);

const one = path.join(tmp, 'one');
const two = path.join(tmp, 'two');

test('2 workers give the same losses and weights as 1 worker, across a growth event', { skip }, async () => {
  await pretrain(parseConfig(config(one)), { say: quiet });
  const r = await growbert(['pretrain', '--config', configFile('two', config(two)), '--nproc', '2'], {
    limitMs: 60000,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /data-parallel over 2 workers \(gloo\)/);
  assert.match(r.stderr, /grew into target/);
  // one machine: a private rendezvous file (no TCP store, no warning about one), removed at the end
  const rdzv = /rendezvous file (\S+),/.exec(r.stderr)?.[1];
  assert.ok(rdzv, r.stderr);
  assert.ok(!fs.existsSync(path.dirname(rdzv)), `${path.dirname(rdzv)} was removed`);
  assert.doesNotMatch(r.stderr, /listens on every network interface/);
  assert.equal(r.stdout.trim().split('\n').length, 1, 'only rank 0 prints the run line');
  assertClose(trainLosses(two), trainLosses(one), 1e-5, 'training loss');
  assertClose(valLosses(two), valLosses(one), 1e-5, 'validation loss');
  assert.equal(trainLosses(two).length, 8);
  // one metrics file, written once (rank 0 only): no duplicated lines
  assert.equal(new MetricsLog(two).read().filter((l) => l.event === 'grow').length, 1);
  const a = loadRunModel(one).model.namedParameters();
  const b = loadRunModel(two).model.namedParameters();
  for (const [name, t] of a) assert.ok(t.allclose(b.get(name)!, 1e-4, 1e-5), `${name} differs between 1 and 2 workers`);
});

test('a 2-worker checkpoint resumes on 1 worker', { skip }, async () => {
  // Back to the step-6 checkpoint (after growth), as a crash there would leave it.
  const cut = path.join(tmp, 'cut');
  fs.cpSync(two, cut, { recursive: true });
  const ck = path.join(cut, 'checkpoints');
  for (const d of fs.readdirSync(ck))
    if (d.startsWith('step-') && d !== 'step-00000006') fs.rmSync(path.join(ck, d), { recursive: true });
  fs.writeFileSync(path.join(ck, 'latest.json'), JSON.stringify({ step: 6, dir: 'step-00000006' }));
  await pretrain(parseConfig(config(cut, { resume: true, dist: { nproc: 1 } })), { say: quiet });
  assertClose(trainLosses(cut), trainLosses(one), 1e-5, 'resumed loss');
});

/** Starts a long 2-worker run and calls `fault` with the worker pids once a checkpoint exists. */
async function faultyRun(name: string, timeout: number, fault: (pids: number[]) => void) {
  const out = path.join(tmp, name);
  let stderr = '';
  let fired = false;
  const poll = setInterval(() => {
    if (!fired && pids(stderr).length === 2 && latestCheckpoint(out)) {
      fired = true;
      fault(pids(stderr));
    }
  }, 100);
  const c = config(out, { train: { maxSteps: 100000, evalEvery: 100000, checkpointEvery: 5 }, dist: { timeout } });
  try {
    const r = await growbert(['pretrain', '--config', configFile(name, { ...c, schedule: 'full' }), '--nproc', '2'], {
      limitMs: 45000,
      onStderr: (all) => (stderr = all),
    });
    assert.ok(fired, `the fault was injected:\n${r.stderr}`);
    return { ...r, out, pids: pids(r.stderr) };
  } finally {
    clearInterval(poll);
  }
}

test(
  'a killed worker is reported by rank, the others are stopped, the last checkpoint survives',
  { skip },
  async () => {
    let sockets: { pid: number; addr: string; port: number }[] = [];
    const r = await faultyRun('killed', 20, (ps) => {
      sockets = ps.flatMap((pid) => listeningSockets(pid).map((s) => ({ pid, ...s })));
      process.kill(ps[1], 'SIGKILL');
    });
    // No rendezvous store (nor anything else) listens on every interface. The scan itself is
    // proved on a server of this process that does.
    const server = net.createServer().listen(0, '0.0.0.0');
    await new Promise((r) => server.once('listening', r));
    const own = listeningSockets(process.pid);
    const port = (server.address() as net.AddressInfo).port;
    server.close();
    assert.ok(
      own.some((s) => /^0+$/.test(s.addr) && s.port === port),
      `the scan finds a wildcard listener: ${JSON.stringify(own)}`,
    );
    const open = sockets.filter((s) => /^0+$/.test(s.addr));
    assert.deepEqual(open, [], 'a worker listens on every interface');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /worker rank 1 \(pid \d+\) was killed by SIGKILL; stopping the other 1 worker/);
    for (const p of r.pids) assert.ok(!alive(p), `worker pid ${p} is gone`);
    loadCheckpoint(latestCheckpoint(r.out)!); // intact
  },
);

test('a frozen worker makes rank 0 fail within the timeout, naming it', { skip }, async () => {
  let frozenAt = 0;
  const r = await faultyRun('frozen', 3, ([, p1]) => {
    frozenAt = Date.now();
    process.kill(p1, 'SIGSTOP');
  });
  assert.notEqual(r.code, 0);
  assert.match(
    r.stderr,
    /failed on rank 0 of 2: rank 1 stopped \(no heartbeat for 3 s: the process died or is frozen\)/,
  );
  assert.ok(Date.now() - frozenAt < 25000, 'reported within the timeout plus the diagnosis');
  for (const p of r.pids) assert.ok(!alive(p), `worker pid ${p} is gone`);
  loadCheckpoint(latestCheckpoint(r.out)!);
});

test('a frozen rank 0 is reported by rank 1', { skip }, async () => {
  const r = await faultyRun('frozen-0', 3, ([p0]) => process.kill(p0, 'SIGSTOP'));
  assert.notEqual(r.code, 0);
  // the file store outlives rank 0, so its stopped heartbeat is read, as any other rank's
  assert.match(
    r.stderr,
    /\[rank 1\] growbert: .*failed on rank 1 of 2: rank 0 stopped \(no heartbeat for 3 s: the process died or is frozen\)/,
  );
  for (const p of r.pids) assert.ok(!alive(p), `worker pid ${p} is gone`);
});

test(
  "--rdzv-file: a new file works and is gone afterwards; a file of the user's is refused untouched",
  { skip },
  async () => {
    const dir = path.join(tmp, 'shared-fs');
    fs.mkdirSync(dir);
    const store = path.join(dir, 'rdzv');
    const out = path.join(tmp, 'rdzv-run');
    const r = await growbert(
      ['pretrain', '--config', configFile('rdzv', config(out)), '--nproc', '2', '--rdzv-file', store],
      { limitMs: 60000 },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`rendezvous file ${store.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')},`));
    assert.ok(!fs.existsSync(store), 'the store removed its file when the last rank left');
    assert.ok(
      !JSON.stringify(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).dist ?? {}).includes(tmp),
    );

    const mine = path.join(dir, 'notes.txt');
    fs.writeFileSync(mine, 'my notes\n');
    const bad = await growbert(
      [
        'pretrain',
        '--config',
        configFile('rdzv2', config(path.join(tmp, 'rdzv-run-2'))),
        '--nproc',
        '2',
        '--rdzv-file',
        mine,
      ],
      { limitMs: 30000 },
    );
    assert.notEqual(bad.code, 0);
    assert.match(
      bad.stderr,
      /--rdzv-file .*notes\.txt already exists and is not a rendezvous file; give the path of a new file/,
    );
    assert.equal(fs.readFileSync(mine, 'utf8'), 'my notes\n');
  },
);

test(
  'workers started by hand (torchrun style) meet at a TCP store; rank 0 warns it listens everywhere',
  { skip },
  async () => {
    const port = await freePort();
    const out = path.join(tmp, 'by-hand');
    const cfg = configFile('by-hand', config(out));
    const env = (rank: number) => ({
      ...process.env,
      RANK: String(rank),
      WORLD_SIZE: '2',
      MASTER_ADDR: '127.0.0.1',
      MASTER_PORT: String(port),
      OMP_NUM_THREADS: '1',
    });
    const [r0, r1] = await Promise.all(
      [0, 1].map((rank) => growbert(['pretrain', '--config', cfg], { env: env(rank) })),
    );
    assert.equal(r0.code, 0, r0.stderr);
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(
      r0.stderr,
      new RegExp(`rendezvous store at 127\\.0\\.0\\.1:${port} listens on every network interface`),
    );
    assert.doesNotMatch(r1.stderr, /listens on every network interface/);
    assertClose(trainLosses(out), trainLosses(one), 1e-5, 'training loss');
  },
);
