// `growbert demo`: the README's main job. For now a short engine demo: fit a linear model with
// autograd and AdamW-style updates, showing the loss fall, memory staying flat, and the device.
import type { Command } from 'commander';
import * as T from '../tensor/index.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the quick-start job')
    .option('--steps <n>', 'training steps', '200')
    .action((opts: { steps: string }) => engineDemo(Number(opts.steps)));
}

function engineDemo(steps: number): void {
  T.manualSeed(0);
  const device = T.cuda.isAvailable() ? 'cuda' : 'cpu';
  console.log(`growbert engine demo: libtorch ${T.torchVersion()} on ${device}, ${T.getNumThreads()} thread(s)`);
  const trueW = T.keep(T.randn([16, 1], { device }));
  const w = T.keep(T.zeros([16, 1], { device }).requiresGrad_());
  const before = T.memory().tensors;
  for (let step = 1; step <= steps; step++) {
    const loss = T.tidy(() => {
      const x = T.randn([64, 16], { device });
      const y = x.matmul(trueW);
      const l = x.matmul(w).sub(y).pow(2).mean();
      l.backward();
      T.noGrad(() => w.add_(w.grad!, -0.05));
      w.grad = null;
      return l.item();
    });
    if (step === 1 || step % 50 === 0) console.log(`step ${step}: loss ${loss.toFixed(6)}`);
  }
  console.log(`live tensors before/after: ${before}/${T.memory().tensors}`);
}
