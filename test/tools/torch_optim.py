#!/usr/bin/python3
"""torch_optim.py - PyTorch's optimizers, clipping and schedulers as reference.

    /usr/bin/python3 test/tools/torch_optim.py

Runs PyTorch (python3-torch) on the fixed problems that test/unit/test_optim.c
also builds, and prints one line per case, "NAME v1 v2 ...", each value the
exact float32/float64 result as repr() writes it:

  opt_<case>     the 37 parameters after 5 steps of the optimizer on
                 p0[i] = ((5i mod 13) - 6)/4 with gradients, at step t,
                 g = 0.5*p + c_t, c_t[i] = (((7i + 3t) mod 11) - 5)/8
  clip_<max>     the total norm, then the clipped gradients 3*c_0
  sched_<case>   the learning rate of each epoch (read before step())

Exits 1 (after a message on stderr) when torch cannot be imported; the C test
checks for torch first and skips.
"""
import sys
import warnings

warnings.filterwarnings("ignore")
try:
    import torch
except ImportError as e:
    print(f"torch_optim.py: {e}", file=sys.stderr)
    sys.exit(1)

N, STEPS = 37, 5
torch.set_num_threads(1)


def p0():
    return torch.tensor([((5 * i) % 13 - 6) / 4 for i in range(N)], dtype=torch.float32)


def c(t):
    return torch.tensor([(((7 * i + 3 * t) % 11) - 5) / 8 for i in range(N)], dtype=torch.float32)


def show(name, values):
    print(name, " ".join(repr(float(v)) for v in values))


OPTS = [
    ("sgd", lambda p: torch.optim.SGD([p], lr=0.1)),
    ("sgd_momentum", lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9)),
    ("sgd_nesterov_wd", lambda p: torch.optim.SGD([p], lr=0.05, momentum=0.9, nesterov=True,
                                                 weight_decay=0.01)),
    ("adam", lambda p: torch.optim.Adam([p], lr=0.01)),
    ("adam_wd", lambda p: torch.optim.Adam([p], lr=0.01, weight_decay=0.1)),
    ("adamw", lambda p: torch.optim.AdamW([p], lr=0.01)),
    ("adamw_betas", lambda p: torch.optim.AdamW([p], lr=0.01, betas=(0.8, 0.99), eps=1e-6,
                                                weight_decay=0.1)),
]

for name, make in OPTS:
    p = p0().requires_grad_(True)
    opt = make(p)
    for t in range(STEPS):
        with torch.no_grad():
            p.grad = p.detach() * 0.5 + c(t)
        opt.step()
    show("opt_" + name, p.detach())

for max_norm in (1.0, 100.0):
    p = torch.zeros(N, requires_grad=True)
    p.grad = c(0) * 3
    norm = torch.nn.utils.clip_grad_norm_([p], max_norm)
    show(f"clip_{max_norm:g}", [norm] + list(p.grad))


def lrs(make, epochs, metrics=None):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    sched = make(opt)
    out = []
    for e in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[e])
    return out


S = torch.optim.lr_scheduler
E = 12
show("sched_step", lrs(lambda o: S.StepLR(o, step_size=4, gamma=0.5), E))
show("sched_cosine", lrs(lambda o: S.CosineAnnealingLR(o, T_max=E, eta_min=0.001), E + 1))
show("sched_warm_cosine", lrs(lambda o: S.SequentialLR(o, [
    S.LinearLR(o, start_factor=1 / 3, end_factor=1.0, total_iters=2),
    S.CosineAnnealingLR(o, T_max=E - 3, eta_min=0.001)], milestones=[3]), E))
show("sched_warm_step", lrs(lambda o: S.SequentialLR(o, [
    S.LinearLR(o, start_factor=1 / 3, end_factor=1.0, total_iters=2),
    S.StepLR(o, step_size=4, gamma=0.5)], milestones=[3]), E))
LOSSES = [1.0, 0.9, 0.9, 0.95, 0.92, 0.89995, 0.91, 0.5, 0.6, 0.6, 0.6, 0.49996,
          0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
show("sched_plateau", lrs(lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=2, min_lr=0.02),
                          len(LOSSES), LOSSES))
ACCS = [0.5, 0.6, 0.6, 0.6, 0.60005, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]
show("sched_plateau_max", lrs(lambda o: S.ReduceLROnPlateau(o, mode="max", factor=0.1, patience=1),
                              len(ACCS), ACCS))
