"""Where a run's settings come from: `vigil.init` arguments first, then the
environment, then defaults. Resolved once at init into an immutable
`Settings`; nothing reads the environment after that.

Environment variables (docs/python.md lists them with examples):
  VIGIL_SERVER       server URL (default http://127.0.0.1:7070)
  VIGIL_PROJECT      project when init() is given none
  VIGIL_TOKEN        API token, sent as "Authorization: Bearer <token>"
  VIGIL_MODE         online (default), offline, disabled
  VIGIL_OFFLINE_DIR  offline root (default ./vigil-offline)
  VIGIL_SPOOL_DIR    spill root (default ~/.cache/vigil/spool)
  RANK, WORLD_SIZE, LOCAL_RANK   distributed position when init() is given none
  VIGIL_NODE         the node (host) name of a distributed rank (default: host name)
  VIGIL_FLUSH_INTERVAL, VIGIL_HEARTBEAT_INTERVAL, VIGIL_SPILL_AFTER,
  VIGIL_FINISH_TIMEOUT, VIGIL_INIT_TIMEOUT   seconds (tuning, tests)
  VIGIL_QUIET=1      no notices (undelivered-data messages still print)
"""

from __future__ import annotations

import os
import socket
from typing import NamedTuple, Optional

from .errors import VigilError
from .names import check_text

DEFAULT_SERVER = "http://127.0.0.1:7070"
MODES = ("online", "offline", "disabled")


class Settings(NamedTuple):
    server: str
    token: Optional[str]
    mode: str
    offline_root: str
    spool_root: str
    rank: Optional[int]
    world_size: Optional[int]
    local_rank: Optional[int]
    node: str                  # the rank's node: $VIGIL_NODE or the host name
    flush_interval: float      # how often the packer drains the row buffer
    heartbeat_interval: float  # how often the sender posts a heartbeat
    spill_after: float         # failing this long moves queued batches to disk
    finish_timeout: float      # how long finish() tries to deliver before spilling
    init_timeout: float        # per-request timeout of the create call at init
    request_timeout: float     # per-request timeout in the background
    max_buffer_rows: int       # rows waiting for the packer before log() waits
    max_memory_bytes: int      # encoded batches kept in memory before spilling
    max_batch_points: int      # points per POST /log body


def _float_env(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise VigilError(f"{name}={raw!r} is not a number of seconds") from None
    if not value > 0:
        raise VigilError(f"{name}={raw!r} must be positive")
    return value


def _int_arg(name: str, value, env: str) -> Optional[int]:
    if value is None:
        raw = os.environ.get(env)
        if raw is None or raw == "":
            return None
        value = raw
    try:
        out = int(value)
    except (TypeError, ValueError):
        raise VigilError(f"{name}={value!r} is not an integer") from None
    if out < 0:
        raise VigilError(f"{name}={value!r} must be >= 0")
    return out


def is_distributed(s: Settings) -> bool:
    """One rank of a multi-process job: its series carry rank/node labels,
    heartbeats a body, and ranks > 0 take no commands (distributed.md)."""
    return s.rank is not None and s.world_size is not None and s.world_size > 1


def resolve(server=None, mode=None, rank=None, world_size=None, local_rank=None,
            node=None) -> Settings:
    server = server or os.environ.get("VIGIL_SERVER") or DEFAULT_SERVER
    if "://" not in server:
        server = "http://" + server
    if not server.startswith(("http://", "https://")):
        raise VigilError(f"server {server!r}: expected an http:// or https:// URL")
    server = server.rstrip("/")
    mode = (mode or os.environ.get("VIGIL_MODE") or "online").lower()
    if mode not in MODES:
        raise VigilError(f"mode {mode!r} is not one of online, offline, disabled")
    rank = _int_arg("rank", rank, "RANK")
    world_size = _int_arg("world_size", world_size, "WORLD_SIZE")
    if rank is not None and world_size and rank >= world_size:
        raise VigilError(f"rank {rank} must be less than world_size {world_size}")
    local_rank = _int_arg("local_rank", local_rank, "LOCAL_RANK")
    node = str(node or os.environ.get("VIGIL_NODE") or socket.gethostname() or "localhost")
    err = check_text("node", node, 256)
    if err:
        raise VigilError(err)
    spool = os.environ.get("VIGIL_SPOOL_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "vigil", "spool")
    return Settings(
        server=server,
        token=os.environ.get("VIGIL_TOKEN") or None,
        mode=mode,
        offline_root=os.path.abspath(os.environ.get("VIGIL_OFFLINE_DIR") or "vigil-offline"),
        spool_root=os.path.abspath(spool),
        rank=rank,
        world_size=world_size,
        local_rank=local_rank,
        node=node,
        flush_interval=_float_env("VIGIL_FLUSH_INTERVAL", 0.2),
        heartbeat_interval=_float_env("VIGIL_HEARTBEAT_INTERVAL", 5.0),
        spill_after=_float_env("VIGIL_SPILL_AFTER", 10.0),
        finish_timeout=_float_env("VIGIL_FINISH_TIMEOUT", 30.0),
        init_timeout=_float_env("VIGIL_INIT_TIMEOUT", 5.0),
        request_timeout=_float_env("VIGIL_REQUEST_TIMEOUT", 30.0),
        max_buffer_rows=200_000,
        max_memory_bytes=32 << 20,
        max_batch_points=20_000,
    )
