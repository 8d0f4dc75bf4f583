#!/usr/bin/env bash
# alternating rounds: old code on Debian 1.13 vs this code on PyTorch 2.13 (default), mini shape, 1 thread, CPU time
for round in 1 2 3; do
  for prec in bf16 fp32; do
    for side in "old-1.13:/work/wt-old:build" "new-2.13:/work/main:build"; do
      IFS=: read name dir bdir <<<"$side"
      r=$(cd $dir && GROWBERT_BUILD_DIR=$bdir node bin/growbert.js bench --threads 1 --cpu-time --precision $prec --steps 10 --json 2>/dev/null | tail -1)
      echo "round $round $prec $name $r"
    done
  done
done
