"""stload.py - load a maas dataset (safetensors) into numpy arrays, for bench/.

    from stload import load
    tensors, meta = load("fm.safetensors")     # {"train.x": ndarray, ...}, {"prep": "...", ...}

Reads each tensor with numpy.fromfile at its offset, so that the process
holds the tensors and nothing else (no copy of the whole file), which keeps
the peak RSS that bench/train-speed reports about the model, not the loader.
numpy only: no maas code, no safetensors package.
"""
import json
import struct

import numpy as np

DTYPES = {"F32": "<f4", "F64": "<f8", "I64": "<i8", "I32": "<i4", "U8": "u1"}


def load(path, names=None):
    """Returns ({name: array}, metadata) for the tensors in names (all when None)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        meta = header.pop("__metadata__", {})
        base = 8 + n
        tensors = {}
        for name, t in header.items():
            if names is not None and name not in names:
                continue
            b, e = t["data_offsets"]
            dt = np.dtype(DTYPES[t["dtype"]])
            f.seek(base + b)
            a = np.fromfile(f, dtype=dt, count=(e - b) // dt.itemsize)
            tensors[name] = a.reshape(t["shape"])
    return tensors, meta


def spec(meta):
    """The fitted prep spec (a dict) from a dataset's metadata."""
    return json.loads(meta["prep"])
