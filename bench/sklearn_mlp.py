#!/usr/bin/python3
"""sklearn_mlp.py - the scikit-learn side of bench/train-speed.

    sklearn_mlp.py DATASET [--epochs N] [--batch B] [--lr LR] [--hidden 256,128]
                   [--float64] [--seed S]

Trains MLPClassifier (ReLU, solver adam, alpha 0 so that it matches the
other trainers' plain Adam, batch B, learning_rate_init LR, shuffled) on
DATASET's train.x / train.y, one epoch per partial_fit call, which keeps
Adam's moments from one call to the next and runs exactly one pass over
the data, so that each epoch is timed on its own.  The features stay
float32 (scikit-learn keeps that dtype) unless --float64.  OpenBLAS, which
numpy calls, is configured by the caller's environment.

Prints one JSON line per epoch, {"epoch", "seconds", "train_loss"}, then
{"median_seconds", "test_accuracy", ...}.
"""
import argparse
import json
import os
import statistics
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stload import load  # noqa: E402

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--hidden", default="256,128")
    ap.add_argument("--float64", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    t, _ = load(a.dataset, {"train.x", "train.y", "test.x", "test.y"})
    x, y = t["train.x"], t["train.y"]
    if a.float64:
        x = x.astype(np.float64)
    k = int(max(y.max(), t["test.y"].max())) + 1
    hidden = tuple(int(s) for s in a.hidden.split(",") if s)
    clf = MLPClassifier(hidden_layer_sizes=hidden, activation="relu", solver="adam",
                        alpha=0.0, batch_size=a.batch, learning_rate_init=a.lr,
                        shuffle=True, random_state=a.seed)
    classes = np.arange(k)
    warnings.simplefilter("ignore")

    times = []
    for epoch in range(1, a.epochs + 1):
        t0 = time.perf_counter()
        clf.partial_fit(x, y, classes=classes)
        dt = time.perf_counter() - t0
        times.append(dt)
        print(json.dumps({"epoch": epoch, "seconds": round(dt, 4),
                          "train_loss": round(float(clf.loss_), 5)}), flush=True)

    tx = t["test.x"].astype(x.dtype)
    acc = float(np.mean(clf.predict(tx) == t["test.y"]))
    print(json.dumps({"median_seconds": round(statistics.median(times), 4),
                      "test_accuracy": round(acc, 4),
                      "dtype": str(x.dtype), "sklearn": sklearn.__version__}), flush=True)


if __name__ == "__main__":
    main()
