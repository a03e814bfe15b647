#!/usr/bin/env bash
# From a fresh machine: install, build, fetch the default model
# (SmolLM2-135M-Instruct) and run the main job on it: inspect it, generate,
# measure its perplexity, then quantize it to W4A8 twice (data-free
# calibration): with fptq's default recipe (fptq-plus) and with the paper's
# FPTQ exactly; look at the layer table, and run and evaluate both on the
# int8 engine beside the FP model.
#   QUICKSTART_CHUNKS=N   perplexity windows (default 20; the whole text is ~590)
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf
TEXT=../shared/data/text/wikitext-2-raw-test.txt
CHUNKS=${QUICKSTART_CHUNKS:-20}
OUT=build/quickstart
FPTQ=build/bin/fptq

scripts/install.sh
scripts/fetch_model.sh
scripts/build.sh
mkdir -p "$OUT"
rm -f "$OUT/fp.klbase"  # --kl-base records when the file is absent, compares when present

echo "== fptq info"
$FPTQ info "$MODEL" > "$OUT/info.txt"
head -n 32 "$OUT/info.txt"
echo "... (all $(grep -c '^  blk\.' "$OUT/info.txt") block tensors listed in $OUT/info.txt)"
PROMPT="The three most useful things to know about the ocean are"

echo "== fptq quantize (default recipe fptq-plus, W4A8; no options: data-free calibration)"
$FPTQ quantize "$MODEL" --report "$OUT/layers.csv" --save-stats "$OUT/random.stats.json" \
  -o "$OUT/smollm2-fptq-plus.gguf"
echo "== fptq quantize --scheme fptq (the paper's FPTQ exactly, same statistics)"
$FPTQ quantize "$MODEL" --scheme fptq --stats "$OUT/random.stats.json" -q \
  -o "$OUT/smollm2-fptq.gguf" > "$OUT/fptq-paper-layers.txt"
echo "== fptq generate: greedy continuations, side by side"
for f in "$MODEL" "$OUT/smollm2-fptq-plus.gguf" "$OUT/smollm2-fptq.gguf"; do
  echo "-- $(basename "$f")"
  $FPTQ generate "$f" -p "$PROMPT" -n 48 2>/dev/null
  echo
done

if [ -f "$TEXT" ]; then
  echo "== fptq perplexity, FP32 reference (llama.cpp protocol, first $CHUNKS windows), saving the KL base"
  $FPTQ perplexity "$MODEL" --f32 -f "$TEXT" --chunks "$CHUNKS" --kl-base "$OUT/fp.klbase"
  echo "== fptq perplexity, fptq-plus W4A8 (int8 engine) with KL divergence against FP"
  $FPTQ perplexity "$OUT/smollm2-fptq-plus.gguf" -f "$TEXT" --chunks "$CHUNKS" --kl-base "$OUT/fp.klbase"
  echo "== fptq perplexity, paper FPTQ W4A8 (int8 engine) with KL divergence against FP"
  $FPTQ perplexity "$OUT/smollm2-fptq.gguf" -f "$TEXT" --chunks "$CHUNKS" --kl-base "$OUT/fp.klbase"
else
  echo "(perplexity skipped: $TEXT not present)"
fi
