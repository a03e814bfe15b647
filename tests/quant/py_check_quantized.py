#!/usr/bin/env python3
"""Independent check of a quantized GGUF with the `gguf` Python package.

  py_check_quantized.py INPUT.gguf OUTPUT.gguf OUTDIR

Asserts that OUTPUT has the same tensors as INPUT (names, order, shapes),
every key of INPUT, and the fptq.* keys; writes OUTDIR/<name>.f32 with every
tensor of OUTPUT dequantized by gguf's own code, and prints one line per
check plus the scheme. Any failure raises (non-zero exit status).
"""
import sys

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize


def string_field(reader, key):
    f = reader.fields[key]
    return bytes(f.parts[f.data[0]]).decode("utf-8")


def main(argv):
    src = GGUFReader(argv[1])
    out = GGUFReader(argv[2])
    src_t = [(t.name, [int(x) for x in t.shape]) for t in src.tensors]
    out_t = [(t.name, [int(x) for x in t.shape]) for t in out.tensors]
    assert src_t == out_t, f"tensor lists differ:\n{src_t}\n{out_t}"
    print(f"tensors {len(out_t)} equal")
    missing = [k for k in src.fields if k not in out.fields and not k.startswith("GGUF.")]
    assert not missing, f"keys lost: {missing}"
    print(f"input keys {len(src.fields)} kept")
    for key in ("fptq.format_version", "fptq.tool_version", "fptq.scheme", "fptq.calib.source",
                "fptq.act.attn_qkv_in.mode", "fptq.act.attn_qkv_in.scale",
                "fptq.act.ffn_down_in.mode", "fptq.weight.group_size"):
        assert key in out.fields, f"missing {key}"
    print("scheme " + string_field(out, "fptq.scheme"))
    for t in out.tensors:
        data = np.asarray(t.data)
        deq = dequantize(data, t.tensor_type).astype(np.float32).reshape(-1)
        assert deq.size == int(np.prod([int(x) for x in t.shape])), t.name
        deq.tofile(f"{argv[3]}/{t.name}.f32")
        print(f"tensor {t.name} {t.tensor_type.name}")


if __name__ == "__main__":
    main(sys.argv)
