#!/bin/bash
# One GPU device visit, the prepared command (docs/device.md). On the device machine, from the
# checkout's root, after `npm run device:pack` here:
#   run: bash .device/visit.sh      carry [".device"], timeout_s 600
# Parts, each time-limited under the visit's own deadline (VISIT_DEADLINE_S, 565 s), a failure
# recorded and the later parts still run: unpack -> build (data parallel with NCCL) -> the CUDA tests
# -> export parity with transformers -> bf16 throughput against transformers at BERT-base and
# BERT-small -> the growth comparison (1 seed) sized to the time left. OUT gets summary.json
# (rewritten after every part), visit.log and growth/ (report, results, loss plots): at most 6 files.
set -uo pipefail
export VISIT_NAME=${VISIT_NAME:-visit} VISIT_DEADLINE_S=${VISIT_DEADLINE_S:-565}
[ -n "${VISIT_ARGS+set}" ] || VISIT_ARGS=()   # visit-growth.sh names its parts
OUT=${OUT:-runs/device-out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
exec > >(tee -a "$OUT/visit.log") 2>&1
tee_pid=$!
# on any exit (unpack's too): let tee write the log's last lines before the command returns
trap 'exec >&- 2>&-; wait "$tee_pid" 2>/dev/null' EXIT
export VISIT_STARTED=$(date -u +%FT%TZ)
echo "visit: $VISIT_NAME started $VISIT_STARTED, deadline ${VISIT_DEADLINE_S} s, OUT=$OUT"
source scripts/device/unpack.sh
node scripts/check-device.mjs --out "$OUT" --deadline-s $((VISIT_DEADLINE_S - SECONDS)) "${VISIT_ARGS[@]}"
rc=$?
echo "visit: $VISIT_NAME ended after $SECONDS s (exit $rc); OUT has: $(cd "$OUT" && find . -type f | sort | tr '\n' ' ')"
exit $rc
