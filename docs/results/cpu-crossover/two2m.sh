#!/bin/bash
# Issue 20 "done when": two --budget 2m --threads 1 runs started at the same moment (wall clock, the default)
G=/tmp/wt20-snap/bin/growbert.js
D=/tmp/wt20-doc/corpus
for s in full small-only; do
  nice -n 5 node $G pretrain --preset tiny --schedule $s --budget 2m --threads 1 --data $D/linux-doc.txt $D/python-doc.txt \
    --cache-dir /tmp/wt20-exp/cache --out /tmp/wt20-exp/two2m/$s > /tmp/wt20-exp/two2m-$s.log 2>&1 &
done
wait
