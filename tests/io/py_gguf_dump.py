#!/usr/bin/env python3
"""Independent reader for files fptq writes: dumps a GGUF as JSON with the
Python `gguf` package.

  py_gguf_dump.py FILE.gguf OUT.json

{"kv": [{"key", "type", "elem_type"?, "value"}...] (file order, GGUF.* pseudo
keys left out), "tensors": [{"name", "type", "ne", "data_hex"}...],
"alignment": int}. Strings are given as lists of byte values so that any
bytes survive JSON.
"""
import json
import sys

import numpy as np
from gguf import GGUFReader, GGUFValueType


def scalar(field, idx):
    part = field.parts[idx]
    return part.tolist()[0] if len(part) == 1 else part.tolist()


def main(path, out):
    r = GGUFReader(path)
    kv = []
    for key, f in r.fields.items():
        if key.startswith("GGUF."):
            continue
        t = f.types[0]
        item = {"key": key, "type": int(t)}
        if t == GGUFValueType.ARRAY:
            # gguf-py records the element type only for non-empty arrays.
            et = f.types[1] if len(f.types) > 1 else None
            item["elem_type"] = None if et is None else int(et)
            vals = [f.parts[i].tolist() for i in f.data]
            item["value"] = [v if et == GGUFValueType.STRING else v[0] for v in vals]
        else:
            v = f.parts[f.data[0]].tolist()
            item["value"] = v if t == GGUFValueType.STRING else v[0]
        kv.append(item)
    tensors = [{"name": t.name, "type": int(t.tensor_type),
                "ne": [int(x) for x in t.shape],
                "data_hex": np.asarray(t.data).tobytes().hex()} for t in r.tensors]
    with open(out, "w") as fh:
        json.dump({"kv": kv, "tensors": tensors, "alignment": int(r.alignment)}, fh)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
