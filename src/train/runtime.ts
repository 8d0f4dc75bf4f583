// Run set-up the commands share: threads and device for this process (a data-parallel worker
// gets its share of the cores and its GPU), and the model a run trains, from its preset, the
// overrides and the tokenizer's vocabulary.
import { GrowbertError } from '../io/errors.js';
import { presetConfig, type BertConfig } from '../model/index.js';
import { cuda, getNumThreads, setNumThreads, torchVersion, type Device } from '../tensor/index.js';
import type { PretrainConfig, ResolvedConfig } from './config.js';

/**
 * Threads and device. A data-parallel worker (`local`: its place among the workers on this
 * machine) gets an equal share of the cores and, asked for `cuda`, the GPU cuda:LOCAL_RANK.
 */
export function setupRuntime(
  c: { runtime: Pick<PretrainConfig['runtime'], 'device' | 'threads'> },
  local?: { localRank: number; localWorldSize: number },
): Device {
  // Default: libtorch's own choice (its physical cores, as PyTorch's), split between local workers.
  // More threads are opt-in with --threads: on the 2-vCPU development VM (1 core, 2 hyper-threads)
  // 2 threads once made a tiny step 2.1x slower, which was OpenMP's threads spinning against
  // OpenBLAS's (src/tensor/native.ts now lets them sleep); since then 2 threads ran it 1.3x faster.
  setNumThreads(c.runtime.threads ?? Math.max(1, Math.floor(getNumThreads() / (local?.localWorldSize ?? 1))));
  let device = c.runtime.device as Device;
  if (device.startsWith('cuda') && !cuda.isAvailable()) {
    throw new GrowbertError(
      cuda.isBuilt()
        ? `--device ${device} asked for, but no GPU is visible to this CUDA build (libtorch ${torchVersion()}): ` +
            'check the driver (nvidia-smi) and CUDA_VISIBLE_DEVICES, or use --device cpu'
        : `--device ${device} asked for, but this libtorch (${torchVersion()}) has no CUDA: use --device cpu, or ` +
            'build against your CUDA torch (LIBTORCH_USE_PYTORCH=1 PYTHON=<its python> npm run build:native)',
    );
  }
  if (local && device === 'cuda') {
    if (local.localRank >= cuda.deviceCount())
      throw new GrowbertError(
        `worker ${local.localRank} on this machine needs GPU cuda:${local.localRank}, but only ${cuda.deviceCount()} are visible; use --nproc ${cuda.deviceCount()} or fewer`,
      );
    device = `cuda:${local.localRank}` as Device;
  }
  return device;
}

/** The model a run trains: its preset with the overrides, positions at least the sequence length. */
export function modelConfigFor(c: ResolvedConfig, vocabSize: number): BertConfig {
  const base = presetConfig(c.preset, vocabSize, c.model);
  return presetConfig(c.preset, vocabSize, {
    ...c.model,
    maxPositionEmbeddings: Math.max(base.maxPositionEmbeddings, c.data.seqLength),
  });
}
