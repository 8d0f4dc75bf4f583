#!/usr/bin/env bash
# Fails unless the addon in build folder $1 was built with data-parallel training ($2: gloo, or gloo+nccl):
# a supported libtorch that silently builds without it would take --nproc from its users.
set -euo pipefail
got=$(node -e "console.log(JSON.parse(require('fs').readFileSync(process.argv[1] + '/stamp.json', 'utf8')).distributed)" "$1")
if [ "$got" != "$2" ]; then
  echo "ci: the addon in $1 was built with data parallel '$got', expected '$2'" >&2
  exit 1
fi
echo "ci: $1 has data parallel: $got"
