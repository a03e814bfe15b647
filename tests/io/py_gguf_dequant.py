#!/usr/bin/env python3
"""Independent reference for fptq's dequantization: the `gguf` Python package.

  py_gguf_dequant.py tensor MODEL.gguf OUTDIR NAME:ROWS...
      writes OUTDIR/NAME.f32: the first ROWS rows of tensor NAME as float32
  py_gguf_dequant.py raw TYPE IN.bin OUT.f32 [TYPE IN.bin OUT.f32]...
      dequantizes the blocks of ggml type TYPE (e.g. Q4_K) stored in IN.bin

Exit status 0 on success; any failure raises (non-zero status).
"""
import sys

import numpy as np
from gguf import GGUFReader, GGMLQuantizationType
from gguf.quants import dequantize


def main(argv):
    if argv[1] == "tensor":
        reader = GGUFReader(argv[2])
        by_name = {t.name: t for t in reader.tensors}
        for spec in argv[4:]:
            name, rows = spec.rsplit(":", 1)
            t = by_name[name]
            data = np.asarray(t.data)
            # GGUFReader gives quantized tensors as [rows, bytes per row] uint8
            # and plain float tensors already typed; both index by row.
            rows_data = data.reshape((-1, data.shape[-1]))[: int(rows)]
            out = dequantize(rows_data, t.tensor_type).astype(np.float32)
            out.tofile(f"{argv[3]}/{name}.f32")
    elif argv[1] == "raw":
        for i in range(2, len(argv), 3):
            qtype = GGMLQuantizationType[argv[i]]
            blocks = np.fromfile(argv[i + 1], dtype=np.uint8)
            dequantize(blocks, qtype).astype(np.float32).tofile(argv[i + 2])
    else:
        raise SystemExit(f"unknown mode {argv[1]}")


if __name__ == "__main__":
    main(sys.argv)
