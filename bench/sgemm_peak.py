#!/usr/bin/python3
"""sgemm_peak.py - measure single-precision GEMM speed, the bench's reference peak.

    sgemm_peak.py [--n 1024] [--seconds 1] [--threads T]

Times torch.matmul of two n x n float32 matrices (2 n^3 flops each) for
about --seconds after a warm-up, in 5 rounds, and prints one JSON line
{"gflops" (best round), "gflops_median", "n", "core", "blas_threads",
"torch_threads"}, where core is the kernel set OpenBLAS chose
(openblas_get_corename) under the caller's OPENBLAS_CORETYPE and
OPENBLAS_NUM_THREADS.
"""
import argparse
import ctypes
import json
import statistics
import time

import torch


def openblas():
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode(), int(lib.openblas_get_num_threads())
    except (OSError, AttributeError):
        return "unknown", 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    n = a.n
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, n, generator=g)
    y = torch.randn(n, n, generator=g)
    out = torch.empty(n, n)
    torch.matmul(x, y, out=out)
    t0 = time.perf_counter()
    torch.matmul(x, y, out=out)
    one = max(time.perf_counter() - t0, 1e-6)
    reps = max(1, int(a.seconds / 5 / one))
    rates = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(reps):
            torch.matmul(x, y, out=out)
        dt = time.perf_counter() - t0
        rates.append(2.0 * n ** 3 * reps / dt / 1e9)
    core, threads = openblas()
    print(json.dumps({"gflops": round(max(rates), 1), "gflops_median": round(statistics.median(rates), 1),
                      "n": n, "core": core, "blas_threads": threads,
                      "torch_threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
