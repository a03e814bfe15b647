#!/usr/bin/env bash
# From a fresh machine: install, build, fetch the default model
# (SmolLM2-135M-Instruct) and run the main job on it: inspect it, generate,
# measure its perplexity, then quantize it to W4A8 with FPTQ (data-free
# calibration), look at the layer table, and evaluate and run the result on
# the int8 engine.
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
echo "== fptq generate (the input model)"
$FPTQ generate "$MODEL" -p "The three most useful things to know about the ocean are" -n 64

echo "== fptq quantize (FPTQ W4A8, data-free calibration: 16 random sequences of 512 tokens)"
$FPTQ quantize "$MODEL" --calib random --samples 16 --seqlen 512 \
  --report "$OUT/layers.csv" -o "$OUT/smollm2-fptq.gguf"
echo "== fptq generate (W4A8 int8 engine)"
$FPTQ generate "$OUT/smollm2-fptq.gguf" -p "The three most useful things to know about the ocean are" -n 64

if [ -f "$TEXT" ]; then
  echo "== fptq perplexity, FP32 reference (llama.cpp protocol, first $CHUNKS windows), saving the KL base"
  $FPTQ perplexity "$MODEL" --f32 -f "$TEXT" --chunks "$CHUNKS" --kl-base "$OUT/fp.klbase"
  echo "== fptq perplexity, FPTQ W4A8 (int8 engine) with KL divergence against FP"
  $FPTQ perplexity "$OUT/smollm2-fptq.gguf" -f "$TEXT" --chunks "$CHUNKS" --kl-base "$OUT/fp.klbase"
else
  echo "(perplexity skipped: $TEXT not present)"
fi
