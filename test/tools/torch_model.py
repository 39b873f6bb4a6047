#!/usr/bin/python3
"""torch_model.py - redo a maas model's forward and backward in PyTorch.

    /usr/bin/python3 test/tools/torch_model.py CASE.json...

CASE.json (written by test/unit/test_model.c and test_model_rnn.c) holds
an architecture string, the input x, the targets y, the loss and its
options, and maas's parameters with their names and shapes, its logits,
its loss and its gradients.  This script builds the same network from
torch.nn modules, so that its state_dict names are exactly maas's
(load_state_dict(strict=True) checks the naming), loads maas's weights,
runs forward and backward in float32 and compares logits, loss and every
gradient.  Tolerance: 1e-5 relative, per tensor (the largest difference
over the tensor's largest magnitude).  Prints one line per comparison,
then "result CASE.json ok" (or "fail") for each case, and exits 0 when
all agree, 1 otherwise, 2 on a malformed case.
"""
import json
import sys

import torch
from torch import nn

RTOL = 1e-5
PRESETS = {
    "linear": "",
    "mlp": "dense:256,relu,dense:128,relu",
    "resmlp": "res:256x2",
    "rnn": "rnn:64",
    "gru": "gru:64",
    "lstm": "lstm:64",
}


class Residual(nn.Module):
    """Pre-norm block: x + fc2(gelu(fc1(norm(x))))."""

    def __init__(self, n):
        super().__init__()
        self.norm = nn.LayerNorm(n)
        self.fc1 = nn.Linear(n, n)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(n, n)

    def forward(self, x):
        return x + self.fc2(self.act(self.fc1(self.norm(x))))


def recurrent(base):
    """base (nn.RNN, nn.GRU, nn.LSTM) batch-first, passing all steps or the last."""

    class Layer(base):
        def __init__(self, c, h, k, seq):
            super().__init__(c, h, num_layers=k, batch_first=True)
            self.seq = seq

        def forward(self, x):
            out = super().forward(x)[0]
            return out if self.seq else out[:, -1, :]

    return Layer


CELLS = {"rnn": recurrent(nn.RNN), "gru": recurrent(nn.GRU), "lstm": recurrent(nn.LSTM)}
ACTS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid,
        "dropout": None}


def build(arch, width, out):
    arch = PRESETS.get(arch.strip(), arch)
    words = [w.strip() for w in arch.split(",")] if arch else []
    layers = []
    for i, w in enumerate(words):
        name, _, arg = w.partition(":")
        if name == "dense":
            layers.append(nn.Linear(width, int(arg)))
            width = int(arg)
        elif name == "layernorm":
            layers.append(nn.LayerNorm(width))
        elif name in ACTS:
            if ACTS[name] is None:
                raise SystemExit("torch_model: dropout cannot be compared (random masks)")
            layers.append(ACTS[name]())
        elif name == "res":
            n, _, k = arg.partition("x")
            n, k = int(n), int(k or 1)
            if n != width:
                layers.append(nn.Linear(width, n))
            layers.extend(Residual(n) for _ in range(k))
            width = n
        elif name in CELLS:
            n, _, k = arg.partition("x")
            nxt = words[i + 1].partition(":")[0] if i + 1 < len(words) else ""
            layers.append(CELLS[name](width, int(n), int(k or 1), nxt in CELLS))
            width = int(n)
        else:
            raise SystemExit("torch_model: unknown layer '%s'" % w)
    layers.append(nn.Linear(width, out))
    return nn.Sequential(*layers)


def compare(what, ours, ref):
    ours = torch.as_tensor(ours, dtype=torch.float64).reshape(-1)
    ref = ref.detach().to(torch.float64).reshape(-1)
    scale = max(ref.abs().max().item(), 1e-6) if ref.numel() else 1.0
    diff = (ours - ref).abs().max().item() if ref.numel() else 0.0
    good = diff <= RTOL * scale and ours.numel() == ref.numel()
    print("  %s %s: max diff %.3g of %.3g" % ("ok" if good else "FAIL", what, diff, scale))
    return good


def check(path):
    with open(path) as f:
        case = json.load(f)
    torch.manual_seed(0)
    B, T, d, K = case["B"], case["T"], case["in"], case["out"]
    model = build(case["arch"], d, K)
    state = {}
    for name, t in case["params"].items():
        state[name] = torch.tensor(t["value"], dtype=torch.float32).reshape(t["shape"])
    model.load_state_dict(state, strict=True)   # the names must match exactly
    model.train()

    x = torch.tensor(case["x"], dtype=torch.float32)
    x = x.reshape(B, T, d) if T else x.reshape(B, d)
    logits = model(x)
    y = case["y"]
    kind = case["loss"]
    if kind == "cross-entropy":
        w = case.get("class_weight")
        fn = nn.CrossEntropyLoss(weight=torch.tensor(w, dtype=torch.float32) if w else None,
                                 label_smoothing=case["smoothing"])
        loss = fn(logits, torch.tensor(y, dtype=torch.int64))
    elif kind == "bce":
        loss = nn.BCEWithLogitsLoss()(logits, torch.tensor(y, dtype=torch.float32).reshape(B, 1))
    else:
        fn = {"mse": nn.MSELoss(), "mae": nn.L1Loss(),
              "huber": nn.HuberLoss(delta=case["delta"])}[kind]
        loss = fn(logits, torch.tensor(y, dtype=torch.float32).reshape(B, K))
    loss.backward()

    print("%s with %s:" % (case["arch"], kind))
    good = compare("logits", case["logits"], logits)
    good &= compare("loss", [case["loss_value"]], loss)
    for name, p in model.named_parameters():
        good &= compare("grad " + name, case["params"][name]["grad"], p.grad)
    return good


def main():
    if len(sys.argv) < 2:
        print("usage: torch_model.py CASE.json...", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    status = 0
    for path in sys.argv[1:]:
        good = check(path)
        print("result %s %s" % (path, "ok" if good else "fail"))
        status = status or (0 if good else 1)
    return status


if __name__ == "__main__":
    sys.exit(main())
