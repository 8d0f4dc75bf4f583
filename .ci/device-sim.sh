#!/usr/bin/env bash
# Inside the device lane's namespaces (unshare -m -n, as root; .ci/lane-device.sh): makes this machine look like
# the GPU device machine as far as a visit can tell, then runs one prepared command there. What is hidden, by
# mounts private to this namespace (nothing outside it changes):
#   Node.js, npm and Node's headers   /usr/bin/node -> /dev/null; tmpfs over /usr/lib/node_modules, /usr/include/node
#   Gloo's headers                    tmpfs over /usr/include/gloo (the kit's must serve)
#   the CUDA compiler's headers       tmpfs over the venv's nvidia/cu13/include/{crt,nv,cccl} and any /usr/local/cuda*
#                                     toolkit (the kit's fallback must serve, as on a machine that lacks them)
#   apt, dpkg                         -> /dev/null
#   the network                       a new network namespace: loopback only
#   ../shared                         the tree is a copy elsewhere; /work/shared, where it exists, under tmpfs
# and the environment is emptied but for PATH (the venv first: its python3 is "the machine's"), HOME and OUT.
# Usage: device-sim.sh VENV TREE OUT COMMAND...
set -euo pipefail
venv=$1 tree=$2 out=$3
shift 3
ip link set lo up # loopback, for the rendezvous store of the NCCL and Gloo tests
hide_dir() { [ ! -d "$1" ] || mount -t tmpfs -o size=1m,mode=0755 none "$1"; }
hide_file() { [ ! -e "$1" ] || mount --bind /dev/null "$(readlink -f "$1")"; }
for f in /usr/bin/node /usr/local/bin/node /usr/bin/nodejs /usr/bin/apt-get /usr/bin/apt /usr/bin/dpkg; do hide_file "$f"; done
for d in /usr/lib/node_modules /usr/local/lib/node_modules /usr/include/node /usr/local/include/node \
  /usr/include/gloo /usr/local/include/gloo "$HOME/.cache/node-gyp" "$HOME/.npm" /work/shared; do
  hide_dir "$d"
done
for d in "$venv"/lib/python3*/site-packages/nvidia/cu13/include/{crt,nv,cccl} /usr/local/cuda*/; do
  hide_dir "$(readlink -f "$d")"
done
# what the visit must not find, checked here so a hole in the simulation fails the lane rather than hiding
! command -v node >/dev/null 2>&1 || [ ! -s "$(command -v node)" ] || { echo "sim: node still visible" >&2; exit 1; }
[ ! -e /usr/include/gloo/config.h ] || { echo "sim: Gloo headers still visible" >&2; exit 1; }
[ ! -e /usr/local/cuda/include/crt/host_config.h ] || { echo "sim: a CUDA toolkit still visible" >&2; exit 1; }
cd "$tree"
exec env -i HOME="$HOME" LANG=C.UTF-8 TMPDIR="${TMPDIR:-/tmp}" OUT="$out" \
  PATH="$venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  VISIT_DEADLINE_S="${VISIT_DEADLINE_S:-565}" VISIT_LIMIT_SCALE="${VISIT_LIMIT_SCALE:-1}" "$@"
