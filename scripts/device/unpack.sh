# Sourced by scripts/device/visit.sh and visit-growth.sh, in the checkout's root on the GPU device
# machine: unpacks the kit (.device/, made by `npm run device:pack`) and sets the environment the
# build and the parts need. It is the visit's first part, `unpack`: it starts OUT/summary.json
# (python3 writes it: Node is not there until unpacked) and stops the visit, saying why, if it fails.
# Needs: OUT, VISIT_NAME, VISIT_DEADLINE_S (and VISIT_STARTED) set by the caller.
_kit=$PWD/.device
_summary=$OUT/summary.json
_u0=$SECONDS

# summary.json with the unpack part: status [reason]
_unpack_record() {
  python3 - "$_summary" "$VISIT_NAME" "$VISIT_DEADLINE_S" "$((SECONDS - _u0))" "$@" <<'PY'
import json, os, sys, datetime
f, name, deadline, secs, status = sys.argv[1:6]
reason = sys.argv[6] if len(sys.argv) > 6 else None
part = {"status": status, "seconds": float(secs)}
if reason:
    part["reason"] = reason
try:
    manifest = json.load(open(".device/manifest.json"))
    kit = {k: manifest.get(k) for k in ("packedAt", "commit", "node", "kitBytes", "corpus")}
except Exception:
    kit = None
started = os.environ.get("VISIT_STARTED") or datetime.datetime.now(datetime.timezone.utc).isoformat()
s = {"visit": name, "startedAt": started,
     "deadlineS": int(deadline), "kit": kit, "parts": {"unpack": part}, "finished": status != "ok", "ok": status == "ok"}
json.dump(s, open(f + ".tmp", "w"), indent=2)
os.replace(f + ".tmp", f)
PY
  echo "visit: part unpack: $1 in $((SECONDS - _u0)) s${2:+ ($2)}"
}

_unpack_fail() {
  _unpack_record failed "$1"
  exit 1
}

# tar with xz where the machine has it, else Python's own lzma
_untar() {
  mkdir -p "$2"
  tar -xJf "$1" -C "$2" 2>/dev/null && return 0
  python3 -c 'import sys, tarfile
t = tarfile.open(sys.argv[1])
t.extractall(sys.argv[2], **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))' "$1" "$2"
}

[ -f package.json ] && [ -f "$_kit/runtime.tar.xz" ] && [ -f "$_kit/node.tar.xz" ] ||
  _unpack_fail "run from the checkout's root with carry [\".device\"], after \`npm run device:pack\` here"
# The kit's node_modules/ and dist/ go into the checkout; one that has its own (a developer's) is left alone.
for d in node_modules dist; do
  [ ! -e "$d" ] || [ -e "$d/.growbert-device-kit" ] ||
    _unpack_fail "this checkout has its own $d/; the visit unpacks the kit's there: run it in a copy (as the device tool makes)"
done
_untar "$_kit/node.tar.xz" "$_kit/unpacked/node" || _unpack_fail "could not unpack node.tar.xz"
_untar "$_kit/runtime.tar.xz" . || _unpack_fail "could not unpack runtime.tar.xz"
touch node_modules/.growbert-device-kit dist/.growbert-device-kit
_untar "$_kit/include.tar.xz" "$_kit/unpacked/include" || _unpack_fail "could not unpack include.tar.xz"
if [ -f "$_kit/corpus.tar.xz" ] && [ ! -e data/doc-corpus ]; then
  _untar "$_kit/corpus.tar.xz" data/doc-corpus || _unpack_fail "could not unpack corpus.tar.xz"
fi
export PATH=$_kit/unpacked/node/bin:$PATH
export npm_config_nodedir=$_kit/unpacked/node     # the N-API headers for the native build
export LIBTORCH_USE_PYTORCH=1 PYTHON=${PYTHON:-python3} PYTHONUNBUFFERED=1
export GROWBERT_GLOO_INCLUDE=$_kit/unpacked/include/gloo-include
export GROWBERT_CUDA_FALLBACK_INCLUDE=$_kit/unpacked/include/cuda-include
_torch_lib=$("$PYTHON" -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))' 2>/dev/null) ||
  _unpack_fail "'$PYTHON -c \"import torch\"' failed: the visit builds against the machine's PyTorch"
export LD_LIBRARY_PATH=$_torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
node --version >/dev/null 2>&1 || _unpack_fail "the kit's Node.js does not run here: $(node --version 2>&1 | tail -n 1)"
_unpack_record ok
