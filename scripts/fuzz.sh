#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, build-fuzz/) and runs each
# for N seconds over its committed seed corpus (fuzz/corpus/<target>; new
# inputs go to build-fuzz/corpus/<target>, crashes to build-fuzz/artifacts/).
# Prints executions and coverage per target; exits non-zero on any crash.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (default 60 s, every target)
#   FPTQ_FUZZ_JOBS=N   targets run in parallel (default: number of cores)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  TARGETS=(fuzz_gguf_reader fuzz_safetensors fuzz_hf_config fuzz_hf_tokenizer
           fuzz_tokenizer_spm fuzz_tokenizer_bpe)
fi
JOBS=${FPTQ_FUZZ_JOBS:-$(nproc)}
B=build-fuzz

echo "== build (clang, libFuzzer + ASan + UBSan)"
CXX=${FPTQ_FUZZ_CXX:-clang++} cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DFPTQ_FUZZ=ON -DFPTQ_BUILD_TESTS=OFF -DFPTQ_BUILD_BENCH=OFF >/dev/null
ninja -C $B "${TARGETS[@]}"

run_one() {
  local t=$1
  mkdir -p "$B/corpus/$t" "$B/artifacts/$t"
  local log="$B/fuzz-$t.log"
  if "$B/fuzz/$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=25 -rss_limit_mb=2560 \
       -print_final_stats=1 -artifact_prefix="$B/artifacts/$t/" \
       "$B/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1; then
    local status=ok
  else
    local status=CRASH
  fi
  # A run that died at start-up prints no stats: under set -e/pipefail a
  # failed grep here would end the function before it says what happened.
  local execs cov ft
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1 || true)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2 || true)
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2 || true)
  printf '%-20s %-5s execs %-10s cov %-6s ft %-6s (%s s; log %s)\n' "$t" "$status" \
    "${execs:-?}" "${cov:-?}" "${ft:-?}" "$SECONDS_PER_TARGET" "$log"
  if [ "$status" != ok ]; then
    { grep -m3 -E 'ERROR|runtime error|invariant|Test unit written|uncaught|fuzz:' "$log" ||
        tail -3 "$log"; } | sed 's/^/    /'
    return 1
  fi
}

echo "== fuzzing: ${#TARGETS[@]} targets × ${SECONDS_PER_TARGET} s, $JOBS at a time"
fail=0
pids=()
for t in "${TARGETS[@]}"; do
  run_one "$t" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$JOBS" ]; then
    wait "${pids[0]}" || fail=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || fail=1; done
if [ $fail -ne 0 ]; then
  echo "== fuzzing found crashes (inputs under $B/artifacts/)"
  exit 1
fi
echo "== fuzzing: no crashes"
