#!/usr/bin/env python3
"""Interleaved measurements for bench/versus.sh: every case runs once per round, in the same
order, so slow drift of the machine (other load, CPU frequency, page cache) lands on all cases
alike (A B A B, not A A B B). Results go to a JSON file as {case: [sample, ...]}, and ratios are
taken pair by pair (sample i of A over sample i of B).

  pairs.py latency OUT RUNS NAME=CMD...        wall time of CMD (ms), stdout discarded
  pairs.py throughput OUT RUNS BYTES NAME=CMD...  MB/s of BYTES zeros piped into CMD
  pairs.py report OUT                          prints the JSON's medians (for a quick look)

CMD is a shell command line (run by bash -c, for all cases alike).
"""
import json
import os
import statistics
import subprocess
import sys
import time


def load(path):
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return {}


def save(path, data):
    with open(path, "w") as f:
        json.dump(data, f, indent=1)


def cases(args):
    out = []
    for arg in args:
        name, _, cmd = arg.partition("=")
        out.append((name, cmd))
    return out


def run_latency(cmd):
    t = time.perf_counter()
    subprocess.run(["bash", "-c", cmd], check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - t) * 1000


def run_throughput(cmd, n):
    t = time.perf_counter()
    subprocess.run(["bash", "-c", f"head -c {n} /dev/zero | {cmd}"], check=True)
    return n / (time.perf_counter() - t) / 1e6


def main():
    mode, path = sys.argv[1], sys.argv[2]
    data = load(path)
    if mode == "latency":
        runs, todo = int(sys.argv[3]), cases(sys.argv[4:])
        measure = run_latency
        args = ()
    elif mode == "throughput":
        runs, n, todo = int(sys.argv[3]), int(sys.argv[4]), cases(sys.argv[5:])
        measure = run_throughput
        args = (n,)
    elif mode == "report":
        for name, samples in data.items():
            print(f"{name}: median {statistics.median(samples):.1f} over {len(samples)}")
        return
    else:
        sys.exit(f"unknown mode {mode}")
    for name, _ in todo:
        data[name] = []
    for _ in range(runs):
        for name, cmd in todo:
            data[name].append(measure(cmd, *args))
    save(path, data)


if __name__ == "__main__":
    main()
