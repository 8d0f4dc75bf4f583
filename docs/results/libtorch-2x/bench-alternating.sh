#!/usr/bin/env bash
# Alternating rounds: the old code on Debian's 1.13 against this code on PyTorch 2.13 (the default), mini shape, one
# thread, CPU time. Set-up behind it: Debian's libtorch-dev installed (apt-get install libtorch-dev libgloo-dev
# libopenblas0-pthread); `git worktree add /work/wt-old 5a96aac` with `node scripts/setup.mjs` there (that commit's
# default libtorch is the system one); this checkout at /work/main after `npm run setup` (PyTorch 2.13 in .venv).
for round in 1 2 3; do
  for prec in bf16 fp32; do
    for side in "old-1.13:/work/wt-old:build" "new-2.13:/work/main:build"; do
      IFS=: read name dir bdir <<<"$side"
      r=$(cd $dir && GROWBERT_BUILD_DIR=$bdir node bin/growbert.js bench --threads 1 --cpu-time --precision $prec --steps 10 --json 2>/dev/null | tail -1)
      echo "round $round $prec $name $r"
    done
  done
done
