#!/usr/bin/env bash
# The CUDA lane: PyTorch 2.14.1 (CUDA 13), the wheel a GPU user gets, on a machine without a GPU, in the venv
# .ci/cuda-venv.sh makes. Nothing here runs on a GPU and nothing claims to: the device tests compile and skip,
# saying why.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(bash .ci/cuda-venv.sh)
out=build/cuda
export LIBTORCH_USE_PYTORCH=1 PYTHON="$venv/bin/python" GROWBERT_BUILD_DIR=$out
node scripts/build-native.mjs
bash .ci/require-dist.sh "$out" gloo+nccl
node -e "import('./dist/src/tensor/index.js').then((t) => {
  if (!t.cuda.isBuilt() || !t.torchVersion().startsWith('2.14')) throw new Error('not the CUDA 2.14 build');
  console.log('ci: loaded the CUDA build of libtorch ' + t.torchVersion() + ' without a GPU');
})"
# --device cuda on a machine without a GPU: exit non-zero with exactly one line, naming the cause
set +e
msg=$(node bin/growbert.js pretrain --preset tiny --device cuda --max-steps 1 --out "$(mktemp -d)/run" 2>&1)
rc=$?
set -e
echo "ci: --device cuda said: $msg"
if [ $rc -eq 0 ] || [ "$(printf '%s\n' "$msg" | wc -l)" -ne 1 ] || ! grep -q 'no GPU is visible' <<<"$msg"; then
  echo "ci: --device cuda without a GPU should fail with one line naming the missing GPU (exit $rc)" >&2
  exit 1
fi
# The CPU subset: the ops, modules, model, growth, the CUDA tests (which skip) and data parallel over Gloo.
node --test --test-concurrency=1 dist/test/tensor/ dist/test/nn/ dist/test/model/ dist/test/cuda/ dist/test/parallel/ \
  dist/test/grow/
