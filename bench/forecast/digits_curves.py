"""Real learning curves for bench/forecast: small PyTorch models trained on
scikit-learn's digits data set (ships with sklearn, no download), on CPU.

Writes a JSON list of curves {"name", "steps", "times_ms", "loss"} where
loss is the training loss of each step and times_ms the wall clock at that
step: 16 configurations (MLPs of 16–512 hidden units, SGD with momentum and
Adam, constant learning rates, 1,000–2,500 steps) times --seeds runs each
(seeds first_seed, first_seed + 1, ...; a run is deterministic given its
seed). The wall-clock times are real, so they carry the machine's load.
Run with Debian's /usr/bin/python3 (python3-torch, python3-sklearn); 32
curves take about 4 minutes on one core.

    /usr/bin/python3 bench/forecast/digits_curves.py --out /tmp/digits.json [--seeds 2]
"""

import argparse
import json
import time

import torch
from sklearn.datasets import load_digits


def train(name, hidden, lr, batch, steps, seed, optimizer="sgd", wd=0.0):
    torch.manual_seed(seed)
    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x / 16.0, dtype=torch.float32)
    y = torch.tensor(y, dtype=torch.long)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10))
    if optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=wd)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=wd)
    loss_fn = torch.nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(seed)
    curve = {"name": name, "steps": [], "times_ms": [], "loss": []}
    n = x.shape[0]
    for step in range(steps):
        idx = torch.randint(0, n, (batch,), generator=g)
        loss = loss_fn(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        curve["steps"].append(step)
        curve["times_ms"].append(int(time.time() * 1000))
        curve["loss"].append(float(loss.item()))
    return curve


CONFIGS = [
    # name, hidden, lr, batch, steps, optimizer
    ("sgd-h32-lr0.01-b32", 32, 0.01, 32, 1500, "sgd"),
    ("sgd-h64-lr0.003-b64", 64, 0.003, 64, 1500, "sgd"),
    ("sgd-h128-lr0.001-b32", 128, 0.001, 32, 2000, "sgd"),
    ("sgd-h16-lr0.005-b16", 16, 0.005, 16, 2000, "sgd"),
    ("adam-h32-lr1e-4-b32", 32, 1e-4, 32, 1500, "adam"),
    ("adam-h64-lr3e-5-b64", 64, 3e-5, 64, 2000, "adam"),
    ("adam-h128-lr1e-4-b128", 128, 1e-4, 128, 1000, "adam"),
    ("sgd-h256-lr0.002-b128", 256, 0.002, 128, 1500, "sgd"),
    ("sgd-h48-lr0.02-b16", 48, 0.02, 16, 1500, "sgd"),
    ("sgd-h96-lr0.0005-b64", 96, 0.0005, 64, 2500, "sgd"),
    ("adam-h48-lr3e-4-b32", 48, 3e-4, 32, 1500, "adam"),
    ("adam-h256-lr2e-5-b64", 256, 2e-5, 64, 2000, "adam"),
    ("sgd-h24-lr0.004-b32", 24, 0.004, 32, 2000, "sgd"),
    ("adam-h16-lr1e-3-b16", 16, 1e-3, 16, 1200, "adam"),
    ("sgd-h512-lr0.001-b256", 512, 0.001, 256, 1200, "sgd"),
    ("adam-h64-lr5e-5-b32", 64, 5e-5, 32, 2500, "adam"),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seeds", type=int, default=2, help="runs per configuration")
    ap.add_argument("--first-seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    curves = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for name, hidden, lr, batch, steps, opt in CONFIGS:
            curves.append(train(f"{name}-s{seed}", hidden, lr, batch, steps, seed, opt))
    with open(args.out, "w") as f:
        json.dump(curves, f)
    print(f"wrote {len(curves)} curves to {args.out}")


if __name__ == "__main__":
    main()
