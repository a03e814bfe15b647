#!/usr/bin/env bash
# From a fresh machine: install, build, fetch the default model
# (SmolLM2-135M-Instruct) and run the main job on it.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf
TEXT=../shared/data/text/wikitext-2-raw-test.txt

scripts/install.sh
scripts/fetch_model.sh
scripts/build.sh

echo "== fptq info"
build/bin/fptq info "$MODEL" | head -n 40
echo "== fptq generate"
build/bin/fptq generate "$MODEL" -p "The three most useful things to know about the ocean are" -n 64
echo "== fptq perplexity (llama.cpp protocol, first 20 windows)"
if [ -f "$TEXT" ]; then
  build/bin/fptq perplexity "$MODEL" -f "$TEXT" --chunks 20
else
  echo "(skipped: $TEXT not present)"
fi
