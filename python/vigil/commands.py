"""Commands sent to a run from the dashboard, the CLI or alert rules
(protocol.md, "Commands"), as the training loop sees them.

The sender thread calls `receive` with the "commands" array of a log or
heartbeat answer. Each new command is acknowledged ("acknowledged") at once,
updates the flags (`stop` sets should_stop, `pause` sets should_pause,
`resume` clears it), and is queued twice: for `Run.pending_commands()` and
for the callbacks registered with `Run.on_command`, which run on the thread
that calls `run.log` (at its next call), never on the background thread.

Thread-safety: `receive` from the sender; everything else from the caller.
The deques are the only shared state (append/popleft are atomic).
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Dict, List, NamedTuple

from .console import notice

TYPES = ("pause", "resume", "stop", "checkpoint", "rollback", "set")
STATUSES = ("acknowledged", "done", "failed")


class Command(NamedTuple):
    """A command to the run. `args` e.g. {"steps_back": 100} for rollback,
    {"name": "lr", "value": 0.001} for set."""

    id: str
    type: str
    args: Dict[str, Any]


class CommandState:
    def __init__(self, ack: Callable[[str, str, str], None], wake_caller: Callable[[], None]):
        self._ack = ack
        self._wake_caller = wake_caller
        self._seen: set = set()
        self._pending: deque = deque()
        self._undispatched: deque = deque()
        self._callbacks: List[Callable[[Command], Any]] = []
        self.should_stop = False
        self.should_pause = False

    # -- sender thread ---------------------------------------------------------
    def receive(self, raw: list) -> None:
        # In passes, so that a caller who sees a flag change finds every
        # command of this answer queued, acknowledged and its callbacks due:
        # queue all, acknowledge all, wake the caller's slow path, and only
        # then change the flags.
        new = []
        for c in raw:
            if not isinstance(c, dict) or not isinstance(c.get("id"), (str, int)):
                continue
            cmd = Command(str(c["id"]), str(c.get("type", "")), dict(c.get("args") or {}))
            if cmd.id in self._seen:
                continue
            self._seen.add(cmd.id)
            self._pending.append(cmd)
            new.append(cmd)
        # Acknowledged before any callback can run (and ack "done").
        for cmd in new:
            self._ack(cmd.id, "acknowledged", "")
        if self._callbacks:
            self._undispatched.extend(new)
        if new and self._callbacks:
            self._wake_caller()
        for cmd in new:
            if cmd.type == "stop":
                self.should_stop = True
            elif cmd.type == "pause":
                self.should_pause = True
            elif cmd.type == "resume":
                self.should_pause = False
        for cmd in new:
            notice(f"command {cmd.type} {cmd.args or ''} received ({cmd.id})".replace("  ", " "))

    # -- caller thread ---------------------------------------------------------
    def on_command(self, callback: Callable[[Command], Any]) -> None:
        self._callbacks.append(callback)

    def pending(self) -> List[Command]:
        out = []
        while self._pending:
            out.append(self._pending.popleft())
        return out

    def has_undispatched(self) -> bool:
        return bool(self._undispatched)

    def dispatch(self) -> None:
        while self._undispatched:
            cmd = self._undispatched.popleft()
            for cb in list(self._callbacks):
                try:
                    cb(cmd)
                except Exception as e:
                    notice(f"command callback {cb!r} raised {e!r} for {cmd.type} ({cmd.id})",
                           important=True)
                    self._ack(cmd.id, "failed", f"callback raised {e!r}"[:1000])
