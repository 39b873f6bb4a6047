"""coldstart_time.py - how long a server takes from exec to ready, for bench/serve-coldstart.

    python3 coldstart_time.py [--runs N] [--drop-caches] [--label TEXT] -- COMMAND ...

Starts COMMAND RUNS times, one at a time; each run is timed from just
before the fork/exec to the moment its first stdout line starting with
"listening on" arrives (the line maas-serve prints when it is ready), then
the server gets SIGTERM.  Its stderr is kept: with maas-serve -v, the
"loaded ..." and "ready ..." lines say where the time went, and the last
run's are printed.  --drop-caches writes 3 to /proc/sys/vm/drop_caches
(root only; it empties the page cache of the whole machine) before each
run, for cold-cache figures.

Prints one line per run and a summary line:
    LABEL: min 81.2 ms, median 84.0 ms, max 90.3 ms over 10 runs; the load alone (-v): median 67.0 ms
(the load from maas-serve -v's "loaded ... in N ms" lines, summed over the
models) and, last, the median alone on a line "median_ms 84.0" for the caller.
"""
import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import time


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def one_run(cmd, timeout):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready = None
    deadline = t0 + timeout
    while time.perf_counter() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        if line.startswith("listening on"):
            ready = (time.perf_counter() - t0) * 1e3
            break
    p.send_signal(signal.SIGTERM)
    try:
        _, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
    if ready is None:
        sys.exit("coldstart_time: %s never said 'listening on'; its stderr:\n%s" % (cmd[0], err))
    return ready, err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--drop-caches", action="store_true")
    ap.add_argument("--label", default="ready")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("cmd", nargs="+")
    a = ap.parse_args()

    times, loads, err = [], [], ""
    for i in range(a.runs):
        if a.drop_caches:
            drop_caches()
        ms, err = one_run(a.cmd, a.timeout)
        times.append(ms)
        said = re.search(r"ready ([0-9.]+) ms after start", err)
        load = [float(x) for x in re.findall(r": loaded '.*' in ([0-9.]+) ms", err)]
        if load:
            loads.append(sum(load))
        print("  run %2d: %7.1f ms%s%s" % (i + 1, ms, "  load %.1f ms" % sum(load) if load else "",
                                           "  (ready %s ms after main began)" % said.group(1) if said else ""))
    for line in err.splitlines():
        if re.search(r": loaded '|: ready ", line):
            print("  last run said: " + line)
    print("%s: min %.1f ms, median %.1f ms, max %.1f ms over %d runs%s" % (
        a.label, min(times), statistics.median(times), max(times), len(times),
        "; the load alone (-v): median %.1f ms" % statistics.median(loads) if loads else ""))
    print("median_ms %.1f" % statistics.median(times))


if __name__ == "__main__":
    main()
