"""`run.phase(name)`: times a block of the training step and logs its
duration in seconds as `time/<name>` at the step of the next `run.log`.
A phase entered several times before that log adds up.

    >>> for batch in loader:
    ...     with run.phase("data"):
    ...         x, y = next(it)
    ...     with run.phase("forward"):
    ...         loss = model(x, y)
    ...     run.log({"train/loss": loss.item()})   # also logs time/data, time/forward

Used from the thread that calls run.log.
"""

from __future__ import annotations

from time import perf_counter


class Phase:
    __slots__ = ("_run", "_metric", "_t0", "elapsed")

    def __init__(self, run, name: str):
        self._run = run
        self._metric = "time/" + name
        self._t0 = 0.0
        self.elapsed = 0.0

    def __enter__(self) -> "Phase":
        self._t0 = perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.elapsed = perf_counter() - self._t0
        self._run._add_phase(self._metric, self.elapsed)
