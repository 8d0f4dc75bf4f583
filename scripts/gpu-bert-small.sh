#!/bin/bash
# The growth comparison that counts (issue 10; docs/schedules.md, "On a GPU"): full, small-only
# and the default compound at BERT-small, on the doc corpus, each for BUDGET of training per seed,
# SEEDS seeds. Its defaults (2 seeds x 70 s x 3 schedules, plus start-up and evaluation) take about
# 9 minutes on one H100/H200: a whole device visit, which `bash .device/visit-growth.sh` runs with
# the budget sized to the visit (docs/device.md). The report, results.json, plots and (for step,
# token and FLOP budgets) the planned schedules are copied to RESULTS, also when compare fails
# part-way (whatever it wrote by then); the run folders, with their checkpoints, stay in OUT.
# Usage, from the repository root:
#   bash ../shared/data/build-doc-corpus.sh data/doc-corpus     # on a machine with Debian's apt
#   bash scripts/gpu-bert-small.sh data/doc-corpus               # or `builtin`: compare's own corpus
# Every setting can be overridden from the environment; test/report/gpu-command.test.ts runs this
# very script on the CPU at tiny scale (TARGET=tiny BUDGET=4 DEVICE=cpu ...) so it is known to run.
set -euo pipefail
corpus=${1:?give the folder that build-doc-corpus.sh wrote (linux-doc.txt, python-doc.txt), or builtin}
TARGET=${TARGET:-small}
BUDGET=${BUDGET:-70s}
SEEDS=${SEEDS:-2}
DEVICE=${DEVICE:-cuda}
PRECISION=${PRECISION:-bf16}
OUT=${OUT:-runs/gpu-bert-small}
RESULTS=${RESULTS:-docs/results/gpu-bert-small}
shopt -s nullglob
data=()
if [ "$corpus" != builtin ]; then
  files=("$corpus"/*.txt)
  [ ${#files[@]} -gt 0 ] || { echo "gpu-bert-small: no .txt files in $corpus; build them with ../shared/data/build-doc-corpus.sh $corpus" >&2; exit 1; }
  data=(--data "${files[@]}")
fi
# small-only and full are added by compare itself; EXTRA passes further compare flags
rc=0
node bin/growbert.js compare --target "$TARGET" --schedules compound --budget "$BUDGET" --seeds "$SEEDS" \
  --device "$DEVICE" --precision "$PRECISION" "${data[@]}" --out "$OUT" ${EXTRA:-} || rc=$?
mkdir -p "$RESULTS"
got=("$OUT"/report.md "$OUT"/results.json "$OUT"/*.svg "$OUT"/*.png)
have=()
for f in "${got[@]}"; do [ -e "$f" ] && have+=("$f"); done
[ ${#have[@]} -eq 0 ] || cp "${have[@]}" "$RESULTS"/
# compare plans schedules/ only for step, token and FLOP budgets (a time budget is the clock's)
[ ! -d "$OUT"/schedules ] || cp -r "$OUT"/schedules "$RESULTS"/
if [ $rc -ne 0 ]; then
  echo "gpu-bert-small: compare failed (exit $rc); what it wrote is in $RESULTS, its runs in $OUT" >&2
  exit $rc
fi
echo "gpu-bert-small: results in $RESULTS"
