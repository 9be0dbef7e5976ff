#!/usr/bin/env python3
"""Train a small MLP on scikit-learn's bundled digits (no download, CPU)
and watch it in vigil: train/val loss and accuracy, learning rate (cosine
schedule), gradient and parameter norms, per-sample loss dispersion P(t),
phase timings and throughput.

    vigil serve &                                   # or: make serve
    python3 examples/train_digits.py                # ~10-30 s on a laptop CPU
    python3 examples/train_digits.py --server http://host:7070 --epochs 5
    python3 examples/train_digits.py --offline      # then: vigil sync vigil-offline/<id>

Stops early (cleanly) when the run receives a `stop` command, and waits
while it is paused.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import vigil  # noqa: E402
import vigil.torch as vt  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", default=None, help="vigil server URL (default $VIGIL_SERVER "
                    "or http://127.0.0.1:7070)")
    ap.add_argument("--project", default="digits")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--steps", type=int, default=None, help="stop after this many steps")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--offline", action="store_true", help="write vigil-offline/<id>/ instead")
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    X, y = load_digits(return_X_y=True)
    X = torch.tensor(X / 16.0, dtype=torch.float32)
    y = torch.tensor(y)
    perm = torch.randperm(len(X))
    n_val = len(X) // 5
    val_idx, train_idx = perm[:n_val], perm[n_val:]
    Xtr, ytr, Xva, yva = X[train_idx], y[train_idx], X[val_idx], y[val_idx]

    model = torch.nn.Sequential(
        torch.nn.Linear(64, args.hidden), torch.nn.ReLU(),
        torch.nn.Linear(args.hidden, args.hidden), torch.nn.ReLU(),
        torch.nn.Linear(args.hidden, 10))
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=1e-4)
    steps_per_epoch = (len(Xtr) + args.batch_size - 1) // args.batch_size
    total_steps = args.epochs * steps_per_epoch
    if args.steps is not None:
        total_steps = min(total_steps, args.steps)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, total_steps))

    run = vigil.init(project=args.project, name=f"mlp-{args.hidden}", server=args.server,
                     mode="offline" if args.offline else None,
                     config={**vars(args), "train_size": len(Xtr), "val_size": len(Xva),
                             "optimizer": "sgd", "schedule": "cosine"},
                     tags=["example", "digits"])
    print(f"run {run.id}: {run.url}" if not args.offline else f"run {run.id}: {run.dir}",
          flush=True)
    vt.watch(run, model, opt, every=1, per_module=True)

    step = 0
    t0 = time.time()
    for epoch in range(args.epochs):
        order = torch.randperm(len(Xtr))
        model.train()
        for b in range(steps_per_epoch):
            if step >= total_steps or run.should_stop:
                break
            run.wait_while_paused()
            with run.phase("data"):
                idx = order[b * args.batch_size:(b + 1) * args.batch_size]
                xb, yb = Xtr[idx], ytr[idx]
            with run.phase("forward"):
                logits = model(xb)
                losses = F.cross_entropy(logits, yb, reduction="none")
                loss = losses.mean()
            vt.loss_dispersion(run, losses)
            with run.phase("backward"):
                opt.zero_grad()
                loss.backward()
            with run.phase("optimizer"):
                opt.step()
            acc = (logits.argmax(1) == yb).float().mean().item()
            run.log({"train/loss": loss.item(), "train/acc": acc, "epoch": epoch},
                    step=step, samples=len(idx))
            sched.step()
            step += 1
        model.eval()
        with torch.no_grad(), run.phase("eval"):
            logits = model(Xva)
            val_loss = F.cross_entropy(logits, yva).item()
            val_acc = (logits.argmax(1) == yva).float().mean().item()
        run.log({"val/loss": val_loss, "val/acc": val_acc}, step=step - 1)
        print(f"epoch {epoch:3d} step {step:5d} train/loss {loss.item():.4f} "
              f"val/loss {val_loss:.4f} val/acc {val_acc:.3f}", flush=True)
        if step >= total_steps or run.should_stop:
            break
    run.summary["val/acc"] = val_acc
    run.summary["train_seconds"] = round(time.time() - t0, 2)
    run.finish()
    print(f"done in {time.time() - t0:.1f} s: {run.url}")


if __name__ == "__main__":
    main()
