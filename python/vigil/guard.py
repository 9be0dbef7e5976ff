"""Guard: the training loop's side of vigil's closed loop. It keeps recent
checkpoints of a model and its optimizer and carries out the commands the
server sends to the run (protocol.md, "Commands"):

  checkpoint   save one now
  set          {"name": "lr", "value": 1e-4}: set an optimizer hyperparameter
               (any key of the param groups) in every param group
  pause/resume wait while paused (run.should_pause)
  stop         `guard.should_stop` (and run.should_stop) become true
  rollback     {"step": S, "steps_back": N, "skip_batches": M}: restore the
               newest checkpoint taken at or before step S - N (S defaults
               to the current step), then skip the next M batches — the
               PaLM recipe for loss spikes, automated. Checkpoints newer
               than the restored one are dropped (they may hold the damage).

Each command is acknowledged "done" (or "failed" with the reason) once
carried out. Steps keep counting up across a rollback: the data stream
moves on, so the skipped batches are new ones.

    import vigil
    from vigil.guard import Guard
    run = vigil.init(project="digits")
    guard = Guard(run, model, optimizer, every=50, keep=4)
    for step, (x, y) in enumerate(batches):
        if not guard.begin_step(step):   # False: skip this batch
            continue
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(); loss.backward(); opt.step()
        run.log({"train/loss": loss.item()}, step=step)
        if guard.should_stop:
            break

Checkpoints live in memory (copies of the state dicts) or, with `dir=`, in
files `<dir>/guard-<step>.pt` (`guard-<step>-rank<r>.pt` in a distributed
job). All methods are called from the training thread; commands reach the
guard through `run.on_command`, which the SDK runs on that thread too.

Distributed jobs (torch.distributed initialised, world size > 1): only rank
0 receives commands (distributed.md). Every `sync_every` steps,
`begin_step` broadcasts rank 0's decision — its new commands and its
stop/pause flags — so that every rank applies the same commands at the same
step (a `set` of the lr or a rollback on rank 0 alone would make the DDP
replicas diverge) and all stop or pause together. Cost per sync: one
3-element int64 broadcast (plus a pickled broadcast of the commands when
there are some); with NCCL it is also a host-device synchronisation, so a
GPU job may prefer sync_every=10 or more. While paused, rank 0 re-broadcasts
every `poll` seconds, so the other ranks wait in short collectives (no
collective timeout). Every rank must call begin_step with the same steps.
Only rank 0 acknowledges. `sync_every=0` turns the broadcast off (commands
then act on rank 0 only).
"""

from __future__ import annotations

import copy
import os
import time
from collections import deque
from typing import Any, Deque, List, NamedTuple, Optional, Tuple

from .commands import Command
from .console import notice

__all__ = ["Guard", "GuardCheckpoint"]


class GuardCheckpoint(NamedTuple):
    """One kept checkpoint: the step it was taken at (before that step's
    batch) and its state (in memory) or file (on disk)."""

    step: int
    state: Optional[dict]
    path: Optional[str]


class Guard:
    """Keeps the last `keep` checkpoints, one every `every` steps, and
    honours the run's commands. `dir=None` keeps them in memory."""

    def __init__(self, run, model, optimizer, every: int = 100, keep: int = 3,
                 dir: Optional[str] = None,  # noqa: A002 (the documented name)
                 sync_every: int = 1, poll: float = 0.5) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        if keep < 1:
            raise ValueError(f"keep must be >= 1, got {keep}")
        if sync_every < 0:
            raise ValueError(f"sync_every must be >= 0, got {sync_every}")
        self.sync_every = sync_every
        self.poll = poll
        self.run = run
        self.model = model
        self.optimizer = optimizer
        self.every = every
        self.keep = keep
        self.dir = dir
        if dir is not None:
            os.makedirs(dir, exist_ok=True)
        self.checkpoints: Deque[GuardCheckpoint] = deque()
        self.skip_remaining = 0
        self.rollbacks = 0
        self.skipped = 0
        self.should_stop = False
        self._step = 0
        self._inbox: Deque[Any] = deque()
        self._last_saved: Optional[int] = None
        # (torch.distributed, rank, device) once begin_step found an
        # initialised process group of more than one rank; False: none.
        self._dist: Any = None
        run.on_command(self._inbox.append)

    # -- the loop --------------------------------------------------------------
    def begin_step(self, step: int) -> bool:
        """Call at the top of each iteration, before using its batch. Carries
        out the commands received, waits while paused, takes the periodic
        checkpoint, and answers False when this batch is to be skipped (after
        a rollback)."""
        self._step = step
        dist = self._distributed()
        if dist:
            if step % self.sync_every == 0:
                self._sync(*dist)
        else:
            self._drain()
            if getattr(self.run, "should_pause", False):
                self.run.wait_while_paused()
                self._drain()
            if getattr(self.run, "should_stop", False):
                self.should_stop = True
        if self.skip_remaining > 0:
            self.skip_remaining -= 1
            self.skipped += 1
            return False
        if step % self.every == 0 and self._last_saved != step:
            self.save(step)
        return True

    # -- checkpoints -----------------------------------------------------------
    def save(self, step: Optional[int] = None) -> GuardCheckpoint:
        """Saves a checkpoint now (as of before `step`'s batch)."""
        step = self._step if step is None else step
        state = {
            "model": {k: v.detach().clone() for k, v in self.model.state_dict().items()},
            "optimizer": copy.deepcopy(self.optimizer.state_dict()),
        }
        path = None
        if self.dir is not None:
            import torch

            dist = self._distributed()
            suffix = f"-rank{dist[1]}" if dist else ""
            path = os.path.join(self.dir, f"guard-{step}{suffix}.pt")
            torch.save(state, path)
            state = None
        ckpt = GuardCheckpoint(step, state, path)
        self.checkpoints.append(ckpt)
        self._last_saved = step
        while len(self.checkpoints) > self.keep:
            self._discard(self.checkpoints.popleft())
        return ckpt

    def restore(self, ckpt: GuardCheckpoint) -> None:
        state = ckpt.state
        if state is None:
            import torch

            state = torch.load(ckpt.path)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(copy.deepcopy(state["optimizer"]))

    def rollback(self, before_step: int, skip_batches: int = 0) -> GuardCheckpoint:
        """Restores the newest checkpoint taken at or before `before_step`
        (the oldest kept one if all are newer) and skips the next
        `skip_batches` batches. Raises LookupError with no checkpoint."""
        if not self.checkpoints:
            raise LookupError("no checkpoint kept yet")
        chosen = None
        for c in self.checkpoints:
            if c.step <= before_step:
                chosen = c
        if chosen is None:
            chosen = self.checkpoints[0]
        self.restore(chosen)
        while self.checkpoints and self.checkpoints[-1].step > chosen.step:
            self._discard(self.checkpoints.pop())
        self.skip_remaining = max(0, int(skip_batches))
        self.rollbacks += 1
        return chosen

    def _discard(self, ckpt: GuardCheckpoint) -> None:
        if ckpt.path is not None:
            try:
                os.remove(ckpt.path)
            except OSError:
                pass

    # -- commands --------------------------------------------------------------
    def _drain(self) -> None:
        while self._inbox:
            self._carry_out(self._inbox.popleft(), ack=True)

    def _carry_out(self, cmd, ack: bool) -> None:
        try:
            message = self._apply(cmd)
        except Exception as e:  # report, never kill the training loop
            if ack:
                self.run.ack(cmd, "failed", f"{type(e).__name__}: {e}"[:1000])
            else:
                notice(f"guard: command {cmd.type} ({cmd.id}) failed on this rank: {e!r}",
                       important=True)
        else:
            if ack:
                self.run.ack(cmd, "done", message)

    # -- distributed -----------------------------------------------------------
    def _distributed(self) -> Optional[Tuple[Any, int, Any]]:
        """(torch.distributed, rank, device of the broadcast tensor) when
        the decisions are broadcast, else None. Found once (at the first
        begin_step after the process group is initialised)."""
        if self._dist is None:
            if self.sync_every == 0:
                self._dist = False
                return None
            import sys

            torch = sys.modules.get("torch")
            dist = getattr(torch, "distributed", None) if torch is not None else None
            if dist is None or not dist.is_available() or not dist.is_initialized():
                return None  # maybe later: the group may be initialised after the Guard
            if dist.get_world_size() <= 1:
                self._dist = False
                return None
            device = torch.device("cpu")
            if dist.get_backend() == "nccl":
                device = torch.device("cuda", torch.cuda.current_device())
            self._dist = (dist, dist.get_rank(), device)
        return self._dist or None

    def _sync(self, dist, rank: int, device) -> None:
        """Rank 0's commands and flags to every rank; every rank applies the
        commands in order. Loops while paused (rank 0 re-broadcasting every
        `poll` seconds) until a resume or a stop."""
        import torch

        while True:
            cmds: List[Tuple[str, str, dict]] = []
            if rank == 0:
                while self._inbox:
                    c = self._inbox.popleft()
                    cmds.append((c.id, c.type, dict(c.args or {})))
                stop = bool(getattr(self.run, "should_stop", False))
                pause = bool(getattr(self.run, "should_pause", False)) and not stop
                flags = torch.tensor([len(cmds), int(stop), int(pause)], dtype=torch.int64,
                                     device=device)
            else:
                flags = torch.zeros(3, dtype=torch.int64, device=device)
            dist.broadcast(flags, src=0)
            n, stop, pause = (int(v) for v in flags.tolist())
            if n:
                box: List[Any] = [cmds if rank == 0 else None]
                dist.broadcast_object_list(box, src=0)
                for cid, ctype, args in box[0]:
                    self._carry_out(Command(cid, ctype, args), ack=rank == 0)
            if stop:
                self.should_stop = True
            if not pause or stop:
                return
            if rank == 0:
                time.sleep(self.poll)
                # Callbacks (this guard's inbox) run on this thread: let the
                # commands received while paused (a resume) reach the inbox.
                cmds_state = getattr(self.run, "_cmds", None)
                if cmds_state is not None and cmds_state.has_undispatched():
                    cmds_state.dispatch()

    def _apply(self, cmd) -> str:
        args = cmd.args or {}
        if cmd.type == "checkpoint":
            ckpt = self.save(self._step)
            return f"checkpoint at step {ckpt.step}"
        if cmd.type == "set":
            name, value = args.get("name"), args.get("value")
            groups: List[dict] = self.optimizer.param_groups
            if not isinstance(name, str) or not groups or name not in groups[0]:
                raise KeyError(f"the optimizer has no hyperparameter {name!r}")
            for g in groups:
                g[name] = value
            return f"{name} = {value}"
        if cmd.type == "rollback":
            steps_back = int(args.get("steps_back", 0))
            anchor = int(args.get("step", self._step))
            ckpt = self.rollback(anchor - steps_back, int(args.get("skip_batches", 0)))
            return (f"restored the checkpoint of step {ckpt.step}, skipping "
                    f"{self.skip_remaining} batches")
        if cmd.type == "pause":
            return "paused"
        if cmd.type == "resume":
            return "resumed"
        if cmd.type == "stop":
            self.should_stop = True
            return "stopping"
        raise ValueError(f"unknown command type {cmd.type!r}")
