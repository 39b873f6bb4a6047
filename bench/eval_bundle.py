#!/usr/bin/python3
"""eval_bundle.py - score a maas bundle's weights with numpy alone.

    eval_bundle.py BUNDLE_DIR DATASET

Rebuilds the network from MODEL.json's "architecture" (linear, relu, gelu,
tanh, sigmoid, dropout, layernorm, and rnn, gru, lstm layers, many-to-one,
with PyTorch's equations and tensor layouts; see maas-bundle(5)), loads
weights.safetensors with a reader of its own (bench/stload.py), runs
DATASET's test.x through it and prints {"test_accuracy": A} for
classification, or {"test_rmse": R} for regression, the output taken back
to the target's units with MODEL.json's outputs.target_scale.  A layer it
does not know (residual blocks) prints {"skipped": "why"}.  An independent
check that the weights maas-train writes are the model it reports on.
"""
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stload import load  # noqa: E402

import numpy as np  # noqa: E402


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def recurrent(kind, layer, w, x):
    """x (B, T, C) through layer's stacked cells; returns the last step's
    hidden state (B, H) and the whole output sequence (B, T, H)."""
    ten = layer["tensors"]
    hsz = layer["hidden"]
    for k in range(layer.get("num_layers", 1)):
        wih, whh = w[ten["weight_ih_l%d" % k]], w[ten["weight_hh_l%d" % k]]
        bih, bhh = w[ten["bias_ih_l%d" % k]], w[ten["bias_hh_l%d" % k]]
        bsz, steps, _ = x.shape
        h = np.zeros((bsz, hsz))
        c = np.zeros((bsz, hsz))
        seq = np.empty((bsz, steps, hsz))
        for t in range(steps):
            gi = x[:, t] @ wih.T + bih
            gh = h @ whh.T + bhh
            if kind == "gru":
                r = sigmoid(gi[:, :hsz] + gh[:, :hsz])
                z = sigmoid(gi[:, hsz:2 * hsz] + gh[:, hsz:2 * hsz])
                n = np.tanh(gi[:, 2 * hsz:] + r * gh[:, 2 * hsz:])
                h = (1 - z) * n + z * h
            elif kind == "lstm":
                g = gi + gh
                i, f = sigmoid(g[:, :hsz]), sigmoid(g[:, hsz:2 * hsz])
                c = f * c + i * np.tanh(g[:, 2 * hsz:3 * hsz])
                h = sigmoid(g[:, 3 * hsz:]) * np.tanh(c)
            else:
                h = np.tanh(gi + gh)
            seq[:, t] = h
        x = seq
    return h, x


def forward(layers, w, x):
    for j, layer in enumerate(layers):
        kind = layer.get("type")
        ten = layer.get("tensors", {})
        if kind in ("rnn", "gru", "lstm"):
            nxt = layers[j + 1].get("type") if j + 1 < len(layers) else None
            last, seq = recurrent(kind, layer, w, x)
            x = seq if nxt in ("rnn", "gru", "lstm") else last
        elif kind == "linear":
            x = x @ w[ten["weight"]].T + w[ten["bias"]]
        elif kind == "relu":
            x = np.maximum(x, 0)
        elif kind == "tanh":
            x = np.tanh(x)
        elif kind == "sigmoid":
            x = 1 / (1 + np.exp(-x))
        elif kind == "gelu":
            erf = np.vectorize(math.erf)
            x = 0.5 * x * (1 + erf(x / math.sqrt(2)))
        elif kind == "dropout":
            pass
        elif kind == "layernorm":
            mu = x.mean(-1, keepdims=True)
            var = x.var(-1, keepdims=True)
            x = (x - mu) / np.sqrt(var + 1e-5) * w[ten["weight"]] + w[ten["bias"]]
        else:
            raise KeyError(kind)
    return x


def main():
    bundle, dataset = sys.argv[1], sys.argv[2]
    with open(os.path.join(bundle, "MODEL.json")) as f:
        model = json.load(f)
    t, meta = load(dataset, {"test.x", "test.y"})
    w, _ = load(os.path.join(bundle, "weights.safetensors"))
    w = {k: v.astype(np.float64) for k, v in w.items()}
    try:
        out = forward(model["architecture"]["layers"], w, t["test.x"].astype(np.float64))
    except KeyError as e:
        print(json.dumps({"skipped": "layer or tensor %s" % e}))
        return
    if meta.get("task") == "classification":
        acc = float(np.mean(out.argmax(1) == t["test.y"]))
        print(json.dumps({"test_accuracy": round(acc, 4)}))
        return
    scale = model.get("outputs", {}).get("target_scale") or {"mean": 0.0, "std": 1.0}
    pred = out.reshape(len(out)) * float(scale["std"]) + float(scale["mean"])
    rmse = float(np.sqrt(np.mean((pred - t["test.y"].astype(np.float64)) ** 2)))
    print(json.dumps({"test_rmse": round(rmse, 4)}))


if __name__ == "__main__":
    main()
