"""`vigil.init`: validates the arguments, creates (or resumes) the run on
the server, or its offline directory, and starts the background threads.

    >>> run = vigil.init(project="digits", name="mlp", config={"lr": 1e-3})
    >>> run.log({"train/loss": 0.5})
    >>> run.finish()

An unreachable server does not stop the program: the run goes on, batches
wait in memory and then in the spill directory, and the sender creates the
run and delivers them when the server answers. Only a request the server
refuses (a bad project name, a bad token) raises.

A distributed job is one run: every rank calls init with the same `id`
(distributed.md). The first rank creates the run, the others join it (the
server answers "joined": true); each rank continues after its own last
logged step when the run already holds data of that rank (a restarted job).
"""

from __future__ import annotations

import os
import secrets
from typing import Optional, Sequence

from . import names, shutdown
from .agent import Agent
from .console import notice
from .errors import VigilError
from .outbox import Outbox
from .packer import Packer
from .run import Run
from .sender import Sender
from .settings import is_distributed, resolve
from .spool import RunDir
from .transport import AUTH, CONNECTION_ERRORS, FATAL, MISSING, OK, Transport
from .wire import BatchEncoder, json_safe

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def new_run_id() -> str:
    """8 random characters of [a-z0-9], like the server's own ids."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(8))


def init(project: Optional[str] = None, name: Optional[str] = None, config: Optional[dict] = None,
         tags: Optional[Sequence[str]] = None, id: Optional[str] = None,
         group: Optional[str] = None, server: Optional[str] = None, mode: Optional[str] = None,
         system_metrics: bool = True, rank: Optional[int] = None,
         world_size: Optional[int] = None, notes: Optional[str] = None,
         local_rank: Optional[int] = None, node: Optional[str] = None) -> Run:
    """Starts a run and returns it.

    project   the project (else $VIGIL_PROJECT); required
    name      display name (default: the id)
    config    hyper-parameters; also `run.config[...] = ...` later
    tags      list of strings
    id        resume this run (create it with this id when it does not exist)
    group     groups runs, e.g. the ranks of one job
    server    URL (else $VIGIL_SERVER, else http://127.0.0.1:7070)
    mode      "online" (default), "offline" (write ./vigil-offline/<id>/ for
              `vigil sync`) or "disabled" (everything is a no-op); else $VIGIL_MODE
    system_metrics  start `vigil agent` as a sidecar for this process (in a
              distributed run: one per node, by the process of local_rank 0)
    rank, world_size, local_rank  distributed position (else $RANK /
              $WORLD_SIZE / $LOCAL_RANK); with world_size > 1 the ranks share
              one run (give them the same `id`) and every series gets the
              labels rank="<rank>" and node="<node>"
    node      the rank's node name (else $VIGIL_NODE, else the host name)
    """
    s = resolve(server=server, mode=mode, rank=rank, world_size=world_size,
                local_rank=local_rank, node=node)
    project = project or os.environ.get("VIGIL_PROJECT")
    if not project:
        raise VigilError("project: required (pass project= or set VIGIL_PROJECT)")
    for err in (names.check_project(project), id is not None and names.check_run_id(id)):
        if err:
            raise VigilError(err)
    tags = list(tags or [])
    for t in tags:
        err = names.check_tag(t)
        if err:
            raise VigilError(f"tags: {err}")
    if config is not None and not isinstance(config, dict):
        try:
            config = dict(config)
        except (TypeError, ValueError):
            config = dict(vars(config))  # an argparse.Namespace
    config = dict(config or {})
    from .host import host_info

    run_id = id or new_run_id()
    body = {"project": project, "id": run_id, "host": host_info()}
    if name:
        body["name"] = str(name)
    if config:
        body["config"] = json_safe(config)
    if tags:
        body["tags"] = tags
    if group:
        body["group"] = str(group)
    if notes:
        body["notes"] = str(notes)
    if s.rank is not None:
        body["rank"] = s.rank
    if s.world_size is not None:
        body["world_size"] = s.world_size
    extra_labels = {}
    if is_distributed(s):
        body["node"] = s.node
        if s.local_rank is not None:
            body["local_rank"] = s.local_rank
        extra_labels["rank"] = str(s.rank)
        extra_labels["node"] = s.node

    if s.mode == "disabled":
        return Run(settings=s, run_id=run_id, project=project, name=name, config=config,
                   mode="disabled", start_step=0, body=body)
    if s.mode == "offline":
        return _start_offline(s, run_id, project, name, config, body, extra_labels)
    return _start_online(s, run_id, project, name, config, body, extra_labels,
                         resuming=id is not None, system_metrics=system_metrics)


def _start_threads(run: Run, s, extra_labels: dict, put, on_put=None) -> None:
    run._encoder = BatchEncoder(s.max_batch_points, extra_labels)
    run._packer = Packer(run._buf, run._encoder, put, s.flush_interval,
                         s.max_buffer_rows // 2, run._set_slow)
    run._packer.start()
    shutdown.register(run)


def _start_offline(s, run_id, project, name, config, body, extra_labels) -> Run:
    # The ranks of a distributed job write one directory each (`vigil sync`
    # takes the run id from run.json).
    d = RunDir(os.path.join(s.offline_root, _dir_name(s, run_id)))
    if not d.try_lock():
        raise VigilError(f"offline run directory {d.path} is in use by another process")
    previous = d.read_run()
    start_step = 0
    if previous is not None:
        if previous.get("project") != project:
            d.close()
            raise VigilError(f"offline run {run_id} in {d.path} belongs to project "
                             f"{previous.get('project')!r}, not {project!r}")
        merged = dict(previous.get("config") or {})
        merged.update(body.get("config") or {})
        if merged:
            body["config"] = merged
        config = merged
        last = d.max_step()
        start_step = 0 if last is None else last + 1
        d.remove_finish()
    d.write_run(body)
    run = Run(settings=s, run_id=run_id, project=project, name=name, config=config,
              mode="offline", start_step=start_step, body=body)
    run.dir = d.path
    run._offline_dir = d
    _start_threads(run, s, extra_labels, lambda b, n: d.append(b))
    notice(f"offline run {run_id}: writing {d.path}")
    return run


def _dir_name(s, run_id: str) -> str:
    """A run's offline or spill directory name: the ranks of a job on one
    machine share the run id, so each has its own."""
    return f"{run_id}-rank{s.rank}" if is_distributed(s) else run_id


def _open_spool(s, run_id: str) -> RunDir:
    d = RunDir(os.path.join(s.spool_root, _dir_name(s, run_id)))
    try:
        if d.try_lock():
            return d
        d = RunDir(os.path.join(s.spool_root, f"{run_id}-{os.getpid()}"))
        if d.try_lock():
            return d
    except OSError as e:
        notice(f"cannot use the spill directory {d.path} ({e}); "
               "batches will stay in memory while the server is down", important=True)
    return d


def _last_step_on_server(transport: Transport, run_id: str,
                         rank: Optional[int] = None) -> Optional[int]:
    """The largest step logged in the run (not counting `sys/` series); with
    `rank`, in that rank's series only."""
    try:
        resp = transport.request("GET", f"/api/v1/runs/{run_id}")
    except CONNECTION_ERRORS:
        return None
    if resp.kind() != OK:
        return None
    best = None
    for m in (resp.json() or {}).get("metrics", []):
        if str(m.get("metric", "")).startswith("sys/") or not m.get("count"):
            continue
        if rank is not None and (m.get("labels") or {}).get("rank") != str(rank):
            continue
        last = m.get("last_step")
        if isinstance(last, int) and (best is None or last > best):
            best = last
    return best


def _runs_agent(s) -> bool:
    """One agent per machine: a distributed run's process of local_rank 0
    starts it (rank 0 when the local rank is unknown)."""
    if not is_distributed(s):
        return True
    return s.local_rank == 0 if s.local_rank is not None else s.rank == 0


def _start_online(s, run_id, project, name, config, body, extra_labels, resuming,
                  system_metrics) -> Run:
    spool = _open_spool(s, run_id)
    created = False
    record = None
    last_steps = []
    transport = Transport(s.server, s.token, s.init_timeout)
    try:
        resp = transport.request("POST", "/api/v1/runs", body)
    except CONNECTION_ERRORS as e:
        resp = None
        notice(f"server {s.server} unreachable ({type(e).__name__}: {e}); the run goes on and "
               "its data is delivered when the server is back", important=True)
    if resp is not None:
        kind = resp.kind()
        if kind == OK:
            created = True
            record = resp.json() or {}
            if is_distributed(s):
                # Resumed or joined: continue after this rank's own last step,
                # if an earlier process of the job logged any (a joining rank
                # of a fresh job has none and starts at 0).
                if record.get("resumed_now") or record.get("joined"):
                    last_steps.append(_last_step_on_server(transport, run_id, s.rank))
            elif record.get("resumed_now"):
                last_steps.append(_last_step_on_server(transport, run_id))
        elif kind in (AUTH, FATAL, MISSING):
            spool.close()
            transport.close()
            raise resp.error("create run")
        else:
            notice(f"server {s.server} answered {resp.status}; the run goes on and its data is "
                   "delivered when the server is back", important=True)
    transport.close()
    if record and isinstance(record.get("config"), dict):
        config = record["config"]

    outbox_holder = []
    run = Run(settings=s, run_id=run_id, project=project, name=name, config=config,
              mode="online", start_step=0, body=body)
    run.dir = spool.path
    outbox = Outbox(spool, lambda d: d.write_run(body), s.max_memory_bytes,
                    on_put=lambda: outbox_holder and outbox_holder[0].wake())
    adopted = outbox.adopt()
    if adopted:
        notice(f"delivering {adopted} points of run {run_id} left in {spool.path} "
               "by an earlier process")
        spool.remove_finish()
        last_steps.append(spool.max_step())
    if resuming:
        known = [x for x in last_steps if x is not None]
        if known:
            run._step = max(known) + 1
        elif not created:
            notice(f"resuming run {run_id} without the server: steps start at 0 unless given")
    run._outbox = outbox
    sender = Sender(s, run_id, body, outbox, created, run._take_patch, run._restore_patch,
                    run._cmds.receive, run._heartbeat_body,
                    takes_commands=not (run.distributed and s.rank > 0))
    outbox_holder.append(sender)
    run._sender = sender
    sender.start()
    _start_threads(run, s, extra_labels, outbox.put)
    if system_metrics and _runs_agent(s):
        run._agent = Agent.start(s.server, run_id, s.token,
                                 {"node": s.node} if is_distributed(s) else None)
    notice(f"run {run_id}: {run.url}")
    return run
