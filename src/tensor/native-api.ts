// The addon's functions, declared once: name, arguments in order (kind, with an optional name for
// the reader: 'weight: tensor?') and result kind. Two things are derived from this one list:
// - the TypeScript type of the addon (NativeAddon below), so every call site is type-checked;
// - the C++ argument checks: scripts/build-native.mjs turns the object between the API markers
//   into build/gen/native_api.inc, and every op checks its arguments against it before it runs
//   (a wrong kind, a missing argument or a handle of the wrong type is a JS Error naming the op).
// An op the addon registers without a declaration here fails the addon's loading; a declared op
// the addon lacks fails test/tensor/native-api.test.ts.
//
// Argument kinds: tensor, tensors (array of tensors), int, ints (array of integers), number, bool,
// string, scalar (number or boolean), dtype (a code from the addon's dtypeCodes), device ('cpu',
// 'cuda:0'), generator / group / work / reducer (type-tagged handles), bytes (a typed array),
// object. 'a|b' accepts either; a trailing '?' makes it optional (undefined or null).
import type { NativeHandle } from './native.js';

// prettier-ignore
export const NATIVE_API = /* API-BEGIN */ {
  // core.cc
  shape: [['tensor'], 'ints'],
  dtypeCode: [['tensor'], 'number'],
  deviceName: [['tensor'], 'string'],
  numel: [['tensor'], 'number'],
  isContiguous: [['tensor'], 'boolean'],
  item: [['tensor'], 'number'],
  format: [['tensor'], 'string'],
  fromBytes: [['bytes', 'ints', 'dtype'], 'tensor'],
  toBytes: [['tensor'], 'arraybuffer'],
  requiresGrad: [['tensor'], 'boolean'],
  setRequiresGrad: [['tensor', 'bool?'], 'void'],
  isLeaf: [['tensor'], 'boolean'],
  grad: [['tensor'], 'tensor|null'],
  setGrad: [['tensor', 'tensor?'], 'void'],
  retainGrad: [['tensor'], 'void'],
  backward: [['tensor', 'tensor?', 'bool?'], 'void'],
  isGradEnabled: [[], 'boolean'],
  setGradEnabled: [['bool?'], 'void'],
  manualSeed: [['int'], 'void'],
  makeGenerator: [['seed: int'], 'generator'],
  getRngState: [['generator|device?'], 'tensor'],
  setRngState: [['state: tensor', 'generator|device?'], 'void'],
  setNumThreads: [['int'], 'void'],
  getNumThreads: [[], 'number'],
  cudaIsAvailable: [[], 'boolean'],
  cudaBuilt: [[], 'boolean'],
  cudaDeviceCount: [[], 'number'],
  synchronize: [['device?'], 'void'],
  liveTensors: [[], 'number'],
  liveBytes: [[], 'number'],
  torchVersion: [[], 'string'],
  hasNativeSdpa: [[], 'boolean'],
  benchMatmulCpp: [['n: int', 'iters: int', 'device?'], 'number'],
  // creation.cc
  empty: [['ints', 'dtype?', 'device?'], 'tensor'],
  zeros: [['ints', 'dtype?', 'device?'], 'tensor'],
  ones: [['ints', 'dtype?', 'device?'], 'tensor'],
  full: [['shape: ints', 'value: scalar', 'dtype?', 'device?'], 'tensor'],
  arange: [['start: scalar', 'end: scalar', 'step: scalar', 'dtype?', 'device?'], 'tensor'],
  eye: [['int', 'int', 'dtype?', 'device?'], 'tensor'],
  zerosLike: [['tensor'], 'tensor'],
  onesLike: [['tensor'], 'tensor'],
  fullLike: [['tensor', 'scalar'], 'tensor'],
  randn: [['ints', 'dtype?', 'device?', 'generator?'], 'tensor'],
  rand: [['ints', 'dtype?', 'device?', 'generator?'], 'tensor'],
  randint: [['low: int', 'high: int', 'shape: ints', 'dtype?', 'device?', 'generator?'], 'tensor'],
  randperm: [['n: int', 'dtype?', 'device?', 'generator?'], 'tensor'],
  bernoulli: [['tensor', 'number?', 'generator?'], 'tensor'],
  multinomial: [['tensor', 'int', 'bool?', 'generator?'], 'tensor'],
  // shape.cc
  reshape: [['tensor', 'ints'], 'tensor'],
  view: [['tensor', 'ints'], 'tensor'],
  transpose: [['tensor', 'int', 'int'], 'tensor'],
  permute: [['tensor', 'ints'], 'tensor'],
  contiguous: [['tensor'], 'tensor'],
  narrow: [['tensor', 'dim: int', 'start: int', 'length: int'], 'tensor'],
  slice: [['tensor', 'dim: int', 'start: int?', 'end: int?', 'step: int?'], 'tensor'],
  select: [['tensor', 'int', 'int'], 'tensor'],
  cat: [['tensors', 'int?'], 'tensor'],
  stack: [['tensors', 'int?'], 'tensor'],
  split: [['tensor', 'int', 'int?'], 'tensors'],
  splitSizes: [['tensor', 'ints', 'int?'], 'tensors'],
  chunk: [['tensor', 'int', 'int?'], 'tensors'],
  indexSelect: [['tensor', 'int', 'tensor'], 'tensor'],
  gather: [['tensor', 'int', 'tensor'], 'tensor'],
  scatter: [['tensor', 'int', 'tensor', 'tensor|scalar'], 'tensor'],
  scatterAdd: [['tensor', 'int', 'tensor', 'tensor'], 'tensor'],
  indexAdd: [['tensor', 'int', 'tensor', 'tensor'], 'tensor'],
  maskedSelect: [['tensor', 'tensor'], 'tensor'],
  maskedFill: [['tensor', 'tensor', 'tensor|scalar'], 'tensor'],
  nonzero: [['tensor'], 'tensor'],
  repeat: [['tensor', 'ints'], 'tensor'],
  repeatInterleave: [['tensor', 'int', 'int?'], 'tensor'],
  expand: [['tensor', 'ints'], 'tensor'],
  squeeze: [['tensor', 'int?'], 'tensor'],
  unsqueeze: [['tensor', 'int'], 'tensor'],
  flatten: [['tensor', 'int?', 'int?'], 'tensor'],
  flip: [['tensor', 'ints'], 'tensor'],
  tril: [['tensor', 'int?'], 'tensor'],
  triu: [['tensor', 'int?'], 'tensor'],
  clone: [['tensor'], 'tensor'],
  detach: [['tensor'], 'tensor'],
  toDtype: [['tensor', 'dtype'], 'tensor'],
  toDevice: [['tensor', 'device?', 'bool?'], 'tensor'],
  sort: [['tensor', 'int?', 'bool?'], 'tensors'],
  argsort: [['tensor', 'int?', 'bool?'], 'tensor'],
  topk: [['tensor', 'k: int', 'dim: int?', 'largest: bool?'], 'tensors'],
  oneHot: [['tensor', 'int?'], 'tensor'],
  bincount: [['tensor', 'int?'], 'tensor'],
  equal: [['tensor', 'tensor'], 'boolean'],
  allclose: [['tensor', 'tensor', 'rtol: number?', 'atol: number?'], 'boolean'],
  // math.cc
  add: [['tensor', 'tensor|scalar', 'scalar?'], 'tensor'],
  sub: [['tensor', 'tensor|scalar', 'scalar?'], 'tensor'],
  rsub: [['tensor', 'scalar'], 'tensor'],
  mul: [['tensor', 'tensor|scalar'], 'tensor'],
  div: [['tensor', 'tensor|scalar'], 'tensor'],
  remainder: [['tensor', 'tensor|scalar'], 'tensor'],
  eq: [['tensor', 'tensor|scalar'], 'tensor'],
  ne: [['tensor', 'tensor|scalar'], 'tensor'],
  lt: [['tensor', 'tensor|scalar'], 'tensor'],
  le: [['tensor', 'tensor|scalar'], 'tensor'],
  gt: [['tensor', 'tensor|scalar'], 'tensor'],
  ge: [['tensor', 'tensor|scalar'], 'tensor'],
  pow: [['tensor', 'tensor|scalar'], 'tensor'],
  maximum: [['tensor', 'tensor'], 'tensor'],
  minimum: [['tensor', 'tensor'], 'tensor'],
  logicalAnd: [['tensor', 'tensor'], 'tensor'],
  logicalOr: [['tensor', 'tensor'], 'tensor'],
  logicalNot: [['tensor'], 'tensor'],
  where: [['condition: tensor', 'tensor|scalar', 'tensor|scalar'], 'tensor'],
  clamp: [['tensor', 'scalar?', 'scalar?'], 'tensor'],
  neg: [['tensor'], 'tensor'],
  abs: [['tensor'], 'tensor'],
  exp: [['tensor'], 'tensor'],
  log: [['tensor'], 'tensor'],
  log1p: [['tensor'], 'tensor'],
  sqrt: [['tensor'], 'tensor'],
  rsqrt: [['tensor'], 'tensor'],
  tanh: [['tensor'], 'tensor'],
  sigmoid: [['tensor'], 'tensor'],
  relu: [['tensor'], 'tensor'],
  erf: [['tensor'], 'tensor'],
  sin: [['tensor'], 'tensor'],
  cos: [['tensor'], 'tensor'],
  reciprocal: [['tensor'], 'tensor'],
  sign: [['tensor'], 'tensor'],
  floor: [['tensor'], 'tensor'],
  ceil: [['tensor'], 'tensor'],
  round: [['tensor'], 'tensor'],
  isnan: [['tensor'], 'tensor'],
  isfinite: [['tensor'], 'tensor'],
  sum: [['tensor', 'dims: ints?', 'keepdim: bool?', 'dtype?'], 'tensor'],
  mean: [['tensor', 'dims: ints?', 'keepdim: bool?', 'dtype?'], 'tensor'],
  prod: [['tensor', 'dtype?'], 'tensor'],
  maxAll: [['tensor'], 'tensor'],
  minAll: [['tensor'], 'tensor'],
  maxDim: [['tensor', 'int', 'bool?'], 'tensors'],
  minDim: [['tensor', 'int', 'bool?'], 'tensors'],
  argmax: [['tensor', 'int?', 'bool?'], 'tensor'],
  argmin: [['tensor', 'int?', 'bool?'], 'tensor'],
  var: [['tensor', 'dims: ints?', 'correction: int?', 'keepdim: bool?'], 'tensor'],
  std: [['tensor', 'dims: ints?', 'correction: int?', 'keepdim: bool?'], 'tensor'],
  norm: [['tensor', 'p: scalar?', 'dims: ints?', 'keepdim: bool?'], 'tensor'],
  cumsum: [['tensor', 'int', 'dtype?'], 'tensor'],
  logsumexp: [['tensor', 'ints', 'bool?'], 'tensor'],
  any: [['tensor'], 'tensor'],
  all: [['tensor'], 'tensor'],
  matmul: [['tensor', 'tensor'], 'tensor'],
  mm: [['tensor', 'tensor'], 'tensor'],
  bmm: [['tensor', 'tensor'], 'tensor'],
  addmm: [['input: tensor', 'a: tensor', 'b: tensor', 'beta: scalar?', 'alpha: scalar?'], 'tensor'],
  linear: [['tensor', 'tensor', 'tensor?'], 'tensor'],
  outer: [['tensor', 'tensor'], 'tensor'],
  // nn.cc
  softmax: [['tensor', 'int', 'dtype?'], 'tensor'],
  logSoftmax: [['tensor', 'int', 'dtype?'], 'tensor'],
  layerNorm: [['x: tensor', 'normalizedShape: ints', 'weight: tensor?', 'bias: tensor?', 'eps: number?'], 'tensor'],
  gelu: [['tensor', 'bool?'], 'tensor'],
  dropout: [['tensor', 'number', 'bool?'], 'tensor'],
  embedding: [['weight: tensor', 'indices: tensor', 'paddingIdx: int?'], 'tensor'],
  crossEntropy: [['logits: tensor', 'target: tensor', 'reduction: int?', 'ignoreIndex: int?', 'labelSmoothing: number?', 'weight: tensor?'], 'tensor'],
  nllLoss: [['logProbs: tensor', 'target: tensor', 'reduction: int?', 'ignoreIndex: int?', 'weight: tensor?'], 'tensor'],
  mseLoss: [['input: tensor', 'target: tensor', 'reduction: int?'], 'tensor'],
  scaledDotProductAttention: [['q: tensor', 'k: tensor', 'v: tensor', 'mask: tensor?', 'dropoutP: number?', 'isCausal: bool?', 'scale: number?'], 'tensor'],
  sdpaMath: [['q: tensor', 'k: tensor', 'v: tensor', 'mask: tensor?', 'dropoutP: number?', 'isCausal: bool?', 'scale: number?'], 'tensor'],
  // inplace.cc
  add_: [['tensor', 'tensor|scalar', 'scalar?'], 'void'],
  mul_: [['tensor', 'tensor|scalar'], 'void'],
  div_: [['tensor', 'tensor|scalar'], 'void'],
  addcmul_: [['tensor', 'tensor', 'tensor', 'scalar?'], 'void'],
  addcdiv_: [['tensor', 'tensor', 'tensor', 'scalar?'], 'void'],
  copy_: [['tensor', 'tensor'], 'void'],
  zero_: [['tensor'], 'void'],
  fill_: [['tensor', 'scalar'], 'void'],
  lerp_: [['tensor', 'tensor', 'tensor|scalar'], 'void'],
  sqrt_: [['tensor'], 'void'],
  clamp_: [['tensor', 'scalar?', 'scalar?'], 'void'],
  normal_: [['tensor', 'mean: number?', 'std: number?', 'generator?'], 'void'],
  uniform_: [['tensor', 'low: number?', 'high: number?', 'generator?'], 'void'],
  maskedFill_: [['tensor', 'tensor', 'scalar'], 'void'],
  indexCopy_: [['tensor', 'int', 'tensor', 'tensor'], 'void'],
  set_: [['tensor', 'tensor'], 'void'],
  foreachAdd_: [['tensors', 'tensors|scalar', 'scalar?'], 'void'],
  foreachMul_: [['tensors', 'tensors|scalar'], 'void'],
  foreachDiv_: [['tensors', 'tensors|scalar'], 'void'],
  foreachAddcmul_: [['tensors', 'tensors', 'tensors', 'scalar?'], 'void'],
  foreachAddcdiv_: [['tensors', 'tensors', 'tensors', 'scalar?'], 'void'],
  foreachLerp_: [['tensors', 'tensors', 'scalar'], 'void'],
  foreachZero_: [['tensors'], 'void'],
  foreachCopy_: [['tensors', 'tensors'], 'void'],
  foreachSqrt: [['tensors'], 'tensors'],
  foreachNorm: [['tensors', 'scalar?'], 'tensors'],
  foreachClone: [['tensors'], 'tensors'],
  // distributed.cc
  distBackends: [[], 'backends'],
  distInit: [['options: object'], 'group'],
  distRank: [['group'], 'number'],
  distWorldSize: [['group'], 'number'],
  distBackendName: [['group'], 'string'],
  distDestroy: [['group?'], 'void'],
  distAllReduce: [['group', 'tensor', 'op: string?'], 'work'],
  distWait: [['work', 'timeoutMs: int?'], 'void'],
  distIsCompleted: [['work'], 'boolean'],
  distBroadcast: [['group', 'tensors', 'root: int?', 'bufferBytes: int?'], 'void'],
  distBarrier: [['group'], 'void'],
  distSetStep: [['group', 'int'], 'void'],
  distHeartbeats: [['group', 'timeoutMs: int?'], 'heartbeats'],
  ddpCreate: [['group', 'params: tensors', 'firstBucketBytes: int?', 'bucketBytes: int?', 'findUnused: bool?'], 'reducer'],
  ddpPrepare: [['reducer', 'tensors?'], 'void'],
  ddpRebuildBuckets: [['reducer'], 'boolean'],
  ddpDestroy: [['reducer?'], 'void'],
  // perf.cc
  profileStart: [['cpuClock: bool?'], 'void'],
  profileStop: [[], 'profile'],
  threadCpuMs: [[], 'number'],
  // [native calls from this thread (this one not counted), ms inside outermost ops while profiling,
  // the profile's clock in ms]
  profileCounters: [[], 'counters'],
  cudaCapability: [['device?'], 'ints|null'],
  blasThreads: [['threads: int?'], 'number'],
  retainFreedMemory: [['on: bool?'], 'boolean'],
  // fused.cc
  // hyper: { lr, beta1, beta2, eps, weightDecay, bc1, bc2 }
  adamwFused_: [['params: tensors', 'grads: tensors', 'expAvg: tensors', 'expAvgSq: tensors', 'hyper: object'], 'void'],
  fusedApplies: [['tensors'], 'boolean'],
  // optim.cc
  gradsOf: [['params: tensors'], 'grads'],
  clearGrads: [['params: tensors'], 'void'],
  clipGradNorm_: [['params: tensors', 'maxNorm: number'], 'number'],
  // hyper: { lr, beta1, beta2, eps, weightDecay, bc1, bc2, step?, impl? }; returns the indices skipped (no gradient)
  adamwStep_: [['params: tensors', 'expAvg: tensors', 'expAvgSq: tensors', 'hyper: object'], 'ints'],
  dropoutMask: [['tensor', 'p: number'], 'tensor'],
  fusedCast: [['tensor', 'dtype'], 'tensor'],
  // fused-loss.cc
  fusedCrossEntropy: [['logits: tensor', 'target: tensor', 'ignoreIndex: int?'], 'tensor'],
} /* API-END */ as const;

/** An opaque seeded random generator (a tagged external). */
export type NativeGenerator = { readonly __generator: unique symbol };
/** An opaque c10d process group. */
export type NativeGroup = { readonly __group: unique symbol };
/** An opaque handle on a running collective. */
export type NativeWork = { readonly __work: unique symbol };
/** An opaque DDP gradient reducer. */
export type NativeReducer = { readonly __reducer: unique symbol };

interface ArgTypes {
  tensor: NativeHandle;
  tensors: readonly NativeHandle[];
  int: number;
  ints: readonly number[];
  number: number;
  bool: boolean;
  string: string;
  scalar: number | boolean;
  dtype: number;
  device: string;
  generator: NativeGenerator;
  group: NativeGroup;
  work: NativeWork;
  reducer: NativeReducer;
  bytes: ArrayBufferView;
  object: Record<string, unknown>;
}

interface ResultTypes {
  tensor: NativeHandle;
  'tensor|null': NativeHandle | null;
  tensors: NativeHandle[];
  ints: number[];
  number: number;
  boolean: boolean;
  string: string;
  void: void;
  generator: NativeGenerator;
  group: NativeGroup;
  work: NativeWork;
  reducer: NativeReducer;
  arraybuffer: ArrayBuffer;
  backends: { gloo: boolean; nccl: boolean };
  /** per rank: [counter, step], or null where the rank has written no heartbeat */
  heartbeats: ([number, number] | null)[];
  'ints|null': number[] | null;
  /** each parameter's gradient, or null */
  grads: (NativeHandle | null)[];
  /** [native calls, ms inside outermost ops, clock ms] */
  counters: [number, number, number];
  /** wall (or CPU) ms inside outermost ops, and [ms, calls] per outermost op name */
  profile: { topLevelMs: number; ops: Record<string, [number, number]> };
}

export type ArgKind = keyof ArgTypes;
export type ResultKind = keyof ResultTypes;
type Api = typeof NATIVE_API;
export type OpName = keyof Api;

type Kinds<K> = K extends `${string}: ${infer R}` ? R : K;
type Union<K> = K extends `${infer A}|${infer B}` ? ArgTypes[A & ArgKind] | Union<B> : ArgTypes[K & ArgKind];
type IsOptional<K> = Kinds<K> extends `${string}?` ? true : false;
type Arg<K> = Kinds<K> extends `${infer B}?` ? Union<B> | undefined | null : Union<Kinds<K>>;
type AllOptional<A> = A extends readonly [infer H, ...infer R]
  ? IsOptional<H> extends true
    ? AllOptional<R>
    : false
  : true;
/** The parameter list of a declaration; optional arguments may be left out only at the end. */
type Params<A> = A extends readonly [infer H, ...infer R]
  ? IsOptional<H> extends true
    ? AllOptional<R> extends true
      ? [arg?: Arg<H>, ...Params<R>]
      : [arg: Arg<H>, ...Params<R>]
    : [arg: Arg<H>, ...Params<R>]
  : [];

/** The addon's functions, typed from NATIVE_API. */
export type NativeOps = { [N in OpName]: (...args: Params<Api[N][0]>) => ResultTypes[Api[N][1]] };
