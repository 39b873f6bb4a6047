#!/usr/bin/python3
"""Writes test/golden/small.safetensors and its description small.json.

An implementation of the safetensors format independent of maas (struct,
json and numpy only), laid out as the reference writer (the Rust crate and
Python's safetensors) does: "__metadata__" first, then the tensors sorted by
dtype, largest alignment first, then by name; the header padded with spaces
to a multiple of 8 bytes.  test/unit/test_safetensors.c reads the file and
checks every value against small.json, and checks that maas writes the same
tensors to the same bytes.

Run from anywhere: /usr/bin/python3 test/golden/make-safetensors.py
"""
import json
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

# The reference's dtype order (increasing alignment), and numpy types.
ORDER = ["BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32",
         "F32", "F64", "I64", "U64"]
NUMPY = {"BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "I16": np.int16,
         "U16": np.uint16, "F16": np.float16, "I32": np.int32,
         "U32": np.uint32, "F32": np.float32, "F64": np.float64,
         "I64": np.int64, "U64": np.uint64}


def tensors():
    """name -> (dtype, numpy array): the golden content."""
    return {
        "weight": ("F32", np.array([[1.5, -2.25, 0.0], [3.0e-8, 1.0e10, -0.5]])),
        "bias": ("F32", np.array([0.1, -0.2, 0.3])),
        "scalar": ("F32", np.array(42.0)),
        "empty": ("F32", np.zeros((0, 3))),
        "labels": ("I64", np.array([0, -1, 2**62, -2**63, 2**63 - 1])),
        "mask": ("U8", np.array([[0, 1], [255, 7]])),
        "half": ("F16", np.array([1.0, -65504.0, 2.0**-24, 0.333251953125, -0.0])),
    }


def metadata():
    return {"format": "maas-test/1", "note": "h\u00e9llo \u00fcn\u00efcode \u2713",
            "json": '{"a": [1, 2]}'}


def serialize(named, meta):
    items = []
    for name, (dtype, values) in named.items():
        # astype copies in C order and, unlike ascontiguousarray, keeps 0-d
        arr = values.astype(np.dtype(NUMPY[dtype]).newbyteorder("<"), order="C")
        items.append((name, dtype, arr))
    items.sort(key=lambda it: (-ORDER.index(it[1]), it[0].encode("utf-8")))
    header = {}
    if meta:
        header["__metadata__"] = meta
    offset = 0
    data = b""
    for name, dtype, arr in items:
        raw = arr.tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        data += raw
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data, items


def describe(items, meta):
    out = {"metadata": meta, "order": [name for name, _, _ in items], "tensors": {}}
    for name, dtype, arr in items:
        if dtype.startswith("F"):
            values = [float(v) for v in arr.astype(np.float64).ravel()]
        else:
            values = [int(v) for v in arr.ravel()]
        out["tensors"][name] = {"dtype": dtype, "shape": list(arr.shape), "values": values}
    return out


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else HERE
    blob, items = serialize(tensors(), metadata())
    with open(os.path.join(outdir, "small.safetensors"), "wb") as f:
        f.write(blob)
    with open(os.path.join(outdir, "small.json"), "w", encoding="utf-8") as f:
        json.dump(describe(items, metadata()), f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
