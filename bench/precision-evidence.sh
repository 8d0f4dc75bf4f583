#!/bin/bash
# bf16 against fp32 (docs/operators.md, "Precision"): pre-trains a preset with each precision and
# each seed, one thread each, and prints the final validation loss on the whole validation split.
# Usage: bash bench/precision-evidence.sh [preset (tiny)] [seeds (0 1)] [extra pretrain flags...]
# Run folders go to runs/evidence/PRESET-PRECISION-sSEED; a finished one is not run again.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p runs/evidence
preset=${1:-tiny}; seeds=${2:-"0 1"}; shift $(( $# < 2 ? $# : 2 ))
for seed in $seeds; do for p in fp32 bf16; do
  out=runs/evidence/$preset-$p-s$seed
  [ -f "$out/metrics.jsonl" ] || node bin/growbert.js pretrain --preset "$preset" --seed "$seed" --precision "$p" --threads 1 \
    --eval-batches 0 --no-progress --out "$out" "$@" >"$out.log" 2>&1 || { echo "$out failed: see $out.log"; continue; }
  echo "$preset $p seed $seed: $(grep -o '"valLoss":[0-9.]*' "$out/metrics.jsonl" | tail -1)"
done; done
