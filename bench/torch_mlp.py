#!/usr/bin/python3
"""torch_mlp.py - the PyTorch side of bench/train-speed: an MLP on a maas dataset.

    torch_mlp.py DATASET [--epochs N] [--batch B] [--lr LR] [--hidden 256,128]
                 [--threads T] [--seed S] [--foreach]

Trains nn.Sequential(Linear, ReLU, ..., Linear) with softmax cross-entropy
and Adam (PyTorch's defaults apart from the learning rate) on DATASET's
train.x / train.y, as maas-train does, in the fastest loop PyTorch offers on
the CPU: the whole split as one tensor, a fresh permutation each epoch,
batches cut by indexing (no DataLoader), zero_grad(set_to_none=True), and
with --foreach Adam's multi-tensor update (much faster here than the
default per-tensor one).

--threads T calls torch.set_num_threads(T); 0 (the default) leaves PyTorch
as installed.  OpenBLAS is configured by the environment the caller sets
(OPENBLAS_CORETYPE, OPENBLAS_NUM_THREADS) before the process starts.

Prints one JSON line per epoch, {"epoch", "seconds", "train_loss"}, where
seconds is the wall time of that epoch's training pass alone, then one line
{"median_seconds", "test_accuracy", "torch_threads", ...}.
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stload import load  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--hidden", default="256,128")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--foreach", action="store_true",
                    help="Adam's multi-tensor update (foreach=True)")
    a = ap.parse_args()

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    t, _ = load(a.dataset, {"train.x", "train.y", "test.x", "test.y"})
    x = torch.from_numpy(t["train.x"])
    y = torch.from_numpy(t["train.y"])
    n, d = x.shape
    k = int(max(t["train.y"].max(), t["test.y"].max())) + 1

    layers, width = [], d
    for h in (int(s) for s in a.hidden.split(",") if s):
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        width = h
    layers.append(torch.nn.Linear(width, k))
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, foreach=a.foreach or None)
    lossf = torch.nn.CrossEntropyLoss()

    times = []
    for epoch in range(1, a.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        total = torch.zeros(())
        for i in range(0, n, a.batch):
            idx = perm[i:i + a.batch]
            out = model(x[idx])
            loss = lossf(out, y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * len(idx)
        dt = time.perf_counter() - t0
        times.append(dt)
        print(json.dumps({"epoch": epoch, "seconds": round(dt, 4),
                          "train_loss": round(float(total) / n, 5)}), flush=True)

    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(t["test.x"])).argmax(1).numpy()
    acc = float(np.mean(pred == t["test.y"]))
    print(json.dumps({"median_seconds": round(statistics.median(times), 4),
                      "test_accuracy": round(acc, 4),
                      "torch_threads": torch.get_num_threads(),
                      "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
