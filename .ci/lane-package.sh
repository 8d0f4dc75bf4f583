#!/usr/bin/env bash
# The package lane: growbert as another project gets it. Packs the tarball (its file list checked: no
# tests, runs, venv, builds), installs it into a new project in a temporary folder outside this checkout
# with npm (the install hook sets up libtorch, by default a venv in ~/.cache/growbert, and builds the
# addon there), checks nothing there points back into the checkout, type-checks and runs
# examples/train-grow-export.ts against the installed package, runs `npx growbert demo`, and checks that a
# set-up that cannot succeed fails in one line and leaves no addon behind. Prints the tarball's size and
# file count and each step's time.
set -euo pipefail
root=$(pwd)
work=$(mktemp -d /tmp/growbert-package-XXXXXX)
trap 'rm -rf "$work"' EXIT
step() { echo "ci: package: $1 ($((SECONDS - t0)) s)"; t0=$SECONDS; }
t0=$SECONDS

node scripts/setup.mjs --quiet
npm pack --silent --pack-destination "$work" >/dev/null
tgz=$(echo "$work"/growbert-*.tgz)
tar tzf "$tgz" | sed 's#^package/##' | sort >"$work/files.txt"
echo "ci: package: $(basename "$tgz"): $(du -k "$tgz" | cut -f1) KiB packed, $(wc -l <"$work/files.txt") files"
banned='^(test|bench|runs|build|\.venv|\.ci|\.cache|node_modules|dist/(test|bench))/|\.map$|^tsconfig\.json$'
if grep -E "$banned" "$work/files.txt"; then
  echo "ci: package: the tarball holds the files above, which a user does not need" >&2
  exit 1
fi
for f in dist/src/index.js dist/src/index.d.ts scripts/install.mjs native/src/api.cc LICENSE examples/train-grow-export.ts; do
  grep -qx "$f" "$work/files.txt" || { echo "ci: package: $f is not in the tarball" >&2; exit 1; }
done
step "packed and checked"

# A project of its own: nothing of the checkout is reachable from it (its node_modules come from the
# tarball and the registry), and the libtorch choice is the default one, whatever this shell has set.
unset LIBTORCH LIBTORCH_USE_PYTORCH GROWBERT_BUILD_DIR
proj="$work/project"
mkdir "$proj" && cd "$proj"
npm init -y >/dev/null
npm pkg set type=module # the example is an ES module (top-level await)
ts=$(node -p "require('$root/package-lock.json').packages['node_modules/typescript'].version")
types=$(node -p "require('$root/package-lock.json').packages['node_modules/@types/node'].version")
npm install --no-audit --no-fund --loglevel=error "$tgz" "typescript@$ts" "@types/node@$types"
if [ -f node_modules/growbert/build/growbert.node ]; then
  step "installed (the install hook set up libtorch and built the addon)"
else
  step "installed (npm did not run the install hook: the first use sets up)"
fi
if grep -rlF "$root" node_modules/growbert; then
  echo "ci: package: the installed files above point into the checkout $root" >&2
  exit 1
fi

cp "$root/examples/train-grow-export.ts" "$root/examples/tsconfig.json" .
npx tsc -p .
step "example type-checked (strict, with growbert's .d.ts)"
node dist/train-grow-export.js "$work/example" | tee "$work/example.log"
grep -q '^example: done$' "$work/example.log"
step "example ran"

npx growbert demo --max-steps 20 --out runs/demo
test -f runs/demo/metrics.jsonl
step "npx growbert demo ran"

# A set-up that cannot succeed (no libtorch there) fails with one line and builds nothing.
if LIBTORCH=/nonexistent GROWBERT_BUILD_DIR=build-bad npx growbert --version 2>"$work/err.txt"; then
  echo "ci: package: a set-up with LIBTORCH=/nonexistent succeeded" >&2
  exit 1
fi
cat "$work/err.txt"
tail -n 1 "$work/err.txt" | grep -q 'LIBTORCH: /nonexistent has no include/ATen/ATen.h' ||
  { echo "ci: package: the failed set-up did not end with its one-line reason" >&2; exit 1; }
test ! -e node_modules/growbert/build-bad/growbert.node
step "a failed set-up says why in one line and leaves no addon"
