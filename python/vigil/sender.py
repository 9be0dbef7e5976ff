"""The background thread that talks to the server: creates the run when
init could not, sends log batches from the `Outbox` with retries and
exponential backoff, posts heartbeats, config/summary patches and command
acks, and hands commands from the answers to the run.

When the server has been failing for `spill_after` seconds, queued batches
move to the spill directory so that a crash of the training process loses
nothing; they are replayed, in order, when the server answers again.

In a distributed run (distributed.md) the heartbeat carries the rank's
position (`heartbeat_body`), and a rank > 0 asks for no commands
(`?commands=none` on /log and /heartbeat): only rank 0 takes them.

Only this thread uses its `Transport`. Other threads talk to it through
`wake()`, `ack()` and `stop()`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable, Optional

from .console import notice
from .outbox import Outbox
from .transport import (AUTH, CONNECTION_ERRORS, FATAL, MISSING, OK, RETRY, Backoff,
                        Transport)

# During finish, this many failed attempts in a row mean the server is down:
# spill at once instead of waiting out finish_timeout.
_FINISH_ATTEMPTS = 3


class Sender(threading.Thread):
    def __init__(self, settings, run_id: str, run_body: dict, outbox: Outbox, created: bool,
                 take_patch: Callable[[], Optional[dict]], restore_patch: Callable[[dict], None],
                 on_commands: Callable[[list], None],
                 heartbeat_body: Callable[[], Optional[dict]] = lambda: None,
                 takes_commands: bool = True):
        super().__init__(name="vigil-sender", daemon=True)
        self._s = settings
        self._id = run_id
        self._run_body = run_body
        self._outbox = outbox
        self._created = created
        self._take_patch = take_patch
        self._restore_patch = restore_patch
        self._on_commands = on_commands
        self._heartbeat_body = heartbeat_body
        self._query = "" if takes_commands else "?commands=none"
        self._transport = Transport(settings.server, settings.token, settings.request_timeout)
        self._wake = threading.Event()
        self._acks: deque = deque()
        self._backoff = Backoff(cap=10.0)
        self._failing_since: Optional[float] = None
        self._last_error = ""
        self._retry_after: Optional[float] = None
        self._next_heartbeat = 0.0
        self._stopping = False
        self._deadline = 0.0
        self._finish_failures = 0
        self._fatal_run = False
        self.rejected_points = 0
        self.reachable = created

    # -- other threads ---------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    def ack(self, command_id: str, status: str, message: str) -> None:
        self._acks.append((command_id, status, message))
        self._wake.set()

    def stop(self, timeout: float) -> None:
        """Delivers what is queued within `timeout` seconds (spilling the rest)
        and ends the thread."""
        self._deadline = time.monotonic() + timeout
        self._stopping = True
        self._backoff.cap = 1.0
        self._wake.set()
        self.join(timeout + 5.0)

    # -- the thread ------------------------------------------------------------
    def run(self) -> None:
        while True:
            try:
                if not self._step():
                    break
            except Exception as e:  # a bug here must not kill delivery for good
                notice(f"sender error: {e!r}", important=True)
                time.sleep(0.5)
        self._transport.close()

    def _step(self) -> bool:
        """One unit of work; False when the thread should end."""
        now = time.monotonic()
        if self._stopping:
            idle = self._outbox.empty() and not self._acks
            if idle or now >= self._deadline or self._finish_failures >= _FINISH_ATTEMPTS \
                    or self._fatal_run:
                if not self._outbox.empty():
                    self._outbox.spill("undelivered at exit")
                return False
        if self._fatal_run:
            self._wait(1.0)
            return True
        if not self._created:
            return self._retry_or_wait(self._create())
        if self._acks:
            cid, status, message = self._acks[0]
            kind = self._call("POST", f"/api/v1/runs/{self._id}/commands/{cid}/ack",
                              {"status": status, "message": message}, "ack")
            if kind in (OK, FATAL, MISSING):
                self._acks.popleft()
            return self._retry_or_wait(kind)
        patch = self._take_patch()
        if patch:
            kind = self._call("PATCH", f"/api/v1/runs/{self._id}", patch, "update run")
            if kind not in (OK, FATAL):
                self._restore_patch(patch)
            return self._retry_or_wait(kind)
        item = self._outbox.peek()
        if item is not None:
            kind = self._call("POST", f"/api/v1/runs/{self._id}/log{self._query}", item.body,
                              "log", points=item.npoints)
            if kind == OK:
                self._outbox.done(item)
            elif kind == FATAL:
                self.rejected_points += item.npoints
                self._outbox.done(item)
            return self._retry_or_wait(kind)
        if not self._stopping and now >= self._next_heartbeat:
            self._next_heartbeat = now + self._s.heartbeat_interval
            kind = self._call("POST", f"/api/v1/runs/{self._id}/heartbeat{self._query}",
                              self._heartbeat_body() or b"", "heartbeat")
            return self._retry_or_wait(kind)
        if self._stopping:
            return True
        self._wait(max(0.0, min(self._next_heartbeat - now, 1.0)))
        return True

    def _wait(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def _retry_or_wait(self, kind: str) -> bool:
        if kind in (OK, FATAL):
            if kind == OK:
                self._recovered()
            return True
        # Retry: back off, and spill when the outage lasts.
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
        if self._stopping:
            self._finish_failures += 1
        elif now - self._failing_since >= self._s.spill_after:
            self._outbox.spill(f"server unreachable for {self._s.spill_after:g} s ({self._last_error})")
        delay = self._backoff.next_delay(self._retry_after)
        if self._stopping:
            delay = min(delay, max(0.0, self._deadline - now))
        if not self._stopping:
            self._wait(delay)
        else:
            time.sleep(delay)
        return True

    def _recovered(self) -> None:
        if self._failing_since is not None:
            down = time.monotonic() - self._failing_since
            notice(f"server {self._s.server} reachable again after {down:.1f} s")
        self._failing_since = None
        self._backoff.reset()
        self._finish_failures = 0
        self.reachable = True

    def _create(self) -> str:
        kind = self._call("POST", "/api/v1/runs", self._run_body, "create run")
        if kind == OK:
            self._created = True
            notice(f"run {self._id} created on {self._s.server}")
        elif kind == FATAL:
            self._fatal_run = True
            self._outbox.spill("the server refused the run")
        return kind

    def _call(self, method: str, path: str, body, what: str, points: int = 0) -> str:
        self._retry_after = None
        try:
            resp = self._transport.request(method, path, body)
        except CONNECTION_ERRORS as e:
            self._note_failure(f"{type(e).__name__}: {e}")
            return RETRY
        kind = resp.kind()
        if kind == OK:
            try:
                answer = resp.json()
            except ValueError:
                answer = None
            if isinstance(answer, dict) and answer.get("commands"):
                self._on_commands(answer["commands"])
            return OK
        err = resp.error(what)
        if kind == MISSING and what in ("log", "heartbeat", "update run") and self._created:
            # The server does not know the run (a fresh data directory, or it
            # was deleted): create it again, then retry.
            self._created = False
            return RETRY
        if kind == RETRY:
            self._retry_after = resp.retry_after
            self._note_failure(str(err))
            return RETRY
        if kind == AUTH:
            self._note_failure(str(err))
            if self._failing_since is None:
                notice(f"{err}; batches are kept (set VIGIL_TOKEN, or send them later with "
                       f"`vigil sync {self._outbox.spool_path}`)", important=True)
            return RETRY
        if what == "log":
            notice(f"{points} points rejected: {err}", important=True)
        elif what != "heartbeat":
            notice(str(err), important=True)
        return FATAL

    def _note_failure(self, message: str) -> None:
        if self._failing_since is None and not self._stopping:
            notice(f"server {self._s.server} unreachable ({message}); retrying in the background")
        self._last_error = message
