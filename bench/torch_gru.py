#!/usr/bin/python3
"""torch_gru.py - the PyTorch side of bench/train-speed's recurrent row.

    torch_gru.py DATASET [--epochs N] [--batch B] [--lr LR] [--hidden H]
                 [--clip C] [--threads T] [--seed S] [--foreach]

A many-to-one GRU as maas-train's gru:H builds it: nn.GRU(d, H,
batch_first=True), its last hidden state into nn.Linear(H, 1), on the
windows of a maas regression dataset (train.x [n, T, d], train.y [n]).
The target is standard-scaled with the spec's target.mean / target.std
for training, MSE loss, Adam (PyTorch's defaults apart from the learning
rate; --foreach: its multi-tensor update), gradients clipped to global
norm C (default 1, as maas-train's default for recurrent networks; 0 turns
it off), shuffled batches cut by indexing (no DataLoader).

--threads T calls torch.set_num_threads(T); 0 (the default) leaves PyTorch
as installed.  OpenBLAS is configured by the caller's environment.

Prints one JSON line per epoch, {"epoch", "seconds", "train_loss"} (seconds:
the training pass alone), then {"median_seconds", "test_rmse", "val_rmse",
...} with the RMSE in the target's own units.
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stload import load, spec  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402


class GRUNet(torch.nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.gru = torch.nn.GRU(d, hidden, batch_first=True)
        self.out = torch.nn.Linear(hidden, 1)

    def forward(self, x):
        _, h = self.gru(x)          # h: (1, B, H), the last step's state
        return self.out(h[-1]).squeeze(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--foreach", action="store_true",
                    help="Adam's multi-tensor update (foreach=True)")
    a = ap.parse_args()

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    t, meta = load(a.dataset)
    target = spec(meta)["target"]
    mean, std = float(target["mean"]), float(target["std"])
    x = torch.from_numpy(t["train.x"])
    y = torch.from_numpy(((t["train.y"] - mean) / std).astype(np.float32))
    n, _, d = x.shape

    model = GRUNet(d, a.hidden)
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=a.lr, foreach=a.foreach or None)
    lossf = torch.nn.MSELoss()

    times = []
    for epoch in range(1, a.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        total = torch.zeros(())
        for i in range(0, n, a.batch):
            idx = perm[i:i + a.batch]
            loss = lossf(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if a.clip > 0:
                torch.nn.utils.clip_grad_norm_(params, a.clip)
            opt.step()
            total += loss.detach() * len(idx)
        dt = time.perf_counter() - t0
        times.append(dt)
        print(json.dumps({"epoch": epoch, "seconds": round(dt, 4),
                          "train_loss": round(float(total) / n, 5)}), flush=True)

    model.eval()
    res = {"median_seconds": round(statistics.median(times), 4)}
    with torch.no_grad():
        for split in ("val", "test"):
            if split + ".x" not in t:
                continue
            p = model(torch.from_numpy(t[split + ".x"])).numpy().astype(np.float64) * std + mean
            err = p - t[split + ".y"].astype(np.float64)
            res[split + "_rmse"] = round(float(np.sqrt(np.mean(err * err))), 5)
    # the naive forecast (the last value of the window), for scale
    last = t["test.x"][:, -1, 0].astype(np.float64) * std + mean
    res["test_rmse_naive"] = round(float(np.sqrt(np.mean((last - t["test.y"]) ** 2))), 5)
    res["torch_threads"] = torch.get_num_threads()
    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
