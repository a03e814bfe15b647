#!/usr/bin/env bash
# Streaming quantization at scale: writes a LLaMA-shaped GGUF with random F16
# weights (tools/synth_llama.cpp; default the Llama-2-7B shape: 32 layers,
# 4096 hidden, 11008 FFN, 32 heads, vocab 32000, 13.5 GB), quantizes it with
# `fptq quantize` (FPTQ, data-free calibration with few samples) under
# /usr/bin/time -v, and reports peak RSS, wall time, output size and bits per
# weight. Needs ~14 GB + ~4 GB of disk in $WORK; the files are deleted at the
# end unless KEEP=1. Takes minutes.
#
#   bench/stream_7b.sh                       # 7B shape
#   PRESET=1b bench/stream_7b.sh             # 1B shape (16 layers, 2048 hidden)
#   LAYERS=4 bench/stream_7b.sh              # 7B width, 4 layers
# Environment: BUILD (build folder, default build), WORK (default
# /tmp/fptq-stream-bench), PRESET (7b|1b|tiny), LAYERS, SAMPLES (4), SEQLEN
# (128), THREADS (nproc), SCHEME (fptq), QUANT_ARGS (more fptq quantize
# options, e.g. "--v0 1" to put LAE on every point), FPTQ (the fptq binary,
# default $BUILD/bin/fptq), KEEP (0).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
WORK=${WORK:-/tmp/fptq-stream-bench}
PRESET=${PRESET:-7b}
SAMPLES=${SAMPLES:-4}
SEQLEN=${SEQLEN:-128}
THREADS=${THREADS:-$(nproc)}
SCHEME=${SCHEME:-fptq}
KEEP=${KEEP:-0}
FPTQ=${FPTQ:-$BUILD/bin/fptq}

for b in "$FPTQ" "$BUILD/bin/fptq-synth-llama"; do
  [ -x "$b" ] || { echo "stream_7b: $b not built (cmake --build $BUILD)" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "stream_7b: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }

mkdir -p "$WORK"
model="$WORK/synth-$PRESET.gguf"
out="$WORK/synth-$PRESET-$SCHEME.gguf"
cleanup() {
  if [ "$KEEP" != 1 ]; then rm -rf "$model" "$out" "$out.fptq-partial"; fi
}
trap cleanup EXIT

synth_args=(--preset "$PRESET" -o "$model")
[ -n "${LAYERS:-}" ] && synth_args+=(--layers "$LAYERS")

peak_kb() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$1"; }
wall() { sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$1"; }

echo "== writing the synthetic model ($PRESET${LAYERS:+, $LAYERS layers})"
/usr/bin/time -v "$BUILD/bin/fptq-synth-llama" "${synth_args[@]}" 2> "$WORK/synth.time" | tee "$WORK/synth.out"
echo "   peak RSS $(( $(peak_kb "$WORK/synth.time") / 1024 )) MiB, wall $(wall "$WORK/synth.time")"

echo "== fptq quantize --scheme $SCHEME --calib random --samples $SAMPLES --seqlen $SEQLEN --threads $THREADS ${QUANT_ARGS:-}"
# shellcheck disable=SC2086
/usr/bin/time -v "$FPTQ" quantize "$model" --scheme "$SCHEME" --calib random \
  --samples "$SAMPLES" --seqlen "$SEQLEN" --threads "$THREADS" -o "$out" ${QUANT_ARGS:-} \
  > "$WORK/quantize.out" 2> "$WORK/quantize.err" || {
  tail -20 "$WORK/quantize.err" >&2
  exit 1
}
grep -E "^(calibration|quantize: (calibrate|quantize) block [0-9]+/[0-9]+ .* (sample|tensor) ([0-9]+)/\4 )" \
  "$WORK/quantize.err" | tail -4 || true

in_bytes=$(stat -c %s "$model")
out_bytes=$(stat -c %s "$out")
rss_kb=$(peak_kb "$WORK/quantize.err")
echo
echo "| model | input | output | bits/weight | peak RSS | wall | calibration |"
echo "|---|---|---|---|---|---|---|"
bpw=$(grep "bits per weight" "$WORK/quantize.out" | sed 's/^ *//')
gb() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1e9 }'; }
printf "| %s | %s GB | %s GB | %s | %s GB (%d MiB) | %s | %s × %s random tokens, %s threads |\n" \
  "$PRESET${LAYERS:+ ($LAYERS layers)}" "$(gb "$in_bytes")" "$(gb "$out_bytes")" \
  "$(echo "$bpw" | sed -E 's/.*: *([0-9.]+) over linear.* ([0-9.]+) over the whole file/\1 (linear), \2 (file)/')" \
  "$(gb $((rss_kb * 1024)))" $((rss_kb / 1024)) "$(wall "$WORK/quantize.err")" \
  "$SAMPLES" "$SEQLEN" "$THREADS"
echo
echo "$bpw"
echo "(peak RSS: /usr/bin/time -v 'Maximum resident set size' of fptq quantize)"
