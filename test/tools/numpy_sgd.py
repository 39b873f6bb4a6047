#!/usr/bin/python3
"""numpy_sgd.py - full-batch SGD on a linear regression, in numpy alone.

The independent reference of test_train.c: the same computation maas-train
does with `-a linear --loss mse --optimizer sgd -b N` (N at least the
training rows), written from the definitions, in float64:

  numpy_sgd.py DATASET INIT LR STEPS [MOMENTUM]

DATASET is a maas dataset (train.x, train.y, the spec's target mean and
std in its "prep" metadata), INIT a safetensors file with the initial
"0.weight" (1, d) and "0.bias" (1).  The target is standardised as
maas-train does: t = (y - mean) / std.  Each step:

  z = x W^T + b                      (n, 1)
  g = 2 (z - t) / n                  d mean((z - t)^2) / dz
  dW = g^T x, db = sum(g)
  buf = momentum * buf + grad        (PyTorch's SGD; buf = grad at step 1)
  W -= lr * buf, b -= lr * buf

Prints {"0.weight": [[...]], "0.bias": [...]} as JSON.
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": "<f4", "F64": "<f8", "I64": "<i8", "U64": "<u8", "I32": "<i4"}


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
        tensors[name] = np.frombuffer(data[b:e], dtype=DTYPES[t["dtype"]]).reshape(t["shape"])
    return tensors, meta


def main():
    ds, meta = load(sys.argv[1])
    init, _ = load(sys.argv[2])
    lr, steps = float(sys.argv[3]), int(sys.argv[4])
    momentum = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    spec = json.loads(meta["prep"])
    mean, std = spec["target"]["mean"], spec["target"]["std"]
    x = ds["train.x"].astype(np.float64)
    t = (ds["train.y"].astype(np.float64) - mean) / std
    w = init["0.weight"].astype(np.float64).copy()
    b = init["0.bias"].astype(np.float64).copy()
    n = x.shape[0]
    bw, bb = None, None
    for _ in range(steps):
        z = x @ w.T + b
        g = 2.0 * (z[:, 0] - t) / n
        dw = (g[:, None] * x).sum(axis=0)[None, :]
        db = np.array([g.sum()])
        if momentum:
            bw = dw if bw is None else momentum * bw + dw
            bb = db if bb is None else momentum * bb + db
            dw, db = bw, bb
        w -= lr * dw
        b -= lr * db
    print(json.dumps({"0.weight": w.tolist(), "0.bias": b.tolist()}))


if __name__ == "__main__":
    main()
