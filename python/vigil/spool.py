"""A run directory in the offline / spill format of protocol.md:

    <root>/<run-id>/run.json       the POST /api/v1/runs body, with "id"
    <root>/<run-id>/batches.jsonl  one POST /log body per line, flushed per line
    <root>/<run-id>/finish.json    the PATCH body sent at finish (optional)

`vigil sync DIR` replays such a directory; the SDK replays its own spill
directory when the server comes back. A torn last line (a crash mid-write)
has no trailing newline and is skipped by readers.

A `RunDir` is used by one thread at a time (the caller serialises).
"""

from __future__ import annotations

import fcntl
import json
import os
from typing import Iterator, Optional, Tuple

from .wire import max_step

RUN_FILE = "run.json"
BATCHES_FILE = "batches.jsonl"
FINISH_FILE = "finish.json"
LOCK_FILE = ".lock"


def _write_json_atomic(path: str, obj) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(obj, f, allow_nan=False, separators=(",", ":"))
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class RunDir:
    def __init__(self, path: str):
        self.path = path
        self._out = None
        self._lock_fd = None

    # -- ownership -------------------------------------------------------------
    def try_lock(self) -> bool:
        """Takes the directory's lock file (released at close); False when
        another live process holds it."""
        os.makedirs(self.path, exist_ok=True)
        fd = os.open(os.path.join(self.path, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def close(self, remove_lock: bool = False) -> None:
        """Flushes, closes and releases the lock (deleting the lock file when
        `remove_lock`: the directory is then complete and handed over)."""
        if remove_lock and self._lock_fd is not None:
            try:
                os.remove(os.path.join(self.path, LOCK_FILE))
            except FileNotFoundError:
                pass
        if self._out is not None:
            try:
                self._out.flush()
                os.fsync(self._out.fileno())
            except OSError:
                pass
            self._out.close()
            self._out = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- writing ---------------------------------------------------------------
    def write_run(self, body: dict) -> None:
        os.makedirs(self.path, exist_ok=True)
        _write_json_atomic(os.path.join(self.path, RUN_FILE), body)

    def write_finish(self, body: dict) -> None:
        os.makedirs(self.path, exist_ok=True)
        _write_json_atomic(os.path.join(self.path, FINISH_FILE), body)

    def remove_finish(self) -> None:
        try:
            os.remove(os.path.join(self.path, FINISH_FILE))
        except FileNotFoundError:
            pass

    def append(self, body: bytes) -> int:
        """Appends one batch line and flushes it to the OS; returns its offset."""
        if self._out is None:
            os.makedirs(self.path, exist_ok=True)
            self._out = open(os.path.join(self.path, BATCHES_FILE), "ab")
            self._repair_tail()
        offset = self._out.tell()
        self._out.write(body + b"\n")
        self._out.flush()
        return offset

    def _repair_tail(self) -> None:
        # A torn last line from a crash would glue itself to the next line:
        # end it, so that readers see one bad line (skipped) and then ours.
        size = self._out.tell()
        if size == 0:
            return
        with open(os.path.join(self.path, BATCHES_FILE), "rb") as f:
            f.seek(size - 1)
            if f.read(1) != b"\n":
                self._out.write(b"\n")
                self._out.flush()

    def sync(self) -> None:
        if self._out is not None:
            self._out.flush()
            os.fsync(self._out.fileno())

    def remove_batches(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
        try:
            os.remove(os.path.join(self.path, BATCHES_FILE))
        except FileNotFoundError:
            pass

    def remove(self) -> None:
        """Deletes the directory (after everything in it was delivered)."""
        self.close()
        for name in (BATCHES_FILE, RUN_FILE, FINISH_FILE, LOCK_FILE, "synced"):
            try:
                os.remove(os.path.join(self.path, name))
            except FileNotFoundError:
                pass
        try:
            os.rmdir(self.path)
        except OSError:
            pass

    # -- reading ---------------------------------------------------------------
    def batches_size(self) -> int:
        try:
            return os.path.getsize(os.path.join(self.path, BATCHES_FILE))
        except FileNotFoundError:
            return 0

    def read_line(self, offset: int) -> Tuple[Optional[bytes], int]:
        """(line without newline, next offset) at `offset`; (None, offset) at
        the end. A line without its newline is torn: returned as b"" with the
        offset past it so that the caller skips it."""
        try:
            with open(os.path.join(self.path, BATCHES_FILE), "rb") as f:
                f.seek(offset)
                line = f.readline()
        except FileNotFoundError:
            return None, offset
        if not line:
            return None, offset
        if not line.endswith(b"\n"):
            return b"", offset + len(line)
        return line[:-1], offset + len(line)

    def lines(self) -> Iterator[bytes]:
        offset = 0
        while True:
            line, offset = self.read_line(offset)
            if line is None:
                return
            if line:
                yield line

    def read_run(self) -> Optional[dict]:
        try:
            with open(os.path.join(self.path, RUN_FILE)) as f:
                return json.load(f)
        except (FileNotFoundError, ValueError):
            return None

    def max_step(self) -> Optional[int]:
        best = None
        for line in self.lines():
            m = max_step(line)
            if m is not None and (best is None or m > best):
                best = m
        return best

