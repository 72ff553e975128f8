#!/usr/bin/env bash
# The torch backend on a CUDA GPU, in one command, from a bare machine with an NVIDIA GPU,
# nvcc, CMake and a Python whose PyTorch has CUDA (with transformers, safetensors, msgpack and
# numpy); no network, no npm, no Node.js needed. It
#   1. builds the worker against that PyTorch's libtorch (the reference backend beside it, on
#      OpenBLAS if installed, plain loops if not);
#   2. runs troupe-torch-parity on CUDA: the torch backend against the reference, fp32 and bf16;
#   3. runs scripts/gpu_check.py: the worker against Hugging Face's Qwen3ForCausalLM (logits'
#      log-probs, every gradient of a cross-entropy loss, greedy tokens), then the benchmark
#      (Qwen3-0.6B and -1.7B shapes at 4,096 tokens in bf16: the worker's training tokens/s and
#      MFU against transformers training the same model eagerly, and generation tokens/s);
#      between them, ZeRO-3 over NCCL in a group of one (the code path of many ranks) on
#      Qwen3-1.7B's dimensions, against the same step with no group.
# Stops at the first failure and says which check failed; the last line of its output is one
# JSON object. nlohmann/json.hpp must be findable: Debian's nlohmann-json3-dev, or
# NLOHMANN_JSON_INCLUDE=DIR (a folder holding nlohmann/json.hpp), or a copy under .deps/include.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-gpu/build-cuda}
say() { echo "gpu-check: $*" >&2; }
fail() {
  python3 -c 'import json,sys; print(json.dumps({"ok": False, "failed": sys.argv[1], "detail": sys.argv[2]}))' "$1" "$2"
  exit 1
}

python3 -c 'import torch, transformers, safetensors, msgpack, numpy' 2>/dev/null || fail "python" "python3 needs torch, transformers, safetensors, msgpack and numpy"
python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' || fail "cuda" "PyTorch sees no CUDA device"
prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
json_inc=${NLOHMANN_JSON_INCLUDE:-}
[ -z "$json_inc" ] && [ -e .deps/include/nlohmann/json.hpp ] && json_inc=$PWD/.deps/include
extra=()
[ -n "$json_inc" ] && extra+=("-DNLOHMANN_JSON_INCLUDE=$json_inc")
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

say "building the worker against $(python3 -c 'import torch; print(torch.__version__)') in $BUILD"
t0=$(date +%s)
cmake -S gpu/worker -B "$BUILD" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DTROUPE_TORCH=ON -DCMAKE_PREFIX_PATH="$prefix" "${extra[@]}" >"$BUILD.log" 2>&1 \
  || fail "configure" "cmake failed; see $BUILD.log: $(grep -m1 -A3 'Error' "$BUILD.log" | tr '\n' ' ')"
cmake --build "$BUILD" -j"$(nproc)" >>"$BUILD.log" 2>&1 || fail "compile" "the build failed; see $BUILD.log: $(grep -m1 -A3 'error' "$BUILD.log" | tr '\n' ' ')"
say "built in $(( $(date +%s) - t0 )) s"

parity=()
for precision in fp32 bf16; do
  say "troupe-torch-parity --device cuda --precision $precision"
  out=$("$BUILD/troupe-torch-parity" --device cuda --precision "$precision" 2>&1) || {
    echo "$out" >&2
    fail "parity_$precision" "$(echo "$out" | grep -m3 FAIL | tr '\n' ';')"
  }
  worst=$(echo "$out" | awk '/^PASS/ { split($3, e, "="); if (e[2] + 0 > w) { w = e[2] + 0; n = $2 } } END { printf "%s=%g", n, w }')
  parity+=("\"$precision\": {\"checks\": $(echo "$out" | grep -c '^PASS'), \"worst\": \"$worst\"}")
done

say "against Hugging Face transformers, then the benchmark"
PYTHONUNBUFFERED=1 python3 scripts/gpu_check.py --worker "$BUILD/troupe-worker" --parity "{$(IFS=,; echo "${parity[*]}")}"
