#!/usr/bin/env bash
# The venv with PyTorch 2.14.1's CUDA wheel that the cuda and device lanes share (.ci/cache/venv-cuda): pip installs
# torch and the nvidia-* wheels it links with --no-deps (cuda-bindings and triton are not needed to build or load),
# plus the CUDA compiler headers the runtime wheel leaves out (nvidia-cuda-crt, nvidia-cuda-cccl); with --interop,
# also transformers (the GPU machine has it; the device lane's export parity and peer use it). Prints the venv's path.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.ci/cache/venv-cuda
mkdir -p .ci/cache
[ -x "$venv/bin/python" ] || python3 -m venv "$venv" >&2
# pip's retry warnings (an unreachable index before a local one) go to a log, shown only if pip fails
"$venv/bin/python" -m pip install -q --retries 1 --timeout 30 --no-deps -r .ci/cuda-wheels.txt \
  >.ci/cache/pip-cuda.log 2>&1 ||
  { tail -n 30 .ci/cache/pip-cuda.log >&2; exit 1; }
if [ "${1:-}" = --interop ]; then
  "$venv/bin/python" -m pip install -q --retries 1 --timeout 30 \
    transformers==5.18.0 tokenizers==0.23.2 safetensors==0.8.0 \
    >.ci/cache/pip-cuda-interop.log 2>&1 || { tail -n 30 .ci/cache/pip-cuda-interop.log >&2; exit 1; }
fi
echo "$PWD/$venv"
