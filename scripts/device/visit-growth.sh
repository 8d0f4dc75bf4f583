#!/bin/bash
# A device visit given wholly to the growth comparison (docs/device.md, "The second visit"): unpack,
# build, then scripts/gpu-bert-small.sh at BERT-small with 2 seeds, the budget per run sized to the
# visit's deadline. On the device machine, from the checkout's root, after `npm run device:pack`:
#   run: bash .device/visit-growth.sh      carry [".device"], timeout_s 600
VISIT_NAME=visit-growth
VISIT_ARGS=(--parts build,growth --seeds "${SEEDS:-2}")
source scripts/device/visit.sh
