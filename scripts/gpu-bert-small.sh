#!/bin/bash
# The growth comparison that counts (issue 10; docs/schedules.md, "On a GPU"): full, small-only
# and the default compound at BERT-small, on the doc corpus, each for BUDGET of training per seed,
# SEEDS seeds; about 8-9 minutes on one H100/H200. The report, results.json, plots and the
# planned schedules are copied to docs/results/gpu-bert-small/ (the run folders, with their
# checkpoints, stay in runs/). Usage, from the repository root:
#   bash ../shared/data/build-doc-corpus.sh data/doc-corpus     # on a machine with Debian's apt
#   bash scripts/gpu-bert-small.sh data/doc-corpus
# Every setting can be overridden from the environment; test/report/gpu-command.test.ts runs this
# very script on the CPU at tiny scale (TARGET=tiny BUDGET=4 DEVICE=cpu ...) so it is known to run.
set -euo pipefail
corpus=${1:?give the folder that build-doc-corpus.sh wrote (linux-doc.txt, python-doc.txt)}
TARGET=${TARGET:-small}
BUDGET=${BUDGET:-70s}
SEEDS=${SEEDS:-2}
DEVICE=${DEVICE:-cuda}
PRECISION=${PRECISION:-bf16}
OUT=${OUT:-runs/gpu-bert-small}
RESULTS=${RESULTS:-docs/results/gpu-bert-small}
shopt -s nullglob
files=("$corpus"/*.txt)
[ ${#files[@]} -gt 0 ] || { echo "gpu-bert-small: no .txt files in $corpus; build them with ../shared/data/build-doc-corpus.sh $corpus" >&2; exit 1; }
# small-only and full are added by compare itself; EXTRA passes further compare flags
node bin/growbert.js compare --target "$TARGET" --schedules compound --budget "$BUDGET" --seeds "$SEEDS" \
  --device "$DEVICE" --precision "$PRECISION" --data "${files[@]}" --out "$OUT" ${EXTRA:-}
mkdir -p "$RESULTS"
cp "$OUT"/report.md "$OUT"/results.json "$OUT"/*.svg "$OUT"/*.png "$RESULTS"/
cp -r "$OUT"/schedules "$RESULTS"/
echo "gpu-bert-small: results in $RESULTS"
