"""The background thread that turns logged rows into batch bodies.

`run.log` appends a row tuple to a deque and returns; every
`flush_interval` this thread takes everything in the deque, columnarises it
(`wire.BatchEncoder`) and hands the bodies to the sink (the `Outbox` online,
the run directory offline). It never touches the network, so a slow server
cannot make the row deque grow: backlog accumulates as encoded batches in
the outbox, which spills to disk.

`drain` may also be called from another thread (flush, finish): `_lock`
keeps one drain at a time. Rows are taken with popleft, which is atomic, so
the caller keeps appending meanwhile.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Callable

from .console import notice
from .wire import BatchEncoder

# Rows columnarised at a time: bounds the memory of one pass.
_CHUNK_ROWS = 50_000


class Packer(threading.Thread):
    def __init__(self, rows: deque, encoder: BatchEncoder, put: Callable[[bytes, int], None],
                 interval: float, high_water: int, on_high_water: Callable[[], None]):
        super().__init__(name="vigil-packer", daemon=True)
        self._rows = rows
        self.encoder = encoder
        self._put = put
        self._interval = interval
        self._high_water = high_water
        self._on_high_water = on_high_water
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self.drained = threading.Condition()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Drains what is left and ends the thread."""
        self._stopping = True
        self._wake.set()
        self.join()
        self.drain()

    def run(self) -> None:
        while not self._stopping:
            if len(self._rows) > self._high_water:
                self._on_high_water()
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self.drain()
            except Exception as e:  # a bug here must not stop delivery for good
                notice(f"packer error: {e!r}", important=True)

    def drain(self) -> None:
        with self._lock:
            rows = self._rows
            popleft = rows.popleft
            while rows:
                n = min(len(rows), _CHUNK_ROWS)
                batch = [popleft() for _ in range(n)]
                for body, npoints in self.encoder.pack(batch):
                    self._put(body, npoints)
        with self.drained:
            self.drained.notify_all()
