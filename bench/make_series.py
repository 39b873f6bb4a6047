#!/usr/bin/python3
"""make_series.py - the time series of bench/train-speed's GRU benchmark.

    make_series.py [--windows 50000] [--window 32] [--seed 1] -o FILE.csv

Writes a CSV with a header "date,value" and one row a day from 1850-01-01:
value = 10 + 3 sin(2 pi t / 365.25) + 1.5 sin(2 pi t / 30.4 + 0.7)
+ 0.8 sin(2 pi t / 7 + 1.3) + noise, the noise normal with standard
deviation 0.5 (so no model's RMSE goes much below 0.5), from numpy's
default_rng(seed).  It has enough rows that maas-prep's default split by
time (0.8, 0.1, 0.1) gives --windows training windows of length --window
with a horizon of 1: the training split of r rows holds r - window of them.
"""
import argparse
import datetime
import math

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--windows", type=int, default=50000)
    ap.add_argument("--window", type=int, default=32)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()

    rows = int(math.ceil((a.windows + a.window) / 0.8))
    rng = np.random.default_rng(a.seed)
    t = np.arange(rows, dtype=np.float64)
    v = (10 + 3 * np.sin(2 * np.pi * t / 365.25) + 1.5 * np.sin(2 * np.pi * t / 30.4 + 0.7)
         + 0.8 * np.sin(2 * np.pi * t / 7 + 1.3) + rng.normal(0, 0.5, rows))
    day0 = datetime.date(1850, 1, 1).toordinal()
    with open(a.output, "w") as f:
        f.write("date,value\n")
        f.writelines("%s,%.4f\n" % (datetime.date.fromordinal(day0 + i).isoformat(), v[i])
                     for i in range(rows))


if __name__ == "__main__":
    main()
