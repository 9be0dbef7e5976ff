"""The grammar of user-chosen names, mirrored from the server's
src/core/names.h so that the SDK drops a bad name before it can make the
server reject a whole batch.

    project     [A-Za-z0-9][A-Za-z0-9_.-]*            1..128 bytes
    run id      [A-Za-z0-9][A-Za-z0-9_-]*             1..64 bytes
    metric      [A-Za-z_][A-Za-z0-9_./:@-]*            1..256 bytes, not ending in '/'
    label name  [A-Za-z_][A-Za-z0-9_]*                 1..128 bytes, not starting "__"
    label value UTF-8 without control characters       1..1024 bytes
    tag         like a label value                     1..128 bytes

Each check returns None when the name is valid, else the reason as text.
Pure functions; any thread.
"""

from __future__ import annotations

import re

_PROJECT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*\Z")
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]*\Z")
_METRIC = re.compile(r"[A-Za-z_][A-Za-z0-9_./:@\-]*\Z")
_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

RESERVED_LABELS = ("run", "project")


def _length(what: str, s: str, limit: int) -> str | None:
    n = len(s.encode("utf-8", "surrogatepass"))
    if n == 0:
        return f"{what} is empty"
    if n > limit:
        return f"{what} {s[:64]!r} is {n} bytes, more than the limit of {limit}"
    return None


def check_project(name) -> str | None:
    if not isinstance(name, str):
        return f"project must be a string, not {type(name).__name__}"
    return _length("project name", name, 128) or (
        None if _PROJECT.match(name) else
        f"project name {name!r}: use letters, digits, '_', '.' and '-', starting with a letter or digit")


def check_run_id(run_id) -> str | None:
    if not isinstance(run_id, str):
        return f"run id must be a string, not {type(run_id).__name__}"
    return _length("run id", run_id, 64) or (
        None if _RUN_ID.match(run_id) else
        f"run id {run_id!r}: use letters, digits, '_' and '-', starting with a letter or digit")


def check_metric(name) -> str | None:
    if not isinstance(name, str):
        return f"metric name must be a string, not {type(name).__name__}"
    err = _length("metric name", name, 256)
    if err:
        return err
    if not _METRIC.match(name):
        return (f"metric name {name!r}: use letters, digits and _ . / : @ -, "
                "starting with a letter or '_'")
    if name.endswith("/"):
        return f"metric name {name!r} ends with '/'"
    return None


def check_label_name(name) -> str | None:
    if not isinstance(name, str):
        return f"label name must be a string, not {type(name).__name__}"
    err = _length("label name", name, 128)
    if err:
        return err
    if not _LABEL.match(name):
        return f"label name {name!r}: use letters, digits and '_', starting with a letter or '_'"
    if name.startswith("__"):
        return f"label name {name!r} starts with \"__\", which is reserved"
    if name in RESERVED_LABELS:
        return f"label name {name!r} is reserved"
    return None


def check_text(what: str, value, limit: int) -> str | None:
    if not isinstance(value, str):
        return f"{what} must be a string, not {type(value).__name__}"
    err = _length(what, value, limit)
    if err:
        return err
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return f"{what} {value[:64]!r} is not valid UTF-8"
    if _CONTROL.search(value):
        return f"{what} {value[:64]!r}: control characters are not allowed"
    return None


def check_label_value(value) -> str | None:
    return check_text("label value", value, 1024)


def check_tag(value) -> str | None:
    return check_text("tag", value, 128)
