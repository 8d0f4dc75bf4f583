#!/bin/bash
# seed $1 -> /tmp/wt20-exp/seed$1 (one compare per seed, the two side by side: --parallel 2 by hand)
G=/tmp/wt20-snap/bin/growbert.js
D=/tmp/wt20-doc/corpus
exec nice -n 5 node $G compare --target tiny --schedules small-only --budget 3e12flops,1e13flops,3e13flops \
  --seed $1 --seeds 1 --threads 1 --data $D/linux-doc.txt $D/python-doc.txt --cache-dir /tmp/wt20-exp/cache \
  --out /tmp/wt20-exp/seed$1
