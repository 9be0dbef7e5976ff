"""PyTorch helpers for vigil runs. Imports torch lazily (on first use), so
`import vigil.torch` is cheap and works without torch installed.

    >>> import vigil, vigil.torch
    >>> run = vigil.init(project="digits")
    >>> vigil.torch.watch(run, model, optimizer, every=10)
    >>> for x, y in loader:
    ...     losses = F.cross_entropy(model(x), y, reduction="none")
    ...     vigil.torch.loss_dispersion(run, losses)
    ...     loss = losses.mean(); opt.zero_grad(); loss.backward(); opt.step()
    ...     run.log({"train/loss": loss.item()})

Series written (docs/python.md has the table):
  train/grad_norm, train/param_norm       global L2 norms (watch); with
      per_module=True also one series per top-level module, label module=<name>
  train/lr                                lr of each param group (label group=<i>
                                          when there is more than one group)
  train/loss_mean, train/loss_dispersion  mean and P(t) of per-sample losses
  train/loss_hist                         counts per bucket, label bucket=<upper edge>
  cuda/memory_allocated_bytes, cuda/memory_reserved_bytes,
  cuda/max_memory_allocated_bytes,
  cuda/num_alloc_retries                  per device, label device=<index>
  time/step_gpu                           GPU time of a step (StepTimer)

All functions are called from the training thread.
"""

from __future__ import annotations

from collections import deque
from typing import Optional

from .console import notice_once
from .series_key import series

# Histogram buckets of per-sample losses: fixed, log-spaced, 4 per decade from
# 1e-4 to 1e2, so that histograms of different steps and runs line up. A
# loss <= 1e-4 (or negative) counts in the first bucket, > 1e2 in "+Inf".
HIST_EDGES = tuple(10.0 ** (k / 4.0) for k in range(-16, 9))
HIST_LABELS = tuple(f"{e:.3g}" for e in HIST_EDGES) + ("+Inf",)


def _torch():
    import torch

    return torch


# -- gradient / parameter norms -------------------------------------------------
def _norm(tensors) -> Optional[object]:
    torch = _torch()
    norms = [torch.linalg.vector_norm(t.detach(), 2.0, dtype=torch.float64) for t in tensors]
    if not norms:
        return None
    return torch.linalg.vector_norm(torch.stack([n.to(norms[0].device) for n in norms]), 2.0)


class Watcher:
    """Made by `watch`; runs inside every `run.log` (as a log hook)."""

    def __init__(self, run, model, optimizer=None, every: int = 1, per_module: bool = False):
        if every < 1:
            raise ValueError(f"every={every}: must be >= 1")
        self.model, self.optimizer, self.every, self.per_module = model, optimizer, every, per_module
        self._last_step = None
        run._add_hook(self)

    def __call__(self, step, row: dict) -> None:
        # Once per step (a second log at the same step, e.g. validation
        # metrics, adds nothing), on steps that are multiples of `every`.
        if step == self._last_step or step % self.every:
            return
        self._last_step = step
        params = [p for p in self.model.parameters()]
        grads = [p.grad for p in params if p.grad is not None]
        g = _norm(grads)
        values = {}
        if g is not None:
            values["train/grad_norm"] = g
        values["train/param_norm"] = _norm(params)
        if self.per_module:
            for name, child in self.model.named_children():
                cp = list(child.parameters())
                cg = [p.grad for p in cp if p.grad is not None]
                if cg:
                    values[series("train/grad_norm", module=name)] = _norm(cg)
                if cp:
                    values[series("train/param_norm", module=name)] = _norm(cp)
        # One device->host copy for all norms (a single sync every `every` logs).
        keys = [k for k, v in values.items() if v is not None]
        if keys:
            torch = _torch()
            host = torch.stack([values[k].to("cpu") for k in keys]).tolist()
            for k, v in zip(keys, host):
                row.setdefault(k, v)
        if self.optimizer is not None:
            groups = self.optimizer.param_groups
            for i, group in enumerate(groups):
                if "lr" not in group:
                    continue
                key = "train/lr" if len(groups) == 1 else series("train/lr", group=i)
                row.setdefault(key, float(group["lr"]))


def watch(run, model, optimizer=None, every: int = 1, per_module: bool = False) -> Watcher:
    """From now on, `run.log` at a step that is a multiple of `every` also logs the global gradient
    norm (`train/grad_norm`, over the .grad present at that moment: log after
    backward/step and before zero_grad), the parameter norm
    (`train/param_norm`), per top-level module norms when `per_module`, and
    the learning rate of each param group of `optimizer`."""
    return Watcher(run, model, optimizer, every, per_module)


# -- loss dispersion ---------------------------------------------------------------
class _Dispersion:
    """Per-step accumulators, kept on the losses' device until the step ends."""

    def __init__(self, run):
        self.run = run
        self.step = None
        self.batches = 0
        self.sum_mean = None
        self.sum_var = None
        self.hist = None
        run._add_finish_hook(self.emit)

    def add(self, losses, step: int) -> None:
        torch = _torch()
        if self.step is not None and step != self.step:
            self.emit()
        self.step = step
        x = losses.detach().reshape(-1).to(torch.float64)
        if x.numel() == 0:
            return
        mean = x.mean()
        var = ((x - mean) ** 2).mean()  # P = (1/M) sum (L_j - mean)^2
        edges = torch.tensor(HIST_EDGES, dtype=torch.float64, device=x.device)
        idx = torch.bucketize(x, edges)  # bucket i holds (edge[i-1], edge[i]]
        counts = torch.bincount(idx, minlength=len(HIST_LABELS))
        if self.batches == 0:
            self.sum_mean, self.sum_var, self.hist = mean, var, counts
        else:
            self.sum_mean = self.sum_mean + mean
            self.sum_var = self.sum_var + var
            self.hist = self.hist + counts
        self.batches += 1

    def emit(self) -> None:
        if self.step is None or self.batches == 0:
            self.step = None
            return
        torch = _torch()
        stats = torch.stack([self.sum_mean, self.sum_var]).tolist()
        counts = self.hist.tolist()
        n = self.batches
        row = {"train/loss_mean": stats[0] / n, "train/loss_dispersion": stats[1] / n}
        for label, c in zip(HIST_LABELS, counts):
            row[series("train/loss_hist", bucket=label)] = float(c)
        self.run._log_at(self.step, row)
        self.step, self.batches = None, 0


def loss_dispersion(run, per_sample_losses, step: Optional[int] = None) -> None:
    """Adds a batch of per-sample losses (a 1-D tensor, e.g. from
    `reduction="none"`) for `step` (default: the step of the next
    `run.log`). For each step vigil logs `train/loss_mean` (mean of the batch
    means), `train/loss_dispersion` P(t) = (1/M) sum_j (L_j - mean)^2
    averaged over the batches added for that step, and `train/loss_hist`
    (counts per fixed log-spaced bucket, label `bucket`). Raw losses never
    leave the process. Values are written when a later step starts (or at
    finish), with one device->host copy per step."""
    state = getattr(run, "_vigil_dispersion", None)
    if state is None:
        state = run._vigil_dispersion = _Dispersion(run)
    state.add(per_sample_losses, run.step if step is None else step)


# -- CUDA ---------------------------------------------------------------------------
def _cuda_available(what: str) -> bool:
    torch = _torch()
    if torch.cuda.is_available():
        return True
    notice_once(("no-cuda", what), f"vigil.torch.{what}: CUDA is not available; nothing is logged")
    return False


def cuda_memory(run, step: Optional[int] = None) -> None:
    """Logs allocated, reserved and peak allocated bytes of every CUDA device
    (host-side counters: no synchronisation). No-op without CUDA."""
    if not _cuda_available("cuda_memory"):
        return
    torch = _torch()
    row = {}
    for i in range(torch.cuda.device_count()):
        row[series("cuda/memory_allocated_bytes", device=i)] = float(torch.cuda.memory_allocated(i))
        row[series("cuda/memory_reserved_bytes", device=i)] = float(torch.cuda.memory_reserved(i))
        row[series("cuda/max_memory_allocated_bytes", device=i)] = float(
            torch.cuda.max_memory_allocated(i))
        # Cumulative cudaMalloc retries of the caching allocator (it freed
        # its cache and tried again): the diagnosis's allocator-churn rule.
        row[series("cuda/num_alloc_retries", device=i)] = float(
            torch.cuda.memory_stats(i).get("num_alloc_retries", 0))
    run._log_at(run.step if step is None else step, row)


class StepTimer:
    """GPU time of each step from CUDA events, without synchronising: the
    events of a step are kept until `query()` says they completed, and their
    time is logged then as `time/step_gpu` (seconds) at that step's number.

        >>> timer = vigil.torch.StepTimer(run)
        >>> for batch in loader:
        ...     with timer:
        ...         train_step(batch)
        ...     run.log({...})

    No-op (with a one-line notice) without CUDA. At most `max_pending` steps
    wait; older ones are dropped rather than synchronising."""

    def __init__(self, run, max_pending: int = 1000):
        self.run = run
        self.enabled = _cuda_available("StepTimer")
        self._pending: deque = deque()
        self._max_pending = max_pending
        self._current = None
        run._add_finish_hook(self._finish)

    def __enter__(self):
        if self.enabled:
            torch = _torch()
            start = torch.cuda.Event(enable_timing=True)
            start.record()
            self._current = (self.run.step, start)
        return self

    def __exit__(self, *exc):
        if self.enabled and self._current is not None:
            torch = _torch()
            end = torch.cuda.Event(enable_timing=True)
            end.record()
            self._pending.append((self._current[0], self._current[1], end))
            self._current = None
            while len(self._pending) > self._max_pending:
                self._pending.popleft()
            self.poll()
        return False

    def poll(self) -> None:
        """Logs every finished step, oldest first; stops at the first one
        still running on the GPU."""
        while self._pending and self._pending[0][2].query():
            step, start, end = self._pending.popleft()
            self.run._log_at(step, {"time/step_gpu": start.elapsed_time(end) / 1000.0})

    def _finish(self) -> None:
        if self._pending:
            self._pending[-1][2].synchronize()
            self.poll()


# The guard that honours pause/stop/checkpoint/set/rollback commands
# (python/vigil/guard.py); part of vigil.torch's public API.
from .guard import Guard  # noqa: E402,F401
