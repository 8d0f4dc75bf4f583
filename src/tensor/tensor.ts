// The Tensor class: a typed, chainable, PyTorch-like view of one native libtorch tensor.
// Every method is one call into the addon; errors come back as Errors named after the op.
import { native, type NativeHandle } from './native.js';
import {
  DTYPE_CODE,
  dtypeFromCode,
  viewAs,
  type AnyTypedArray,
  type Device,
  type DType,
  type TypedArrayFor,
} from './dtype.js';
import { track, type Disposable } from './memory.js';
import type { Generator } from './creation.js';

export type Scalar = number | boolean;
export type TensorOrScalar = Tensor | Scalar;
const FLOATING = new Set<DType>(['float32', 'float64', 'bfloat16', 'float16']);
const h = (x: TensorOrScalar): NativeHandle | Scalar => (x instanceof Tensor ? x.handle : x);

export class Tensor implements Disposable {
  // A tensor's dtype and device never change (no op changes them in place; set_ refuses another
  // dtype), so each is asked of the addon once: a layer's forward reads them a few dozen times.
  // The shape is asked every time (set_ changes it in place).
  private dtype_?: DType;
  private device_?: Device;

  /** Wraps a native handle; the current tidy() scope takes ownership. */
  constructor(readonly handle: NativeHandle) {
    track(this);
  }

  /**
   * The result of an arithmetic op of this tensor with `other`: of this one's dtype and device when
   * promotion cannot change them (a floating tensor with a number, or with a tensor of its dtype).
   */
  private promoted(handle: NativeHandle, other: TensorOrScalar): Tensor {
    const d = this.dtype_;
    const same =
      d !== undefined &&
      (other instanceof Tensor
        ? other.dtype_ === d && other.device_ === this.device_
        : typeof other === 'number' && FLOATING.has(d));
    return same ? this.alike(handle) : new Tensor(handle);
  }

  /** A handle whose dtype and device the caller knows (an op's documented result). */
  static known(handle: NativeHandle, dtype: DType, device: Device): Tensor {
    const t = new Tensor(handle);
    t.dtype_ = dtype;
    t.device_ = device;
    return t;
  }

  /** A result of this tensor's dtype and device (views, GELU, ...): what this one knows of them, it knows. */
  alike(handle: NativeHandle): Tensor {
    const t = new Tensor(handle);
    t.dtype_ = this.dtype_;
    t.device_ = this.device_;
    return t;
  }

  // ---- Metadata ------------------------------------------------------------------------------
  get shape(): number[] {
    return native.shape(this.handle);
  }
  get dtype(): DType {
    return (this.dtype_ ??= dtypeFromCode(native.dtypeCode(this.handle)));
  }
  get device(): Device {
    return (this.device_ ??= native.deviceName(this.handle) as Device);
  }
  get ndim(): number {
    return this.shape.length;
  }
  get numel(): number {
    return native.numel(this.handle);
  }
  get isDisposed(): boolean {
    return this.handle.isDisposed();
  }
  size(dim: number): number {
    const s = this.shape;
    const d = dim < 0 ? dim + s.length : dim;
    if (d < 0 || d >= s.length) throw new Error(`size: dim ${dim} out of range for a ${s.length}-d tensor`);
    return s[d];
  }
  isContiguous(): boolean {
    return native.isContiguous(this.handle);
  }
  dispose(): void {
    this.handle.dispose();
  }
  toString(): string {
    return `Tensor(${this.shape.join('x') || 'scalar'}, ${this.dtype}, ${this.device})`;
  }
  /** libtorch's own printout of the values. */
  format(): string {
    return native.format(this.handle);
  }

  // ---- Data out ------------------------------------------------------------------------------
  /** A copy of the data (on the CPU, contiguous) in the dtype's typed array; 16-bit floats as raw bits. */
  data<D extends DType = DType>(): TypedArrayFor<D> {
    return viewAs(this.dtype, native.toBytes(this.handle)) as TypedArrayFor<D>;
  }
  /** The data as plain numbers (int64 converted; 16-bit floats decoded through float32). */
  toArray(): number[] {
    const d = this.dtype;
    const src = d === 'bfloat16' || d === 'float16' ? this.to('float32') : this;
    const arr = src.data() as AnyTypedArray;
    if (src !== this) src.dispose();
    return Array.from(arr as ArrayLike<number | bigint>, Number);
  }
  /** The single value of a one-element tensor. */
  item(): number {
    return native.item(this.handle);
  }

  // ---- Conversion ----------------------------------------------------------------------------
  to(target: DType | Device, nonBlocking = false): Tensor {
    if (Object.hasOwn(DTYPE_CODE, target)) return new Tensor(native.toDtype(this.handle, DTYPE_CODE[target as DType]));
    return new Tensor(native.toDevice(this.handle, target, nonBlocking));
  }
  float(): Tensor {
    return this.to('float32');
  }
  long(): Tensor {
    return this.to('int64');
  }
  clone(): Tensor {
    return new Tensor(native.clone(this.handle));
  }
  detach(): Tensor {
    return new Tensor(native.detach(this.handle));
  }
  contiguous(): Tensor {
    return this.alike(native.contiguous(this.handle));
  }

  // ---- Shape ---------------------------------------------------------------------------------
  reshape(...shape: number[]): Tensor {
    return this.alike(native.reshape(this.handle, shape));
  }
  view(...shape: number[]): Tensor {
    return this.alike(native.view(this.handle, shape));
  }
  transpose(d0: number, d1: number): Tensor {
    return this.alike(native.transpose(this.handle, d0, d1));
  }
  /** Transpose of a 2-d tensor. */
  get T(): Tensor {
    return this.transpose(0, 1);
  }
  permute(...dims: number[]): Tensor {
    return this.alike(native.permute(this.handle, dims));
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return this.alike(native.narrow(this.handle, dim, start, length));
  }
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return this.alike(native.slice(this.handle, dim, start, end, step));
  }
  select(dim: number, index: number): Tensor {
    return this.alike(native.select(this.handle, dim, index));
  }
  split(size: number | number[], dim = 0): Tensor[] {
    const hs: NativeHandle[] = Array.isArray(size)
      ? native.splitSizes(this.handle, size, dim)
      : native.split(this.handle, size, dim);
    return hs.map((x) => new Tensor(x));
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return (native.chunk(this.handle, chunks, dim) as NativeHandle[]).map((x) => new Tensor(x));
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return new Tensor(native.indexSelect(this.handle, dim, index.handle));
  }
  gather(dim: number, index: Tensor): Tensor {
    return new Tensor(native.gather(this.handle, dim, index.handle));
  }
  scatter(dim: number, index: Tensor, src: TensorOrScalar): Tensor {
    return new Tensor(native.scatter(this.handle, dim, index.handle, h(src)));
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return new Tensor(native.scatterAdd(this.handle, dim, index.handle, src.handle));
  }
  indexAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return new Tensor(native.indexAdd(this.handle, dim, index.handle, src.handle));
  }
  maskedSelect(mask: Tensor): Tensor {
    return new Tensor(native.maskedSelect(this.handle, mask.handle));
  }
  maskedFill(mask: Tensor, value: TensorOrScalar): Tensor {
    return new Tensor(native.maskedFill(this.handle, mask.handle, h(value)));
  }
  nonzero(): Tensor {
    return new Tensor(native.nonzero(this.handle));
  }
  repeat(...times: number[]): Tensor {
    return new Tensor(native.repeat(this.handle, times));
  }
  /** numpy's tile: repeat with leading ones added when fewer counts than dims are given. */
  tile(...times: number[]): Tensor {
    return this.repeat(...Array(Math.max(0, this.ndim - times.length)).fill(1), ...times);
  }
  repeatInterleave(repeats: number, dim = 0): Tensor {
    return new Tensor(native.repeatInterleave(this.handle, repeats, dim));
  }
  expand(...shape: number[]): Tensor {
    return this.alike(native.expand(this.handle, shape));
  }
  squeeze(dim?: number): Tensor {
    return this.alike(native.squeeze(this.handle, dim));
  }
  unsqueeze(dim: number): Tensor {
    return this.alike(native.unsqueeze(this.handle, dim));
  }
  flatten(start = 0, end = -1): Tensor {
    return this.alike(native.flatten(this.handle, start, end));
  }
  flip(...dims: number[]): Tensor {
    return new Tensor(native.flip(this.handle, dims));
  }
  tril(diagonal = 0): Tensor {
    return new Tensor(native.tril(this.handle, diagonal));
  }
  triu(diagonal = 0): Tensor {
    return new Tensor(native.triu(this.handle, diagonal));
  }
  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } {
    const [v, i] = native.sort(this.handle, dim, descending);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  argsort(dim = -1, descending = false): Tensor {
    return new Tensor(native.argsort(this.handle, dim, descending));
  }
  topk(k: number, dim = -1, largest = true): { values: Tensor; indices: Tensor } {
    const [v, i] = native.topk(this.handle, k, dim, largest);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }

  // ---- Elementwise math (broadcasting) -------------------------------------------------------
  add(other: TensorOrScalar, alpha?: number): Tensor {
    return this.promoted(native.add(this.handle, h(other), alpha), other);
  }
  sub(other: TensorOrScalar, alpha?: number): Tensor {
    return this.promoted(native.sub(this.handle, h(other), alpha), other);
  }
  /** other - this */
  rsub(other: number): Tensor {
    return new Tensor(native.rsub(this.handle, other));
  }
  mul(other: TensorOrScalar): Tensor {
    return this.promoted(native.mul(this.handle, h(other)), other);
  }
  div(other: TensorOrScalar): Tensor {
    return this.promoted(native.div(this.handle, h(other)), other);
  }
  remainder(other: TensorOrScalar): Tensor {
    return new Tensor(native.remainder(this.handle, h(other)));
  }
  pow(exponent: TensorOrScalar): Tensor {
    return new Tensor(native.pow(this.handle, h(exponent)));
  }
  maximum(other: Tensor): Tensor {
    return new Tensor(native.maximum(this.handle, other.handle));
  }
  minimum(other: Tensor): Tensor {
    return new Tensor(native.minimum(this.handle, other.handle));
  }
  eq(other: TensorOrScalar): Tensor {
    return new Tensor(native.eq(this.handle, h(other)));
  }
  ne(other: TensorOrScalar): Tensor {
    return new Tensor(native.ne(this.handle, h(other)));
  }
  lt(other: TensorOrScalar): Tensor {
    return new Tensor(native.lt(this.handle, h(other)));
  }
  le(other: TensorOrScalar): Tensor {
    return new Tensor(native.le(this.handle, h(other)));
  }
  gt(other: TensorOrScalar): Tensor {
    return new Tensor(native.gt(this.handle, h(other)));
  }
  ge(other: TensorOrScalar): Tensor {
    return new Tensor(native.ge(this.handle, h(other)));
  }
  logicalAnd(other: Tensor): Tensor {
    return new Tensor(native.logicalAnd(this.handle, other.handle));
  }
  logicalOr(other: Tensor): Tensor {
    return new Tensor(native.logicalOr(this.handle, other.handle));
  }
  logicalNot(): Tensor {
    return new Tensor(native.logicalNot(this.handle));
  }
  clamp(min?: number, max?: number): Tensor {
    return new Tensor(native.clamp(this.handle, min, max));
  }
  neg(): Tensor {
    return new Tensor(native.neg(this.handle));
  }
  abs(): Tensor {
    return new Tensor(native.abs(this.handle));
  }
  exp(): Tensor {
    return new Tensor(native.exp(this.handle));
  }
  log(): Tensor {
    return new Tensor(native.log(this.handle));
  }
  log1p(): Tensor {
    return new Tensor(native.log1p(this.handle));
  }
  sqrt(): Tensor {
    return new Tensor(native.sqrt(this.handle));
  }
  rsqrt(): Tensor {
    return new Tensor(native.rsqrt(this.handle));
  }
  tanh(): Tensor {
    return new Tensor(native.tanh(this.handle));
  }
  sigmoid(): Tensor {
    return new Tensor(native.sigmoid(this.handle));
  }
  relu(): Tensor {
    return new Tensor(native.relu(this.handle));
  }
  erf(): Tensor {
    return new Tensor(native.erf(this.handle));
  }
  sin(): Tensor {
    return new Tensor(native.sin(this.handle));
  }
  cos(): Tensor {
    return new Tensor(native.cos(this.handle));
  }
  reciprocal(): Tensor {
    return new Tensor(native.reciprocal(this.handle));
  }
  sign(): Tensor {
    return new Tensor(native.sign(this.handle));
  }
  floor(): Tensor {
    return new Tensor(native.floor(this.handle));
  }
  ceil(): Tensor {
    return new Tensor(native.ceil(this.handle));
  }
  round(): Tensor {
    return new Tensor(native.round(this.handle));
  }
  isnan(): Tensor {
    return new Tensor(native.isnan(this.handle));
  }
  isfinite(): Tensor {
    return new Tensor(native.isfinite(this.handle));
  }

  // ---- Reductions ----------------------------------------------------------------------------
  sum(dims?: number | number[], keepdim = false, dtype?: DType): Tensor {
    return new Tensor(
      native.sum(this.handle, dims === undefined ? undefined : [dims].flat(), keepdim, dtype && DTYPE_CODE[dtype]),
    );
  }
  mean(dims?: number | number[], keepdim = false, dtype?: DType): Tensor {
    return new Tensor(
      native.mean(this.handle, dims === undefined ? undefined : [dims].flat(), keepdim, dtype && DTYPE_CODE[dtype]),
    );
  }
  prod(dtype?: DType): Tensor {
    return new Tensor(native.prod(this.handle, dtype && DTYPE_CODE[dtype]));
  }
  /** Maximum over everything. */
  max(): Tensor {
    return new Tensor(native.maxAll(this.handle));
  }
  min(): Tensor {
    return new Tensor(native.minAll(this.handle));
  }
  /** Maximum along a dim: values and their indices. */
  maxDim(dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
    const [v, i] = native.maxDim(this.handle, dim, keepdim);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  minDim(dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
    const [v, i] = native.minDim(this.handle, dim, keepdim);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return new Tensor(native.argmax(this.handle, dim, keepdim));
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return new Tensor(native.argmin(this.handle, dim, keepdim));
  }
  /** Variance; correction 1 is the unbiased estimator, 0 the population one. */
  var(dims?: number | number[], correction = 1, keepdim = false): Tensor {
    return new Tensor(native.var(this.handle, dims === undefined ? undefined : [dims].flat(), correction, keepdim));
  }
  std(dims?: number | number[], correction = 1, keepdim = false): Tensor {
    return new Tensor(native.std(this.handle, dims === undefined ? undefined : [dims].flat(), correction, keepdim));
  }
  norm(p = 2, dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(native.norm(this.handle, p, dims === undefined ? undefined : [dims].flat(), keepdim));
  }
  cumsum(dim: number, dtype?: DType): Tensor {
    return new Tensor(native.cumsum(this.handle, dim, dtype && DTYPE_CODE[dtype]));
  }
  logsumexp(dims: number | number[], keepdim = false): Tensor {
    return new Tensor(native.logsumexp(this.handle, [dims].flat(), keepdim));
  }
  any(): Tensor {
    return new Tensor(native.any(this.handle));
  }
  all(): Tensor {
    return new Tensor(native.all(this.handle));
  }
  equal(other: Tensor): boolean {
    return native.equal(this.handle, other.handle);
  }
  allclose(other: Tensor, rtol = 1e-5, atol = 1e-8): boolean {
    return native.allclose(this.handle, other.handle, rtol, atol);
  }

  // ---- Linear algebra and nn -----------------------------------------------------------------
  matmul(other: Tensor): Tensor {
    return new Tensor(native.matmul(this.handle, other.handle));
  }
  mm(other: Tensor): Tensor {
    return new Tensor(native.mm(this.handle, other.handle));
  }
  bmm(other: Tensor): Tensor {
    return new Tensor(native.bmm(this.handle, other.handle));
  }
  softmax(dim: number, dtype?: DType): Tensor {
    return new Tensor(native.softmax(this.handle, dim, dtype && DTYPE_CODE[dtype]));
  }
  logSoftmax(dim: number, dtype?: DType): Tensor {
    return new Tensor(native.logSoftmax(this.handle, dim, dtype && DTYPE_CODE[dtype]));
  }
  /** GELU: exact (erf) by default, or the tanh approximation. */
  gelu(approximate: 'none' | 'tanh' = 'none'): Tensor {
    return this.alike(native.gelu(this.handle, approximate === 'tanh'));
  }

  // ---- Autograd ------------------------------------------------------------------------------
  get requiresGrad(): boolean {
    return native.requiresGrad(this.handle);
  }
  set requiresGrad(v: boolean) {
    native.setRequiresGrad(this.handle, v);
  }
  /** Marks the tensor as a leaf that accumulates .grad; returns this for chaining. */
  requiresGrad_(v = true): this {
    native.setRequiresGrad(this.handle, v);
    return this;
  }
  get isLeaf(): boolean {
    return native.isLeaf(this.handle);
  }
  /** The accumulated gradient (a new handle on the same memory), or null. */
  get grad(): Tensor | null {
    const g = native.grad(this.handle);
    return g ? new Tensor(g) : null;
  }
  set grad(g: Tensor | null) {
    native.setGrad(this.handle, g ? g.handle : undefined);
  }
  retainGrad(): this {
    native.retainGrad(this.handle);
    return this;
  }
  backward(gradient?: Tensor, retainGraph = false): void {
    native.backward(this.handle, gradient?.handle, retainGraph);
  }

  // ---- In-place (for optimizers); they return this ------------------------------------------
  add_(other: TensorOrScalar, alpha?: number): this {
    native.add_(this.handle, h(other), alpha);
    return this;
  }
  mul_(other: TensorOrScalar): this {
    native.mul_(this.handle, h(other));
    return this;
  }
  div_(other: TensorOrScalar): this {
    native.div_(this.handle, h(other));
    return this;
  }
  addcmul_(t1: Tensor, t2: Tensor, value = 1): this {
    native.addcmul_(this.handle, t1.handle, t2.handle, value);
    return this;
  }
  addcdiv_(t1: Tensor, t2: Tensor, value = 1): this {
    native.addcdiv_(this.handle, t1.handle, t2.handle, value);
    return this;
  }
  copy_(src: Tensor): this {
    native.copy_(this.handle, src.handle);
    return this;
  }
  zero_(): this {
    native.zero_(this.handle);
    return this;
  }
  fill_(value: Scalar): this {
    native.fill_(this.handle, value);
    return this;
  }
  lerp_(end: Tensor, weight: TensorOrScalar): this {
    native.lerp_(this.handle, end.handle, h(weight));
    return this;
  }
  sqrt_(): this {
    native.sqrt_(this.handle);
    return this;
  }
  clamp_(min?: number, max?: number): this {
    native.clamp_(this.handle, min, max);
    return this;
  }
  /** Fills with draws from N(mean, std^2) (the global generator unless one is given). */
  normal_(mean = 0, std = 1, generator?: Generator): this {
    native.normal_(this.handle, mean, std, generator?.handle);
    return this;
  }
  /** Fills with draws from U[low, high). */
  uniform_(low = 0, high = 1, generator?: Generator): this {
    native.uniform_(this.handle, low, high, generator?.handle);
    return this;
  }
  maskedFill_(mask: Tensor, value: Scalar): this {
    native.maskedFill_(this.handle, mask.handle, value);
    return this;
  }
  indexCopy_(dim: number, index: Tensor, src: Tensor): this {
    native.indexCopy_(this.handle, dim, index.handle, src.handle);
    return this;
  }
  /** Makes this tensor share src's storage, shape and dtype (the handle stays the same). */
  set_(src: Tensor): this {
    native.set_(this.handle, src.handle);
    return this;
  }
}
