#!/usr/bin/env bash
# The device lane: a GPU device visit rehearsed on this GPU-less machine, so that the visit works the first time
# it meets a GPU (docs/device.md). It packs the kit from this checkout (`npm run device:pack`), copies what the
# device tool would send (tracked and untracked-not-ignored files, plus the carried .device) to a fresh folder,
# and runs both prepared commands there inside a simulated device machine (.ci/device-sim.sh: PyTorch 2.14.1's
# CUDA wheel as the machine's python3 with transformers, no Node.js but the kit's, no npm, no network, no apt,
# no Gloo or CUDA compiler headers but the kit's, no ../shared), at tiny scale on the CPU. It asserts what
# travels is under 64 MiB, what comes back is at most 8 files at most two folders down, the summary's fields,
# data parallel (Gloo + NCCL) in the build, and that the GPU-only parts said why they were skipped.
# Needs root (for unshare's mount and network namespaces). Not part of `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
command -v unshare >/dev/null && unshare -m -n true 2>/dev/null ||
  { echo "ci: the device lane needs unshare's mount and network namespaces (root)" >&2; exit 1; }
node scripts/setup.mjs --quiet # node_modules and dist/, which the kit carries
venv=$(bash .ci/cuda-venv.sh --interop)
# The doc corpus where one was built (data/doc-corpus); else a small stand-in, so the corpus path is exercised.
corpus=data/doc-corpus
if ! ls "$corpus"/*.txt >/dev/null 2>&1; then
  corpus=.ci/cache/device-corpus
  mkdir -p "$corpus"
  cat docs/*.md >"$corpus/docs.txt"
fi
node scripts/device/pack.mjs --corpus "$corpus"
node scripts/device/tree-size.mjs . --carry .device
echo "ci: kit packed and measured after $((SECONDS - t0)) s"

sim=$(mktemp -d /tmp/growbert-device-sim-XXXXXX)
trap 'echo "ci: the simulated machine is left in $sim for a look" >&2' ERR
mkdir -p "$sim/tree" "$sim/out" "$sim/out-growth"
git ls-files -z --cached --others --exclude-standard | (while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done) |
  tar --null -T - -cf - | tar -C "$sim/tree" -xf -
cp -r .device "$sim/tree/.device"
# The simulated machine's 2 CPU cores are slower than the GPU machine's 16: a longer deadline and longer limits
# per command; the GPU-only parts are skipped there (each runs a tiny CPU smoke instead).
export VISIT_DEADLINE_S=${VISIT_DEADLINE_S:-1800} VISIT_LIMIT_SCALE=${VISIT_LIMIT_SCALE:-5}
for cmd in visit visit-growth; do
  out=$sim/out$([ $cmd = visit ] || echo -growth)
  echo "== ci: bash .device/$cmd.sh in the simulated device machine"
  unshare -m -n --propagation private bash .ci/device-sim.sh "$venv" "$sim/tree" "$out" bash ".device/$cmd.sh"
  node .ci/device-check.mjs "$cmd" "$out" .device/manifest.json
done
rm -rf "$sim"
echo "ci: device lane done in $((SECONDS - t0)) s"
