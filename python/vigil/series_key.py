"""`SeriesKey`: a metric name with labels, usable as a key of the dict given
to `run.log` when one metric has several series.

    >>> run.log({vigil.series("train/lr", group="1"): 0.01, "train/loss": 0.4})

A plain string key is a metric without labels.
"""

from __future__ import annotations

from typing import NamedTuple, Tuple


class SeriesKey(NamedTuple):
    metric: str
    labels: Tuple[Tuple[str, str], ...]  # sorted (name, value) pairs


def series(metric: str, **labels) -> SeriesKey:
    """The key of series `metric` with `labels` (values are turned into str)."""
    return SeriesKey(metric, tuple(sorted((k, str(v)) for k, v in labels.items())))
