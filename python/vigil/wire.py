"""Rows logged by the caller -> columnar POST /log bodies (protocol.md).

A row is the tuple `(step, time_seconds, {key: value})` that `run.log`
appended to the buffer; a key is a metric name or a `SeriesKey`. The
`BatchEncoder` turns a list of rows into bodies of at most `max_points`
points:

    {"series":[{"metric":"train/loss","labels":{},"steps":[0,1],
                "times":[1732800000123,1732800000456],"values":[0.5,"NaN"]}]}

Times are Unix milliseconds taken when `log` was called, so that re-sending a
body repeats its points exactly and the server drops them as duplicates.
Values go out as the shortest repr of the double (bit-exact read-back; -0.0
keeps its sign); NaN and the infinities as the strings the API takes.

Bad data never makes the server reject a whole batch: a key that breaks the
name grammar, a step that is not an integer >= 0, or a value that is not a
number is dropped here with a one-time notice naming it.

Thread-safety: a BatchEncoder is used by the packer thread only.
"""

from __future__ import annotations

import json
import math
import operator
from itertools import groupby
from operator import itemgetter
from typing import Dict, List, Optional, Tuple

from . import names
from .console import notice_once
from .series_key import SeriesKey

MAX_STEP = (1 << 63) - 1
_dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
_dumps_nan = json.JSONEncoder(separators=(",", ":")).encode


def encode_value(v: float):
    """A float as the API takes it: itself, or "NaN" / "Infinity" / "-Infinity"."""
    if v != v:
        return "NaN"
    if v in (math.inf, -math.inf):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def values_json(values: List[float]) -> str:
    try:
        return _dumps(values)
    except ValueError:  # a NaN or an infinity somewhere
        return _dumps([encode_value(v) for v in values])


def json_safe(obj):
    """`obj` with NaN/inf floats as strings and unknown types as str, for
    config and summary objects."""
    if isinstance(obj, float):
        return encode_value(obj)
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    try:  # numpy / torch scalars
        return json_safe(obj.item())
    except Exception:
        return str(obj)


def _row_keys(row):
    return tuple(row[2])


def _valid_step(step) -> Optional[int]:
    try:
        s = operator.index(step)
    except TypeError:
        try:
            f = float(step)
        except (TypeError, ValueError):
            return None
        if not f.is_integer():
            return None
        s = int(f)
    return s if 0 <= s <= MAX_STEP else None


class BatchEncoder:
    def __init__(self, max_points: int, extra_labels: Optional[Dict[str, str]] = None):
        self.max_points = max_points
        self._extra = dict(extra_labels or {})
        self._keys: Dict[object, Optional[Tuple[str, str, bool]]] = {}
        # Last value of every label-less series (the run's automatic summary).
        self.last_values: Dict[str, float] = {}
        self.dropped_points = 0

    # -- names ---------------------------------------------------------------
    def _resolve(self, key) -> Optional[Tuple[str, str, bool]]:
        """(metric, labels_json, has_user_labels), or None for a bad key."""
        try:
            return self._keys[key]
        except KeyError:
            pass
        out = None
        if isinstance(key, str):
            metric, labels = key, ()
        elif isinstance(key, SeriesKey) or (isinstance(key, tuple) and len(key) == 2):
            metric, labels = key[0], tuple(key[1])
        else:
            metric, labels = None, ()
        err = names.check_metric(metric) if metric is not None else (
            f"key {key!r} is neither a metric name nor vigil.series(...)")
        label_dict = dict(self._extra)
        if err is None:
            for name, value in labels:
                err = names.check_label_name(name) or names.check_label_value(value)
                if err:
                    break
                label_dict[name] = value
        if err is None and len(label_dict) > 32:
            err = f"series {metric!r} has {len(label_dict)} labels, more than 32"
        if err:
            notice_once(("key", key), f"{err}: its points are dropped")
        else:
            out = (metric, _dumps(dict(sorted(label_dict.items()))), bool(labels))
        self._keys[key] = out
        return out

    # -- rows ----------------------------------------------------------------
    def _fix_steps(self, group):
        kept = []
        for row in group:
            s = _valid_step(row[0])
            if s is None:
                notice_once(("step", type(row[0])),
                            f"step {row[0]!r} is not an integer in [0, 2^63-1]: that row is dropped")
                self.dropped_points += len(row[2])
                continue
            kept.append((s, row[1], row[2]) if s is not row[0] else row)
        return kept

    def _slow_values(self, metric, col, steps, times):
        vs, ss, ts = [], [], []
        for v, s, t in zip(col, steps, times):
            try:
                f = float(v)
            except (TypeError, ValueError, OverflowError):
                notice_once(("value", metric),
                            f"value {v!r} of {metric!r} at step {s} is not a number: dropped")
                self.dropped_points += 1
                continue
            vs.append(f)
            ss.append(s)
            ts.append(t)
        return vs, ss, ts

    @staticmethod
    def _segments(rows: list):
        """(keys, rows, columns) runs of rows with the same keys; columns is
        {key: values} or None. Fast path: every row has the first row's keys
        (the usual case), checked with C-level counting and lookups instead
        of a key tuple per row."""
        dicts = [r[2] for r in rows]
        keys = tuple(dicts[0])
        if sum(map(len, dicts)) == len(keys) * len(dicts):
            try:
                return [(keys, rows, {k: list(map(itemgetter(k), dicts)) for k in keys})]
            except KeyError:
                pass
        return [(k, list(g), None) for k, g in groupby(rows, _row_keys)]

    def pack(self, rows: list) -> List[Tuple[bytes, int]]:
        """Bodies for `rows` in order, each with its point count."""
        out: List[Tuple[bytes, int]] = []
        acc: Dict[Tuple[str, str], list] = {}
        npoints = 0
        if not rows:
            return out
        for keys, group, columns in self._segments(rows):
            if not keys:
                continue
            steps = [r[0] for r in group]
            if set(map(type, steps)) != {int} or min(steps) < 0 or max(steps) > MAX_STEP:
                group = self._fix_steps(group)
                columns = None
                if not group:
                    continue
                steps = [r[0] for r in group]
            times = [int(r[1] * 1000.0) for r in group]
            dicts = [r[2] for r in group]
            chunk = max(1, self.max_points // len(keys))
            for lo in range(0, len(group), chunk):
                hi = lo + chunk
                st, tm, ds = steps[lo:hi], times[lo:hi], dicts[lo:hi]
                for key in keys:
                    res = self._resolve(key)
                    if res is None:
                        self.dropped_points += len(st)
                        continue
                    part = columns[key][lo:hi] if columns else list(map(itemgetter(key), ds))
                    try:
                        vals = list(map(float, part))
                        ss, ts = st, tm
                    except (TypeError, ValueError, OverflowError):
                        vals, ss, ts = self._slow_values(res[0], part, st, tm)
                        if not vals:
                            continue
                    # Series of one chunk share their step and time lists,
                    # so _encode writes those once per chunk, not per series.
                    entry = acc.get(res[:2])
                    if entry is None:
                        acc[res[:2]] = [(ss, ts, vals)]
                    else:
                        entry.append((ss, ts, vals))
                    if not res[2]:
                        self.last_values[res[0]] = vals[-1]
                    npoints += len(vals)
                if npoints >= self.max_points:
                    out.append((self._encode(acc), npoints))
                    acc, npoints = {}, 0
        if npoints:
            out.append((self._encode(acc), npoints))
        return out

    @staticmethod
    def _encode(acc) -> bytes:
        memo: Dict[int, str] = {}

        def ints(lst) -> str:
            key = id(lst)
            text = memo.get(key)
            if text is None:
                text = memo[key] = _dumps(lst)[1:-1]
            return text

        parts = []
        for (metric, labels_json), segments in acc.items():
            if len(segments) == 1:
                ss, ts, vals = segments[0]
                steps, times, values = ints(ss), ints(ts), values_json(vals)[1:-1]
            else:
                steps = ",".join([ints(seg[0]) for seg in segments])
                times = ",".join([ints(seg[1]) for seg in segments])
                values = values_json([v for seg in segments for v in seg[2]])[1:-1]
            parts.append('{"metric":%s,"labels":%s,"steps":[%s],"times":[%s],"values":[%s]}' % (
                _dumps(metric), labels_json, steps, times, values))
        return ('{"series":[' + ",".join(parts) + "]}").encode()


def count_points(body: bytes) -> int:
    """Points in an encoded body (for messages about undelivered data)."""
    try:
        return sum(len(s.get("steps", ())) for s in json.loads(body).get("series", ()))
    except (ValueError, AttributeError):
        return 0


def max_step(body: bytes) -> Optional[int]:
    """Largest step in an encoded body, ignoring `sys/` series."""
    try:
        best = None
        for s in json.loads(body).get("series", ()):
            if str(s.get("metric", "")).startswith("sys/") or not s.get("steps"):
                continue
            m = max(s["steps"])
            best = m if best is None or m > best else best
        return best
    except (ValueError, AttributeError, TypeError):
        return None
