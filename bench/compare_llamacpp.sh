#!/usr/bin/env bash
# Interleaves llama-bench and `fptq bench` on this machine and prints the
# speed ratios ours / llama.cpp, round by round (bench/compare_summary.py).
#
#   bench/compare_llamacpp.sh LLAMA_BENCH FPTQ LLAMA_MODEL [FPTQ_MODEL[:--emulate]...]
#
# LLAMA_BENCH is an already-built llama-bench binary (this script does not
# build llama.cpp), FPTQ the fptq binary, LLAMA_MODEL the GGUF llama-bench
# runs; each FPTQ_MODEL is benchmarked by fptq (default: LLAMA_MODEL), with
# `:--emulate` appended to run it on the F32 engine. Environment: ROUNDS (2),
# P (512), N (128), R (5), T (1,2), OUT (a new folder under /tmp).
set -euo pipefail
if [[ $# -lt 3 ]]; then
  sed -n '2,12p' "$0" >&2
  exit 2
fi
llama_bench=$1 fptq=$2 llama_model=$3
shift 3
models=("$@")
[[ ${#models[@]} -gt 0 ]] || models=("$llama_model")
ROUNDS=${ROUNDS:-2} P=${P:-512} N=${N:-128} R=${R:-5} T=${T:-1,2}
OUT=${OUT:-$(mktemp -d /tmp/fptq-compare.XXXXXX)}
mkdir -p "$OUT"
echo "results in $OUT" >&2
for ((round = 1; round <= ROUNDS; round++)); do
  dir="$OUT/round$round"
  mkdir -p "$dir"
  echo "== round $round: llama-bench" >&2
  "$llama_bench" -m "$llama_model" -p "$P" -n "$N" -r "$R" -t "$T" -o jsonl >"$dir/llama.jsonl"
  for spec in "${models[@]}"; do
    model=${spec%%:*} extra=""
    [[ $spec == *:--emulate ]] && extra=--emulate
    echo "== round $round: fptq bench $model $extra" >&2
    "$fptq" bench "$model" $extra -p "$P" -n "$N" -r "$R" -t "$T" -o "$dir/fptq.jsonl" >&2
  done
done
python3 "$(dirname "$0")/compare_summary.py" "$OUT"
