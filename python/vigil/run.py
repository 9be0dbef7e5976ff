"""`Run`: one training run as the program sees it. Made by `vigil.init`.

    >>> run = vigil.init(project="digits", config={"lr": 1e-3})
    >>> for step in range(100):
    ...     run.log({"train/loss": 1.0 / (step + 1)})
    >>> run.finish()

The hot path, `log`, only appends `(step, time, dict(data))` to a deque
(no copy for a dict literal that nothing else references): no lock, no I/O,
no conversion (benchmark: bench/sdk/python_log_bench.py).
Everything else happens in two daemon threads: the packer columnarises rows
into batch bodies, the sender delivers them (packer.py, sender.py). The
rarer cases (phases, throughput, hooks of vigil.torch, command callbacks,
a full buffer, a finished run) take `_log_slow`, selected by one flag.

Threads: `log`, `phase`, `finish` and the command API are meant for the
training thread (one thread logging; the automatic step is not shared
safely between threads). `should_stop` / `should_pause` and `where` may be
read from anywhere (the sender reads `where` and `step` for heartbeats).
"""

from __future__ import annotations

import time
from collections import deque
from time import perf_counter
from typing import Callable, List, Optional, Tuple

from . import shutdown
from .commands import STATUSES, Command, CommandState
from .console import notice, notice_once
from .errors import VigilError
from .phases import Phase
from .settings import is_distributed
from .synced_dict import SyncedDict
from .transport import CONNECTION_ERRORS, OK, Transport
from .wire import json_safe

_time = time.time
try:
    from sys import getrefcount as _refs
except ImportError:  # not CPython: always copy
    def _refs(obj):
        return 0
STATES = ("finished", "failed", "crashed")


def _discard(row) -> None:
    pass


class Run:
    def __init__(self, *, settings, run_id: str, project: str, name: Optional[str], config: dict,
                 mode: str, start_step: int, body: dict):
        self.id = run_id
        self.project = project
        self.name = name or run_id
        self.mode = mode
        self.url = f"{settings.server}/#/runs/{run_id}"
        self.dir: Optional[str] = None  # offline: the run directory; online: the spill directory
        self.config = SyncedDict(config)
        self.summary = SyncedDict()
        self._settings = settings
        self._body = body
        self.rank = settings.rank
        self.world_size = settings.world_size
        self.local_rank = settings.local_rank
        self.node = settings.node
        self.distributed = is_distributed(settings)
        # (phase name or "", perf_counter() when it began or the last one
        # ended): replaced whole by Phase, read by the sender's heartbeats.
        self._where: Tuple[str, float] = ("", perf_counter())
        self._buf: deque = deque()
        self._append = self._buf.append if mode != "disabled" else _discard
        self._step = start_step
        self._slow = False
        self._phases: Optional[dict] = None
        self._hooks: List[Callable[[int, dict], None]] = []
        self._finish_hooks: List[Callable[[], None]] = []
        self._tp_last: Optional[float] = None
        self._cmds = CommandState(self._queue_ack, self._set_slow)
        self._closed = False
        self.finishing = False
        self._finished = False
        # Set by vigil.init when the run goes live.
        self._encoder = None
        self._packer = None
        self._outbox = None
        self._offline_dir = None
        self._sender = None
        self._agent = None

    def __repr__(self) -> str:
        return f"<vigil.Run {self.id} project={self.project!r} mode={self.mode} step={self._step}>"

    # -- logging ---------------------------------------------------------------
    def log(self, data, step=None, samples=None, tokens=None) -> None:
        """Records `data` ({metric: number}) at `step`, or at the step after
        the previous log's when `step` is omitted. Never blocks on the
        network. `samples` / `tokens` processed since the previous log call
        that gave them add `perf/samples_per_sec` / `perf/tokens_per_sec`.

        Keys are metric names (`train/loss`) or `vigil.series(name, **labels)`.
        Values are anything `float()` accepts (Python numbers, numpy scalars,
        one-element tensors), converted in the background.
        """
        if step is None:
            step = self._step
        self._step = step + 1
        if self._slow or samples is not None or tokens is not None:
            self._log_slow(data, step, samples, tokens)
            return
        # A dict nobody else references (a literal written in the call: its
        # count is 2, our local and getrefcount's argument) cannot change
        # later, so it is kept as is; any other mapping is copied.
        self._append((step, _time(), data if _refs(data) == 2 and type(data) is dict
                       else dict(data)))

    def _log_slow(self, data, step, samples, tokens) -> None:
        self._slow = False
        if self._closed:
            notice_once(("closed", self.id), f"run {self.id} is finished: log() ignored")
            self._slow = True
            return
        row = dict(data)
        now = _time()
        if samples is not None or tokens is not None:
            t = perf_counter()
            if self._tp_last is not None and t > self._tp_last:
                dt = t - self._tp_last
                if samples is not None:
                    row.setdefault("perf/samples_per_sec", float(samples) / dt)
                if tokens is not None:
                    row.setdefault("perf/tokens_per_sec", float(tokens) / dt)
            self._tp_last = t
        phases = self._phases
        if phases:
            self._phases = None
            for k, v in phases.items():
                row.setdefault(k, v)
        for hook in self._hooks:
            try:
                hook(step, row)
            except Exception as e:
                notice_once(("hook", hook), f"log hook {hook!r} raised {e!r}; skipped")
        self._append((step, now, row))
        if len(self._buf) >= self._settings.max_buffer_rows:
            self._wait_for_room()
        if self._cmds.has_undispatched():
            self._cmds.dispatch()
        self._recompute_slow()

    def _recompute_slow(self) -> None:
        # Cleared first (in _log_slow), set here when any reason remains; a
        # reason added meanwhile by another thread sets it again after.
        if (self._phases or self._hooks or self._closed or self._cmds.has_undispatched()
                or len(self._buf) > self._settings.max_buffer_rows // 2):
            self._slow = True

    def _set_slow(self) -> None:
        self._slow = True

    def _wait_for_room(self) -> None:
        # The packer never waits on the network, so this wait is bounded by
        # CPU work: encoding what is queued.
        packer = self._packer
        if packer is None or not packer.is_alive():
            return
        limit = self._settings.max_buffer_rows // 2
        while len(self._buf) > limit and packer.is_alive():
            packer.wake()
            with packer.drained:
                packer.drained.wait(0.05)

    def _log_at(self, step: int, data: dict) -> None:
        """Logs `data` at `step` without moving the automatic step (for
        integrations that report a step after the fact)."""
        if not self._closed:
            self._append((step, _time(), data))

    @property
    def step(self) -> int:
        """The step the next `log()` without `step=` will use."""
        return self._step

    # -- phases ----------------------------------------------------------------
    def phase(self, name: str) -> Phase:
        """A context manager timing a phase of the step: logs `time/<name>`
        (seconds) with the next `log()`."""
        return Phase(self, name)

    @property
    def where(self) -> Tuple[str, float]:
        """(phase, seconds): the `run.phase` block the program is in now
        ("" when in none) and how long it has been there (when in none: since
        the last phase ended, or since init)."""
        name, t0 = self._where
        return name, max(0.0, perf_counter() - t0)

    def _heartbeat_body(self) -> Optional[dict]:
        """The heartbeat body of a distributed rank (distributed.md); None
        otherwise (an empty body, as before). Called on the sender thread."""
        if not self.distributed:
            return None
        name, seconds = self.where
        return {"rank": self.rank, "step": max(0, self._step - 1), "phase": name[:64],
                "phase_ms": int(seconds * 1000.0), "node": self.node}

    def _add_phase(self, metric: str, seconds: float) -> None:
        phases = self._phases
        if phases is None:
            self._phases = phases = {}
        phases[metric] = phases.get(metric, 0.0) + seconds
        self._slow = True

    # -- integrations ----------------------------------------------------------
    def _add_hook(self, hook: Callable[[int, dict], None]) -> None:
        """`hook(step, row)` runs in every log() before the row is queued and
        may add entries to the row (vigil.torch.watch)."""
        self._hooks.append(hook)
        self._slow = True

    def _add_finish_hook(self, hook: Callable[[], None]) -> None:
        self._finish_hooks.append(hook)

    # -- commands --------------------------------------------------------------
    @property
    def should_stop(self) -> bool:
        """True once a `stop` command arrived."""
        return self._cmds.should_stop

    @property
    def should_pause(self) -> bool:
        """True after a `pause` command, until a `resume`."""
        return self._cmds.should_pause

    def on_command(self, callback: Callable[[Command], object]) -> None:
        """Calls `callback(command)` for each command received from now on,
        on the thread that calls log(), at its next call. Acknowledge the
        outcome with `run.ack(command, "done")` (or "failed")."""
        self._cmds.on_command(callback)

    def pending_commands(self) -> List[Command]:
        """Commands received since the previous call, oldest first."""
        return self._cmds.pending()

    def ack(self, command, status: str = "done", message: str = "") -> None:
        """Reports what became of `command` (a Command or its id):
        "acknowledged", "done" or "failed". Sent in the background."""
        if status not in STATUSES:
            raise VigilError(f"ack status {status!r} is not one of {', '.join(STATUSES)}")
        cid = command.id if isinstance(command, Command) else str(command)
        self._queue_ack(cid, status, message)

    def _queue_ack(self, cid: str, status: str, message: str) -> None:
        if self._sender is not None:
            self._sender.ack(cid, status, message)

    def wait_while_paused(self, poll: float = 0.5) -> None:
        """Blocks while the run is paused (returns at once otherwise, or when
        a stop arrives)."""
        while self.should_pause and not self.should_stop:
            time.sleep(poll)
            if self._cmds.has_undispatched():
                self._cmds.dispatch()

    # -- config and summary ----------------------------------------------------
    def _take_patch(self) -> Optional[dict]:
        patch = {}
        c = self.config.take_dirty()
        if c:
            patch["config"] = json_safe(c)
        s = self.summary.take_dirty()
        if s:
            patch["summary"] = json_safe(s)
        return patch or None

    def _restore_patch(self, patch: dict) -> None:
        self.config.mark_dirty(patch.get("config", ()))
        self.summary.mark_dirty(patch.get("summary", ()))

    def _final_summary(self) -> dict:
        out = dict(self._encoder.last_values) if self._encoder else {}
        out.update(self.summary.as_dict())
        return json_safe(out)

    # -- lifecycle -------------------------------------------------------------
    def __enter__(self) -> "Run":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.finish()
        else:
            self.finish(state="failed", message=shutdown.exception_summary(exc_type, exc, tb))
        return False

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Pushes everything logged so far to the server, waiting up to
        `timeout` seconds (default: the finish timeout); what could not be
        delivered by then goes to the spill directory. True when all of it
        reached the server (offline: when it is on disk)."""
        if self._packer is None or self._finished:
            return True
        self._packer.drain()
        if self._outbox is None:
            self._offline_dir.sync()
            return True
        self._sender.wake()
        deadline = time.monotonic() + (self._settings.finish_timeout if timeout is None else timeout)
        while not self._outbox.empty() and time.monotonic() < deadline and self._sender.is_alive():
            time.sleep(0.02)
        if self._outbox.empty():
            return True
        self._outbox.spill("flush timed out")
        return False

    def finish(self, state: str = "finished", message: Optional[str] = None) -> None:
        """Ends the run: delivers everything logged (or saves it to disk with
        a message saying how to send it), sets the run's state and summary,
        stops the agent. Later calls do nothing."""
        if state not in STATES:
            raise VigilError(f"state {state!r} is not one of {', '.join(STATES)}")
        if self.finishing or self._finished:
            return
        self.finishing = True
        try:
            self._finish(state, message)
        finally:
            self._finished = True
            self.finishing = False
            shutdown.finished_one(self)

    def _finish(self, state: str, message: Optional[str]) -> None:
        for hook in self._finish_hooks:
            try:
                hook()
            except Exception as e:
                notice(f"finish hook {hook!r} raised {e!r}")
        if self._phases:
            phases, self._phases = self._phases, None
            self._log_at(self._step, phases)
        self._closed = True
        self._slow = True
        if self.mode == "disabled":
            return
        self._packer.stop()
        body = {"state": state, "summary": self._final_summary()}
        if self.distributed:
            body["rank"] = self.rank
            if self.rank > 0:
                # A rank > 0 reports its own end only: the run's automatic
                # summary is rank 0's (last values would overwrite each other).
                body["summary"] = json_safe(self.summary.as_dict())
        config = self.config.as_dict()
        if config:
            body["config"] = json_safe(config)
        if message:
            body["message"] = message[:60000]
        if self._agent is not None:
            self._agent.stop()
        if self._outbox is None:
            self._finish_offline(body)
        else:
            self._finish_online(body)

    def _finish_offline(self, body: dict) -> None:
        d = self._offline_dir
        d.write_finish(body)
        d.close(remove_lock=True)
        notice(f"offline run {self.id} saved in {d.path}; upload it with: vigil sync {d.path}",
               important=True)

    def _finish_online(self, body: dict) -> None:
        s = self._settings
        t0 = time.monotonic()
        self._sender.stop(s.finish_timeout)
        delivered = self._outbox.empty()
        patched = False
        if delivered and self._sender.reachable:
            transport = Transport(s.server, s.token, min(s.request_timeout, 10.0))
            for attempt in range(3):
                try:
                    resp = transport.request("PATCH", f"/api/v1/runs/{self.id}", body)
                except CONNECTION_ERRORS:
                    resp = None
                if resp is not None and resp.kind() == OK:
                    patched = True
                    break
                if resp is not None and resp.kind() not in ("retry",):
                    notice(str(resp.error("finish")), important=True)
                    break
                if time.monotonic() - t0 > s.finish_timeout:
                    break
                time.sleep(0.2 * (attempt + 1))
            transport.close()
        spool = self._outbox._dir
        if delivered and patched:
            spool.remove()
            if self._sender.rejected_points:
                notice(f"run {self.id}: {self._sender.rejected_points} points were rejected by "
                       "the server (see the messages above)", important=True)
            return
        # Keep everything needed to finish the job later with `vigil sync`.
        try:
            spool.write_run(self._body)
            spool.write_finish(body)
            spool.close(remove_lock=True)
        except OSError as e:
            notice(f"cannot write {spool.path}: {e}", important=True)
        pending = self._outbox.pending_points()
        what = (f"{pending} points of run {self.id} not delivered" if pending else
                f"the final state of run {self.id} not delivered")
        notice(f"{what} to {s.server}: saved in {spool.path}. "
               f"Send them with: vigil sync {spool.path}", important=True)
