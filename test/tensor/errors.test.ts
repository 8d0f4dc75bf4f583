// Errors: every failure is a JS Error whose message starts with the op's name and carries
// libtorch's own message; the process keeps working afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { f64, i64 } from '../helpers/gradcheck.js';
import {
  cat,
  crossEntropy,
  embedding,
  memory,
  ones,
  tensor,
  tidy,
  where,
  zeros,
  type DType,
  type Tensor,
} from '../../src/tensor/index.js';

/** Asserts fn throws an Error (not a crash) whose message matches `message` exactly at the start. */
function fails(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Error, `not an Error: ${String(e)}`);
    assert.match(e.message, message);
    assert.ok(!/Exception raised from|\n/.test(e.message), `message carries C++ context: ${e.message}`);
    return true;
  });
}
/** The engine still computes correctly. */
const stillWorks = () =>
  tidy(() =>
    assert.deepEqual(
      ones([2])
        .add(1)
        .mul(tensor([2, 3]))
        .toArray(),
      [4, 6],
    ),
  );

test('shape mismatches', () =>
  tidy(() => {
    fails(
      () => ones([2, 3]).add(ones([4, 5])),
      /^add: The size of tensor a \(3\) must match the size of tensor b \(5\) at non-singleton dimension 1$/,
    );
    fails(
      () => ones([2, 3]).matmul(ones([2, 3])),
      /^matmul: mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)$/,
    );
    fails(() => cat([ones([2, 3]), ones([2, 4])]), /^cat: Sizes of tensors must match except in dimension 0/);
    fails(() => ones([6]).reshape(4), /^reshape: shape '\[4\]' is invalid for input of size 6$/);
    fails(() => ones([2, 3]).T.view(6), /^view: view size is not compatible with input tensor's size and stride/);
    fails(() => ones([2, 3]).bmm(ones([2, 3])), /^bmm: batch1 must be a 3D tensor$/);
    fails(() => ones([2]).add_(ones([3])), /^add_: The size of tensor a \(2\) must match the size of tensor b \(3\)/);
    fails(() => ones([2]).item(), /^item: item\(\) needs a tensor with one element, got 2$/);
    stillWorks();
  }));

test('dtype mismatches', () =>
  tidy(() => {
    fails(
      () => ones([2, 3]).matmul(ones([3, 2], { dtype: 'float64' })),
      /^matmul: (expected scalar type Float but found Double|expected m1 and m2 to have the same dtype, but got: float != double)$/,
    );
    fails(
      () => ones([3]).indexSelect(0, ones([2])),
      /^indexSelect: index_select\(\): Expected dtype int(32 or int)?64 for index$/,
    );
    // 1.13 takes int64 indices only, 2.x int32 too
    fails(() => ones([3]).gather(0, ones([2])), /^gather: gather\(\): Expected dtype (int64|int32\/int64) for index$/);
    fails(
      () => embedding(ones([3, 2]), ones([2])),
      /^embedding: Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; but got CPUFloatType instead/,
    );
    fails(() => crossEntropy(ones([2, 3]), ones([2])), /^crossEntropy: /);
    fails(
      () => ones([2], { dtype: 'int64' }).requiresGrad_(),
      /^setRequiresGrad: Only Tensors of floating point (and complex )?dtype can require gradients$/,
    );
    fails(() => ones([2]).maskedFill(ones([2]), 0), /^maskedFill: mask must be a bool tensor, got dtype Float$/);
    fails(
      () => ones([2]).maskedFill_(ones([2], { dtype: 'int64' }), 0),
      /^maskedFill_: mask must be a bool tensor, got dtype Long$/,
    );
    fails(() => ones([2]).maskedSelect(ones([2])), /^maskedSelect: mask must be a bool tensor/);
    fails(() => where(ones([2]), 1, 0), /^where: where expected condition to be a boolean tensor/);
    fails(
      () => ones([2], { dtype: 'int64' }).add_(1.5),
      /^add_: result type Float can't be cast to the desired output type Long$/,
    );
    stillWorks();
  }));

test('indices out of range', () =>
  tidy(() => {
    fails(() => ones([3]).indexSelect(0, i64([5])), /^indexSelect: index out of range in self$/);
    fails(
      () => embedding(ones([3, 2]), i64([0, 5])),
      /^embedding: index out of range: ids span \[0, 5\] but the table has 3 rows$/,
    );
    fails(() => embedding(ones([3, 2]), i64([-1])), /^embedding: index out of range/);
    fails(() => ones([3]).gather(0, i64([5])), /^gather: index 5 is out of bounds for dimension 0 with size 3$/);
    fails(() => crossEntropy(ones([2, 3]), i64([0, 5])), /^crossEntropy: Target 5 is out of bounds\.$/);
    fails(
      () => ones([2, 3]).select(0, 2),
      /^select: select\(\): index 2 out of range for tensor of size \[2, 3\] at dimension 0$/,
    );
    fails(
      () => ones([2, 3]).transpose(0, 2),
      /^transpose: Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)$/,
    );
    fails(() => ones([2]).size(1), /^size: dim 1 out of range for a 1-d tensor$/);
    stillWorks();
  }));

test('bad arguments', () =>
  tidy(() => {
    fails(() => ones([3]).reshape(2.5), /^reshape: argument 1 holds a non-integer 2\.5/);
    // checked against the op's declaration (src/tensor/native-api.ts): what was expected, what came
    fails(
      () => ones([3]).add('x' as unknown as number),
      /^add: argument 1 must be a Tensor or a number or boolean, got a string$/,
    );
    fails(() => ones([3]).matmul({} as unknown as Tensor), /^matmul: argument 1 is missing: it must be a Tensor$/);
    fails(() => cat([ones([1]), 3 as unknown as Tensor]), /^cat: /);
    fails(() => zeros([2], { dtype: 'complex' as DType }), /^zeros: unknown dtype 'complex'/);
    fails(() => tensor([1], { dtype: 'int8' as DType }), /^tensor: unknown dtype 'int8'/);
    fails(() => ones([-1]), /^ones: /);
    fails(() => ones([2]).to('tpu' as never), /^toDevice: /);
    fails(() => ones([2]).narrow(0, 1, 5), /^narrow: /);
    stillWorks();
  }));

test('use after dispose, as the receiver, an argument or a list element', () => {
  const x = ones([2]);
  const y = ones([2]);
  x.dispose();
  x.dispose(); // twice is harmless
  assert.ok(x.isDisposed && !y.isDisposed);
  fails(() => x.add(1), /^add: tensor used after dispose\(\)$/);
  fails(() => y.add(x), /^add: tensor used after dispose\(\)$/);
  fails(() => x.shape, /^shape: tensor used after dispose\(\)$/);
  fails(() => x.data(), /^(dtypeCode|toBytes): tensor used after dispose\(\)$/); // data() reads the dtype first
  fails(() => cat([y, x]), /^cat: tensor used after dispose\(\)$/);
  fails(() => x.add_(1), /^add_: tensor used after dispose\(\)$/);
  y.dispose();
  stillWorks();
});

test('errors inside tidy free what the scope created; memory stays balanced', () => {
  const before = memory().tensors;
  for (let i = 0; i < 20; i++) {
    assert.throws(
      () =>
        tidy(() =>
          f64([1, 2])
            .exp()
            .matmul(ones([3])),
        ),
      /^Error: matmul: /,
    );
  }
  assert.equal(memory().tensors, before);
  stillWorks();
});
