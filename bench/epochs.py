#!/usr/bin/python3
"""epochs.py - median epoch time from a trainer's JSON lines, for bench/train-speed.

    epochs.py FILE

FILE holds one JSON object per line, as maas-train and the bench's Python
trainers print them; the lines with an "epoch" key are the epochs.  An
epoch's time is its "epoch_seconds" when present, else its "seconds": when
those only grow, and the last is more than 1.5 times the first over at
least two epochs, they are read as seconds since training started (as in
a bundle's metrics.jsonl) and differenced.  Without either key,
"samples_per_s" (or "samples/s") and "samples" give it.

Prints "MEDIAN EPOCHS HOW" (HOW: epoch, cumulative or rate), or "- 0 none"
when FILE holds no timed epoch.
"""
import json
import statistics
import sys


def main():
    rows = []
    with open(sys.argv[1], errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                o = json.loads(line)
            except ValueError:
                continue
            if isinstance(o, dict) and "epoch" in o:
                rows.append(o)
    how = "epoch"
    if rows and all("epoch_seconds" in o for o in rows):
        times = [float(o["epoch_seconds"]) for o in rows]
    elif rows and all("seconds" in o for o in rows):
        times = [float(o["seconds"]) for o in rows]
        grows = all(b > a for a, b in zip(times, times[1:]))
        if len(times) >= 2 and grows and times[-1] > 1.5 * times[0]:
            times = [b - a for a, b in zip([0.0] + times, times)]
            how = "cumulative"
    else:
        times, how = [], "rate"
        for o in rows:
            rate = o.get("samples_per_s", o.get("samples/s"))
            if rate and "samples" in o:
                times.append(float(o["samples"]) / float(rate))
    if not times:
        print("- 0 none")
    else:
        print("%.4f %d %s" % (statistics.median(times), len(times), how))


if __name__ == "__main__":
    main()
