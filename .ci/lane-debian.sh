#!/usr/bin/env bash
# The Debian lane: Debian 12's libtorch-dev (1.13, CPU, OpenBLAS), still supported with LIBTORCH=system. Built with
# data parallel (Gloo from libgloo-dev); the ops, modules, model, growth and data-parallel tests run against it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -e /usr/include/ATen/ATen.h ] || [ ! -e /usr/include/gloo/config.h ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends libtorch-dev libopenblas0-pthread libgloo-dev >/dev/null ||
    { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends libtorch-dev \
      libopenblas0-pthread libgloo-dev >/dev/null; }
fi
export LIBTORCH=system GROWBERT_BUILD_DIR=build/libtorch-1.13
node scripts/build-native.mjs
bash .ci/require-dist.sh "$GROWBERT_BUILD_DIR" gloo
node --test --test-concurrency=1 dist/test/tensor/ dist/test/nn/ dist/test/model/ dist/test/parallel/ dist/test/grow/
