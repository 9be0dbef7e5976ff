"""Forecast accuracy, measured: fits the first 20/40/60% of many loss curves
through the real server (GET /api/v1/runs/{id}/diagnosis) and compares the
forecasts with what happened at the end of each curve.

Curves: generated power laws with offset (random a, b, c, length, noise,
spikes, step-time jitter and, for some, a mid-run slowdown), and real
training curves of small PyTorch models on the digits data set
(digits_curves.py; pass --digits FILE, or it is generated, which takes a few
minutes on CPU).

What happened at the end: for generated curves the noise-free value at
the last step; for real curves the smoothed loss there, a Theil–Sen line
through the last 10% of the steps evaluated at the last step (a single
step's minibatch loss is noise, and a plain median of the last steps lags
a curve that still falls).

Printed per source and fraction:
  final   median / p90 |relative error| of the predicted loss at the last step
  band    coverage: the fraction of curves whose final loss lies in the band
  width   median band width (high − low) relative to the final loss
  target  median |relative error| of the step predicted for the target loss
          (the loss the curve actually had at 90% of its steps)
  eta     median / p90 |relative error| of the predicted time remaining

    /usr/bin/python3 bench/forecast/run.py [--curves 150] [--digits FILE]
        [--digits-seeds 2] [--digits-first-seed 0]

The binary is $VIGIL_BIN, else build/release/vigil.
"""

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))

from vigil_server import Server  # noqa: E402

FRACTIONS = (0.2, 0.4, 0.6)


def generated_curves(n, seed):
    rng = random.Random(seed)
    curves = []
    for i in range(n):
        a = rng.uniform(0.5, 5.0)
        b = rng.uniform(0.15, 1.0)
        c = rng.uniform(0.05, 1.5)
        length = rng.choice([2000, 5000, 20000])
        noise = rng.uniform(0.005, 0.05)
        dt = rng.uniform(50, 500)
        slowdown = rng.random() < 0.2
        t = 1_700_000_000_000
        steps, times, loss = [], [], []
        for s in range(length):
            v = a * (s + 1) ** -b + c
            v *= 1 + rng.gauss(0, noise)
            if rng.random() < 0.001:
                v *= rng.uniform(2, 5)  # a spike
            steps.append(s)
            times.append(int(t))
            loss.append(v)
            step_dt = dt * (1.3 if slowdown and s > length // 2 else 1.0)
            t += step_dt * rng.uniform(0.8, 1.2)
        truth = lambda s, a=a, b=b, c=c: a * (s + 1) ** -b + c  # noqa: E731
        curves.append({"name": f"gen-{i}", "steps": steps, "times_ms": times, "loss": loss,
                       "truth": truth, "slowdown": slowdown})
    return curves


def rolling_median(values, half):
    out = []
    for i in range(len(values)):
        lo, hi = max(0, i - half), min(len(values), i + half + 1)
        out.append(statistics.median(values[lo:hi]))
    return out


def smoothed_end(values, fraction=0.1):
    """The Theil–Sen line through the last `fraction` of the values (at
    least 10), evaluated at the last index."""
    k = max(10, int(fraction * len(values)))
    x0 = len(values) - k
    ys = values[-k:]
    slopes = [(ys[j] - ys[i]) / (j - i) for i in range(k) for j in range(i + 1, k)]
    slope = statistics.median(slopes)
    intercept = statistics.median(y - slope * (x0 + i) for i, y in enumerate(ys))
    return intercept + slope * (len(values) - 1)


def outcome(curve):
    """What happened: final loss, target (the loss at 90%) and its step."""
    n = len(curve["loss"])
    last = n - 1
    if "truth" in curve:
        final = curve["truth"](last)
        target_step = int(0.9 * last)
        target = curve["truth"](target_step)
    else:
        smooth = rolling_median(curve["loss"], max(5, n // 100))
        final = smoothed_end(curve["loss"])
        target = smooth[int(0.9 * last)]
        target_step = next(i for i, v in enumerate(smooth) if v <= target)
    return final, target, target_step


def post(client, run, curve, lo, hi):
    body = {"series": [{"metric": "train/loss", "labels": {},
                        "steps": curve["steps"][lo:hi], "times": curve["times_ms"][lo:hi],
                        "values": curve["loss"][lo:hi]}]}
    client.log(run, body)


def evaluate(client, curves, results, source):
    for curve in curves:
        n = len(curve["loss"])
        final, target, target_step = outcome(curve)
        run = client.create_run("forecast-bench", name=curve["name"],
                                config={"max_steps": n - 1})["id"]
        done = 0
        for frac in FRACTIONS:
            upto = int(frac * n)
            post(client, run, curve, done, upto)
            done = upto
            d = client.request("GET", f"/api/v1/runs/{run}/diagnosis",
                               query={"target": repr(target)})
            f = d["forecast"]
            r = {"source": source, "frac": frac}
            loss = f.get("loss")
            if loss and loss.get("final"):
                band = loss["final"]
                r["final_err"] = abs(band["mid"] - final) / abs(final)
                lo_b = band["low"] if band["low"] is not None else -math.inf
                hi_b = band["high"] if band["high"] is not None else math.inf
                r["in_band"] = lo_b <= final <= hi_b
                r["width"] = (hi_b - lo_b) / abs(final)
                tgt = loss.get("target") or {}
                if tgt.get("step"):
                    r["target_err"] = abs(tgt["step"]["mid"] - target_step) / target_step
                elif tgt.get("reached_step") is not None:
                    r["target_err"] = abs(tgt["reached_step"] - target_step) / target_step
                else:
                    r["target_err"] = math.inf  # said unreachable
            if f.get("seconds_remaining") is not None:
                true_remaining = (curve["times_ms"][-1] - curve["times_ms"][upto - 1]) / 1000
                r["eta_err"] = abs(f["seconds_remaining"] - true_remaining) / true_remaining
            results.append(r)


def pct(xs, q):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def report(results):
    print(f"{'source':<10} {'fit':>4} {'n':>4} {'final med':>9} {'final p90':>9} {'band':>6} "
          f"{'width':>7} {'target med':>10} {'eta med':>8} {'eta p90':>8}")
    for source in sorted({r["source"] for r in results}):
        for frac in FRACTIONS:
            rs = [r for r in results if r["source"] == source and r["frac"] == frac]
            fe = [r["final_err"] for r in rs if "final_err" in r]
            band = [r["in_band"] for r in rs if "in_band" in r]
            te = [r["target_err"] for r in rs if "target_err" in r]
            ee = [r["eta_err"] for r in rs if "eta_err" in r]
            wd = [r["width"] for r in rs if "width" in r]
            print(f"{source:<10} {int(frac * 100):>3}% {len(rs):>4} {pct(fe, .5):>9.2%} "
                  f"{pct(fe, .9):>9.2%} {sum(band) / max(1, len(band)):>6.0%} "
                  f"{pct(wd, .5):>7.1%} {pct(te, .5):>10.1%} {pct(ee, .5):>8.1%} "
                  f"{pct(ee, .9):>8.1%}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--curves", type=int, default=150)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--digits", help="curves from digits_curves.py (generated when absent)")
    ap.add_argument("--digits-seeds", type=int, default=2)
    ap.add_argument("--digits-first-seed", type=int, default=0)
    ap.add_argument("--no-digits", action="store_true")
    args = ap.parse_args()
    digits = []
    if not args.no_digits:
        path = args.digits
        if not path:
            path = os.path.join(tempfile.mkdtemp(), "digits.json")
            subprocess.run(["/usr/bin/python3", os.path.join(HERE, "digits_curves.py"),
                            "--out", path, "--seeds", str(args.digits_seeds),
                            "--first-seed", str(args.digits_first_seed)], check=True)
        with open(path) as f:
            digits = json.load(f)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        with Server(os.path.join(tmp, "data"), "--fsync", "off") as server:
            client = server.client()
            evaluate(client, generated_curves(args.curves, args.seed), results, "generated")
            evaluate(client, digits, results, "digits")
    report(results)


if __name__ == "__main__":
    main()
