#!/usr/bin/env bash
# The default lane: set-up as `npm test` does it (PyTorch's CPU wheel in .venv), lint, format, the whole suite,
# with the Python interop packages (transformers, tensorboard, datasets) in .venv (set-up --interop).
set -euo pipefail
cd "$(dirname "$0")/.."
# set-up runs first so the linter and formatter (devDependencies) are there before they check the tree
node scripts/setup.mjs --quiet
bash .ci/require-dist.sh build gloo
# the interop packages (scripts/python-deps.txt) must install here: npm test would only skip their tests
mkdir -p .ci/cache
node scripts/setup.mjs --quiet --interop 2>&1 | tee .ci/cache/setup.log
if grep -q 'warning: pip could not install' .ci/cache/setup.log; then exit 1; fi
npm run --silent lint
npm run --silent format:check
npm test
