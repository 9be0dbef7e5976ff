"""`run.phase(name)`: times a block of the training step and logs its
duration in seconds as `time/<name>` at the step of the next `run.log`.
A phase entered several times before that log adds up.

    >>> for batch in loader:
    ...     with run.phase("data"):
    ...         x, y = next(it)
    ...     with run.phase("forward"):
    ...         loss = model(x, y)
    ...     run.log({"train/loss": loss.item()})   # also logs time/data, time/forward

The run also knows which phase the program is in now and since when
(`Run.where`): a distributed rank's heartbeat reports it, so that the
server can tell which rank hangs, and where (docs/python.md, "Distributed
jobs"). Phases may nest: leaving the inner one puts the outer one back.

Used from the thread that calls run.log; `Run.where` may be read from any
thread (it is one tuple, replaced whole).
"""

from __future__ import annotations

from time import perf_counter


class Phase:
    __slots__ = ("_run", "_name", "_metric", "_t0", "_outer", "elapsed")

    def __init__(self, run, name: str):
        self._run = run
        self._name = name
        self._metric = "time/" + name
        self._t0 = 0.0
        self._outer = None
        self.elapsed = 0.0

    def __enter__(self) -> "Phase":
        run = self._run
        self._outer = run._where
        self._t0 = t0 = perf_counter()
        run._where = (self._name, t0)
        return self

    def __exit__(self, *exc) -> None:
        t1 = perf_counter()
        self.elapsed = t1 - self._t0
        run = self._run
        outer = self._outer
        # Back in the enclosing phase (and since when it began), or in none
        # since now.
        run._where = outer if outer[0] else ("", t1)
        run._add_phase(self._metric, self.elapsed)
