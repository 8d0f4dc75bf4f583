#!/bin/bash
# the largest budget, seed 0: full and small-only side by side (compare --parallel 2, one thread each)
G=/tmp/wt20-snap/bin/growbert.js
D=/tmp/wt20-doc/corpus
exec nice -n 5 node $G compare --target tiny --schedules small-only --budget 3e13flops --parallel 2 \
  --seed 0 --seeds 1 --threads 1 --data $D/linux-doc.txt $D/python-doc.txt --cache-dir /tmp/wt20-exp/cache \
  --out /tmp/wt20-exp/p3e13
