"""The queue of encoded batches between the packer and the sender, in
memory while the server keeps up, on disk (the spill directory, protocol.md
format) when it does not.

Invariants (all under `_lock`):
  1. Batches leave in the order they entered.
  2. While `_spilled`, the in-memory queue is empty and every new batch is
     appended to the spill file; undelivered batches are the lines from
     `_cursor` to the end of the file. Spilling moves the memory queue to the
     end of the file first, which keeps (1).
  3. When the sender has delivered the last spilled line, the file is removed
     and batches stay in memory again.
A batch handed out by `peek` stays queued until `done(item)`; a batch moved to
disk while in flight is recognised by its sequence number (`_spool_seqs`
holds the numbers of the lines this process wrote, in order; lines before
`_adopted_end` came from an earlier process and have none).

Threads: `put` from the packer, `peek`/`done`/`spill` from the sender, the
counters from anyone.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Callable, NamedTuple, Optional

from .console import notice
from .spool import RunDir
from .wire import count_points


class Item(NamedTuple):
    seq: Optional[int]      # None for a line adopted from an earlier process
    body: bytes
    npoints: int
    on_disk: bool
    next_offset: int        # for a spilled line: the offset past it


class Outbox:
    def __init__(self, spool: RunDir, write_run_json: Callable[[RunDir], None],
                 max_memory_bytes: int, on_put: Callable[[], None] = lambda: None):
        self._lock = threading.Lock()
        self._dir = spool
        self._write_run_json = write_run_json
        self._max_bytes = max_memory_bytes
        self._on_put = on_put
        self._mem: deque = deque()  # (seq, body, npoints)
        self._mem_bytes = 0
        self._mem_points = 0
        self._seq = 0
        self._spilled = False
        self._cursor = 0
        self._adopted_end = 0
        self._spool_seqs: deque = deque()  # (seq, npoints) of lines we wrote
        self._spool_points = 0
        self._disk_failed = False
        self.delivered_points = 0
        self.spilled_points = 0  # points ever written to disk

    @property
    def spool_path(self) -> str:
        return self._dir.path

    def adopt(self) -> int:
        """Takes over batches left in the spill directory by an earlier
        process for this run; returns their point count."""
        with self._lock:
            size = self._dir.batches_size()
            if size == 0:
                return 0
            points = sum(count_points(line) for line in self._dir.lines())
            self._spilled = True
            self._cursor = 0
            self._adopted_end = size
            self._spool_points = points
            return points

    def put(self, body: bytes, npoints: int) -> None:
        with self._lock:
            self._seq += 1
            if not self._spilled and self._mem_bytes + len(body) > self._max_bytes and self._mem:
                self._spill_locked("more than %d MiB waiting for the server" % (self._max_bytes >> 20))
            if self._spilled and self._append_locked(self._seq, body, npoints):
                pass
            else:
                self._mem.append((self._seq, body, npoints))
                self._mem_bytes += len(body)
                self._mem_points += npoints
        self._on_put()

    def _append_locked(self, seq, body, npoints) -> bool:
        try:
            self._dir.append(body)
        except OSError as e:
            if not self._disk_failed:
                notice(f"cannot write the spill file in {self._dir.path} ({e}); "
                       "keeping batches in memory", important=True)
            self._disk_failed = True
            return False
        self._spool_seqs.append((seq, npoints))
        self._spool_points += npoints
        self.spilled_points += npoints
        return True

    def _spill_locked(self, why: str) -> None:
        if self._spilled or self._disk_failed:
            return
        try:
            self._write_run_json(self._dir)
        except OSError as e:
            notice(f"cannot write {self._dir.path} ({e}); keeping batches in memory", important=True)
            self._disk_failed = True
            return
        self._spilled = True
        self._cursor = self._adopted_end = self._dir.batches_size()
        notice(f"{why}: spilling batches to {self._dir.path}")
        while self._mem:
            seq, body, npoints = self._mem[0]
            if not self._append_locked(seq, body, npoints):
                if self._dir.batches_size() == self._cursor:
                    self._spilled = False
                return
            self._mem.popleft()
            self._mem_bytes -= len(body)
            self._mem_points -= npoints

    def spill(self, why: str) -> None:
        """Moves every batch in memory to disk (server down for long, or exit)."""
        with self._lock:
            if self._mem or self._spilled:
                self._spill_locked(why)
                try:
                    self._dir.sync()
                except OSError:
                    pass

    def peek(self) -> Optional[Item]:
        with self._lock:
            if self._mem:
                seq, body, npoints = self._mem[0]
                return Item(seq, body, npoints, False, 0)
            if not self._spilled:
                return None
            while True:
                line, nxt = self._dir.read_line(self._cursor)
                if line is None:
                    self._end_spill_locked()
                    return None
                if line == b"":  # torn line left by a crash: skip it
                    self._cursor = nxt
                    continue
                if self._cursor < self._adopted_end:
                    return Item(None, line, count_points(line), True, nxt)
                seq, npoints = self._spool_seqs[0] if self._spool_seqs else (None, count_points(line))
                return Item(seq, line, npoints, True, nxt)

    def done(self, item: Item) -> None:
        """`item` was delivered (or rejected for good)."""
        with self._lock:
            self.delivered_points += item.npoints
            if not item.on_disk and self._mem and self._mem[0][0] == item.seq:
                self._mem.popleft()
                self._mem_bytes -= len(item.body)
                self._mem_points -= item.npoints
                return
            if item.on_disk:
                nxt = item.next_offset
            elif self._spilled and self._spool_seqs and self._spool_seqs[0][0] == item.seq \
                    and self._cursor >= self._adopted_end:
                _, nxt = self._dir.read_line(self._cursor)  # moved to disk while in flight
            else:
                return
            if self._cursor >= self._adopted_end and self._spool_seqs:
                self._spool_seqs.popleft()
            self._cursor = nxt
            self._spool_points = max(0, self._spool_points - item.npoints)
            if self._cursor >= self._dir.batches_size():
                self._end_spill_locked()

    def _end_spill_locked(self) -> None:
        if not self._spilled:
            return
        self._dir.remove_batches()
        self._spilled = False
        self._cursor = self._adopted_end = 0
        self._spool_seqs.clear()
        self._spool_points = 0

    def pending_points(self) -> int:
        with self._lock:
            return self._mem_points + self._spool_points

    def empty(self) -> bool:
        with self._lock:
            return not self._mem and not self._spilled

    def on_disk(self) -> bool:
        with self._lock:
            return self._spilled
