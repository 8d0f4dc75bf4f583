// torchrun's worker environment: a process started with RANK and WORLD_SIZE (by `growbert
// pretrain --nproc`, by torchrun itself, or by hand under Slurm / Kubernetes) is one rank of a
// data-parallel run. The same variables, same meanings:
//   RANK, WORLD_SIZE               this process's global rank and the number of processes
//   LOCAL_RANK, LOCAL_WORLD_SIZE   its rank on this machine and the processes on this machine
//   GROUP_RANK                     this machine's rank (torchrun's name for the node rank)
//   MASTER_ADDR, MASTER_PORT       where rank 0 serves the rendezvous store
//   GROWBERT_RDZV_FILE             instead, a c10d file store (our launcher on one machine, --rdzv-file)
// Workers that share a machine need LOCAL_RANK and LOCAL_WORLD_SIZE (or Slurm's SLURM_LOCALID and
// SLURM_NTASKS_PER_NODE): without them a worker takes itself to be alone on its machine.
import { GrowbertError } from '../io/errors.js';
import { RDZV_FILE_ENV } from './rendezvous.js';

export interface WorkerEnv {
  rank: number;
  worldSize: number;
  localRank: number;
  localWorldSize: number;
  nodeRank: number;
  masterAddr?: string;
  masterPort?: number;
  /** rendezvous through this file store instead of a TCP store */
  rdzvFile?: string;
}

function int(env: NodeJS.ProcessEnv, name: string, min: number): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min)
    throw new GrowbertError(`environment variable ${name}=${v} must be an integer >= ${min}`);
  return n;
}

/** SLURM_NTASKS_PER_NODE is "4" or, with uneven nodes, "4(x2),3": the first count. */
function slurmTasksPerNode(env: NodeJS.ProcessEnv): number | undefined {
  const m = /^(\d+)/.exec(env.SLURM_NTASKS_PER_NODE ?? '');
  return m ? Number(m[1]) : undefined;
}

/** This process's place in a data-parallel run, or null when it is not a worker of one. */
export function workerEnv(env: NodeJS.ProcessEnv = process.env): WorkerEnv | null {
  const worldSize = int(env, 'WORLD_SIZE', 1);
  const rank = int(env, 'RANK', 0);
  if (worldSize === undefined && rank === undefined) return null;
  if (worldSize === undefined || rank === undefined)
    throw new GrowbertError('RANK and WORLD_SIZE must be set together (a torchrun-style worker needs both)');
  if (rank >= worldSize) throw new GrowbertError(`RANK=${rank} must be less than WORLD_SIZE=${worldSize}`);
  // Without LOCAL_* (one worker per pod or machine, as Kubeflow's PyTorchJob starts them): alone
  // on its machine. Slurm's per-task variables stand in when present.
  const localWorldSize = int(env, 'LOCAL_WORLD_SIZE', 1) ?? slurmTasksPerNode(env) ?? 1;
  const localRank = int(env, 'LOCAL_RANK', 0) ?? int(env, 'SLURM_LOCALID', 0) ?? rank % localWorldSize;
  if (localRank >= localWorldSize)
    throw new GrowbertError(`LOCAL_RANK=${localRank} must be less than LOCAL_WORLD_SIZE=${localWorldSize}`);
  return {
    rank,
    worldSize,
    localRank,
    localWorldSize,
    nodeRank: int(env, 'GROUP_RANK', 0) ?? int(env, 'NODE_RANK', 0) ?? Math.floor(rank / localWorldSize),
    masterAddr: env.MASTER_ADDR || undefined,
    masterPort: int(env, 'MASTER_PORT', 1),
    rdzvFile: env[RDZV_FILE_ENV] || undefined,
  };
}

/** The launcher settings the usual environment variables give (flags override them). */
export function launchEnv(env: NodeJS.ProcessEnv = process.env): {
  masterAddr?: string;
  masterPort?: number;
  nnodes?: number;
  nodeRank?: number;
} {
  return {
    masterAddr: env.MASTER_ADDR || undefined,
    masterPort: int(env, 'MASTER_PORT', 1),
    nnodes: int(env, 'NNODES', 1),
    nodeRank: int(env, 'NODE_RANK', 0),
  };
}
