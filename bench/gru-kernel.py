#!/usr/bin/python3
"""bench/gru-kernel.py - one recurrent layer's forward+backward: maas beside PyTorch.

  bench/gru-kernel.py                 (from the top of the tree)

Builds lib/libmaas.a and the C driver bench/gru-kernel.c, runs it, then
times PyTorch on the same shape in a child process, and prints both lines
and the ratio of the medians.  The default shape is the maas-train GRU
benchmark: batch 64, windows of 32 steps, 1 input feature, 64 hidden
units, 50,000 windows (782 batches an epoch); the loss sees the last step
only (many-to-one), as in maas-train.  Each side times
  forward; backward of sum(out[:, -1])   (torch: zero_grad, net(x), backward)
with one OpenBLAS thread, PyTorch in its fastest configuration here: one
intra-op thread, OPENBLAS_NUM_THREADS=1 and, on a CPU with AVX-512,
OPENBLAS_CORETYPE=SkylakeX (unless the environment already sets them).

Times are this thread's CPU time (with one thread all work runs in it), so
that a busy machine disturbs them less; -w measures wall time.

Options: --cell gru|lstm|rnn, -B -T -C -H (shape), --reps N, -w,
--torch-only (just PyTorch, in this process), --threads N (torch intra-op
threads with --torch-only).

  torch gru B=64 T=32 C=1 H=64 threads=1, cpu time: fwd+bwd 6.509 ms/batch (median of 200, best 5.444), 5.09 s/epoch-equivalent (782 batches)
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def torch_time(a):
    import torch
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    mod = {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM, "rnn": torch.nn.RNN}[a.cell]
    net = mod(a.C, a.H, batch_first=True)
    x = torch.randn(a.B, a.T, a.C)
    clock = time.perf_counter if a.w or a.threads > 1 else time.thread_time
    times = []
    for i in range(a.reps + 20):
        t0 = clock()
        net.zero_grad(set_to_none=False)
        out, _ = net(x)
        out[:, -1].sum().backward()
        t1 = clock()
        if i >= 20:
            times.append(t1 - t0)
    med = statistics.median(times)
    print("torch %s B=%d T=%d C=%d H=%d threads=%d, %s time: fwd+bwd %.3f ms/batch "
          "(median of %d, best %.3f), %.2f s/epoch-equivalent (782 batches)"
          % (a.cell, a.B, a.T, a.C, a.H, a.threads, "wall" if clock is time.perf_counter else "cpu",
             med * 1e3, a.reps, min(times) * 1e3, med * 782), flush=True)


def median_of(line):
    return float(line.split("fwd+bwd ")[1].split(" ms")[0])


def side_by_side(a):
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    os.chdir(top)
    subprocess.run(["make", "--no-print-directory", "lib/libmaas.a"], check=True,
                   stdout=subprocess.DEVNULL)
    tmp = tempfile.mkdtemp(prefix="maas-gru-kernel.")
    try:
        drv = os.path.join(tmp, "gru-kernel")
        pkgs = subprocess.run(["pkg-config", "--libs", "jansson", "libarchive", "libcrypto", "zlib"],
                              capture_output=True, text=True).stdout.split()
        subprocess.run([os.environ.get("CC", "cc"), "-std=c11", "-D_GNU_SOURCE", "-O2", "-Ilib",
                        "bench/gru-kernel.c", "lib/libmaas.a"] + pkgs + ["-lm", "-lpthread", "-o", drv],
                       check=True)
        shape = ["-B", str(a.B), "-T", str(a.T), "-C", str(a.C), "-H", str(a.H)]
        mine = subprocess.run([drv, "-c", a.cell, "-n", str(max(a.reps, 300))] + shape +
                              (["-w"] if a.w else []), capture_output=True, text=True, check=True).stdout
        print(mine, end="", flush=True)
        env = dict(os.environ)
        env.setdefault("OPENBLAS_NUM_THREADS", "1")
        with open("/proc/cpuinfo") as f:
            if " avx512f" in f.read():
                env.setdefault("OPENBLAS_CORETYPE", "SkylakeX")
        theirs = subprocess.run(["/usr/bin/python3", os.path.abspath(__file__), "--torch-only",
                                 "--cell", a.cell, "--reps", str(a.reps)] + shape +
                                (["-w"] if a.w else []), env=env, capture_output=True, text=True,
                                check=True).stdout
        print(theirs, end="")
        m = [ln for ln in mine.splitlines() if ln.startswith("maas ")][0]
        print("ratio maas/torch (medians): %.2f  (torch with OPENBLAS_CORETYPE=%s OPENBLAS_NUM_THREADS=%s)"
              % (median_of(m) / median_of(theirs), env.get("OPENBLAS_CORETYPE", "(unset)"),
                 env["OPENBLAS_NUM_THREADS"]))
    finally:
        shutil.rmtree(tmp)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--cell", default="gru", choices=["gru", "lstm", "rnn"])
    ap.add_argument("-B", type=int, default=64)
    ap.add_argument("-T", type=int, default=32)
    ap.add_argument("-C", type=int, default=1)
    ap.add_argument("-H", type=int, default=64)
    ap.add_argument("-w", action="store_true", help="wall time instead of this thread's CPU time")
    ap.add_argument("--torch-only", action="store_true")
    a = ap.parse_args()
    if a.torch_only:
        torch_time(a)
    else:
        side_by_side(a)


if __name__ == "__main__":
    sys.exit(main())
