#!/usr/bin/python3
"""dataset.py - look at a maas dataset with numpy alone (no maas code).

An independent reader of the safetensors container, used by the bats tests
to check what maas-prep wrote:

  dataset.py shapes FILE          one line per tensor: name dtype shape
  dataset.py meta FILE KEY        a metadata value
  dataset.py check FILE           no NaN or Inf in any float tensor; y within classes
  dataset.py same-as-apply FIT APPLIED
                                  every split's x (and y) equals the applied
                                  data at the split's source rows, bit for bit
  dataset.py equal A B            the same tensors, bit for bit (metadata aside)
  dataset.py stat FILE TENSOR     mean std min max of a tensor
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4",
          "I16": "<i2", "I8": "i1", "U8": "u1", "U16": "<u2", "U32": "<u4",
          "U64": "<u8", "BOOL": "?"}


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    tensors = {}
    for name, t in header.items():
        b, e = t["data_offsets"]
        a = np.frombuffer(data[b:e], dtype=DTYPES[t["dtype"]])
        tensors[name] = a.reshape(t["shape"])
    return tensors, meta


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    t, meta = load(path)
    if cmd == "shapes":
        for name in sorted(t):
            a = t[name]
            print(name, a.dtype.str.lstrip("<|"), "x".join(map(str, a.shape)) or "scalar")
    elif cmd == "meta":
        print(meta[sys.argv[3]])
    elif cmd == "check":
        spec = json.loads(meta["prep"])
        bad = 0
        for name, a in t.items():
            if a.dtype.kind == "f" and not np.isfinite(a).all():
                print(f"{name}: {np.count_nonzero(~np.isfinite(a))} values not finite")
                bad = 1
        if meta.get("task") == "classification":
            k = len(spec["target"]["classes"])
            for name, a in t.items():
                if name.endswith(".y") and (a.min() < 0 or a.max() >= k):
                    print(f"{name}: labels outside 0..{k - 1}")
                    bad = 1
        nf = len(spec["features"])
        for name, a in t.items():
            if name.endswith(".x") and a.shape[-1] != nf:
                print(f"{name}: {a.shape[-1]} features, spec lists {nf}")
                bad = 1
        print("ok" if not bad else "bad")
        sys.exit(bad)
    elif cmd == "same-as-apply":
        u, _ = load(sys.argv[3])
        x = u["data.x"]
        # the applied sample for each source row (a window is keyed by its target row)
        at = {int(r): i for i, r in enumerate(u["data.row"])}
        n = 0
        for split in ("train", "val", "test"):
            if split + ".x" not in t:
                continue
            rows = t[split + ".row"]
            missing = [int(r) for r in rows if int(r) not in at]
            if missing:
                print(f"{split}: rows {missing[:5]} are not in the applied data")
                sys.exit(1)
            idx = np.array([at[int(r)] for r in rows], dtype=np.int64)
            if not np.array_equal(t[split + ".x"].view(np.uint32), x[idx].view(np.uint32)):
                print(f"{split}.x differs from the applied rows")
                sys.exit(1)
            if split + ".y" in t and "data.y" in u and not np.array_equal(t[split + ".y"], u["data.y"][idx]):
                print(f"{split}.y differs from the applied rows")
                sys.exit(1)
            n += len(rows)
        print(f"identical: {n} rows")
    elif cmd == "equal":
        u, _ = load(sys.argv[3])
        if sorted(t) != sorted(u):
            sys.exit(f"tensors differ: {sorted(t)} vs {sorted(u)}")
        for name in t:
            if t[name].dtype != u[name].dtype or t[name].shape != u[name].shape or \
                    t[name].tobytes() != u[name].tobytes():
                sys.exit(f"{name} differs")
        print(f"equal: {len(t)} tensors")
    elif cmd == "stat":
        a = t[sys.argv[3]].astype(np.float64)
        print(f"{a.mean():.6g} {a.std():.6g} {a.min():.6g} {a.max():.6g}")
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
