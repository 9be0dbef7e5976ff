#!/usr/bin/env python3
"""Cost of `run.log` on the caller's thread (PRODUCT.md bar: <= 2 us mean
for a 4-metric dict), printed beside the cost of a bare `dict(d)` copy
measured in the same process, with a real `vigil serve` receiving the
batches in the background.

    python3 bench/sdk/python_log_bench.py                 # starts its own server
    python3 bench/sdk/python_log_bench.py --server URL    # uses a running one
    VIGIL_BIN=build/h-python/vigil python3 bench/sdk/python_log_bench.py

Figures:
  wall     perf_counter_ns around each call: mean and p99 per call, over
           rounds of --calls calls; between rounds run.flush() lets the
           background deliver, so the buffer bound (200,000 rows) never makes
           log() wait. The background threads run during the rounds and take
           the GIL in the middle of some calls, which the wall mean includes.
  thread   time.thread_time_ns over a round divided by its calls: CPU time of
           the caller's thread alone per call (the bar's "on the caller's
           thread").
  pipeline calls / (time of --sustained back-to-back calls + the final
           flush): the sustained end-to-end rate, bound by the background's
           columnarising and JSON encoding (log() waits when 200,000 rows are
           queued).
The loop overhead (an empty call) is measured and subtracted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "python"))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

import vigil  # noqa: E402


def measure(fn, arg, n):
    """(per-call wall ns list, thread-CPU ns per call) for fn(arg) n times."""
    pc = time.perf_counter_ns
    samples = [0] * n
    t0 = time.thread_time_ns()
    for i in range(n):
        a = pc()
        fn(arg)
        samples[i] = pc() - a
    cpu = (time.thread_time_ns() - t0) / n
    return samples, cpu


def summarize(samples):
    s = sorted(samples)
    return statistics.fmean(s), s[int(len(s) * 0.99)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", help="URL of a running vigil server (default: start one)")
    ap.add_argument("--calls", type=int, default=50_000, help="calls per round")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--sustained", type=int, default=500_000)
    args = ap.parse_args()

    server = None
    tmp = tempfile.TemporaryDirectory(prefix="vigil-bench-")
    url = args.server
    if url is None:
        from vigil_server import Server

        server = Server(os.path.join(tmp.name, "data")).start()
        url = f"http://127.0.0.1:{server.port}"
    os.environ.setdefault("VIGIL_SPOOL_DIR", os.path.join(tmp.name, "spool"))
    os.environ.setdefault("VIGIL_QUIET", "1")

    run = vigil.init(project="bench", name="python-log", server=url, system_metrics=False)
    d = {"train/loss": 0.5, "train/acc": 0.9, "train/lr": 1e-3, "train/grad_norm": 1.25}
    log = run.log

    def noop(x):
        return None

    results = {"log": [], "dict": [], "noop": []}
    for _ in range(args.rounds):
        for name, fn in (("noop", noop), ("dict", dict), ("log", log)):
            results[name].append(measure(fn, d, args.calls))
            run.flush()
    t0 = time.perf_counter()
    for _ in range(args.sustained):
        log(d)
    run.flush()
    sustained_us = (time.perf_counter() - t0) / args.sustained * 1e6
    t0 = time.perf_counter()
    run.finish()
    finish_s = time.perf_counter() - t0
    points = (args.calls * args.rounds + args.sustained) * 4

    def best(name):
        # The round with the lowest mean wall time (least disturbed).
        rounds = [(summarize(s), cpu) for s, cpu in results[name]]
        return min(rounds, key=lambda r: r[0][0])

    (noop_mean, noop_p99), noop_cpu = best("noop")
    print(f"python {sys.version.split()[0]}, {args.rounds} rounds x {args.calls} calls, "
          f"4-metric dict, server {url}, load average {os.getloadavg()[0]:.1f}")
    print(f"{'operation':<12}{'wall mean us':>14}{'wall p99 us':>13}{'thread us':>11}")
    for name in ("dict", "log"):
        (mean, p99), cpu = best(name)
        print(f"{'run.log' if name == 'log' else 'dict(d)':<12}"
              f"{(mean - noop_mean) / 1000:>14.3f}{(p99 - noop_p99) / 1000:>13.3f}"
              f"{(cpu - noop_cpu) / 1000:>11.3f}")
    (lm, _), lcpu = best("log")
    (dm, _), dcpu = best("dict")
    print(f"run.log - dict(d): wall {(lm - dm) / 1000:.3f} us, thread {(lcpu - dcpu) / 1000:.3f} us;"
          f" bar: run.log mean <= 2 us on the caller's thread")
    print(f"pipeline: {args.sustained} back-to-back calls delivered at {sustained_us:.2f} us/call "
          f"end to end")
    print(f"finish() took {finish_s:.2f} s")
    if server is not None:
        c = server.client()
        info = c.request("GET", f"/api/v1/runs/{run.id}")
        stored = sum(m["count"] for m in info["metrics"])
        c.close()
        print(f"server stored {stored} of {points} points")
        server.stop()
    tmp.cleanup()


if __name__ == "__main__":
    main()
