"""The system-metrics sidecar: `vigil agent --server URL --run ID --pid PID`
(protocol.md, "Agent"), started at init as a child process and stopped at
finish. It exits on its own when this process exits.

In a distributed run one process per node (local_rank 0) starts it, with
`--label node=<node>` so that its series say which node they describe
(when the binary's `agent --help` lists `--label`; older ones get none).

The binary is $VIGIL_BINARY, else `vigil` on PATH, else
<repo>/build/release/vigil. A missing binary, or one without the `agent`
subcommand, gives a one-line notice and the run goes on without system
metrics.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from typing import Dict, List, Optional

from .console import notice

_REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def find_binary() -> Optional[str]:
    env = os.environ.get("VIGIL_BINARY")
    if env:
        return env if os.access(env, os.X_OK) else None
    on_path = shutil.which("vigil")
    if on_path:
        return on_path
    built = os.path.join(_REPO, "build", "release", "vigil")
    return built if os.access(built, os.X_OK) else None


def agent_command(binary: str, server: str, run_id: str, token: Optional[str],
                  labels: Optional[Dict[str, str]] = None) -> List[str]:
    cmd = [binary, "agent", "--server", server, "--run", run_id, "--pid", str(os.getpid())]
    if token:
        cmd += ["--token", token]
    for name, value in (labels or {}).items():
        cmd += ["--label", f"{name}={value}"]
    return cmd


def has_option(probe: subprocess.CompletedProcess, option: str) -> bool:
    """Whether the help text of `probe` mentions `option` (e.g. "--label")."""
    text = probe.stdout.decode("utf-8", "replace") if probe.stdout else ""
    return re.search(rf"(^|[\s,\[]){re.escape(option)}\b", text, re.M) is not None


def has_subcommand(probe: subprocess.CompletedProcess, name: str) -> bool:
    """Whether `vigil NAME --help` printed NAME's own help: a binary without
    the subcommand prints the top-level help (also with status 0)."""
    text = probe.stdout.decode("utf-8", "replace") if probe.stdout else ""
    usage = next((line for line in text.splitlines() if line.startswith("Usage:")), "")
    return probe.returncode == 0 and re.search(rf"\b{re.escape(name)}\b", usage) is not None


class Agent:
    def __init__(self, proc: subprocess.Popen):
        self.proc = proc

    @classmethod
    def start(cls, server: str, run_id: str, token: Optional[str],
              labels: Optional[Dict[str, str]] = None) -> Optional["Agent"]:
        """Starts the sidecar (None when it cannot run). `labels` are added
        to its series when the binary supports `--label`."""
        binary = find_binary()
        if binary is None:
            notice("no `vigil` binary found (set VIGIL_BINARY): no system metrics for this run")
            return None
        try:
            probe = subprocess.run([binary, "agent", "--help"], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, timeout=10)
        except (OSError, subprocess.SubprocessError) as e:
            notice(f"cannot run {binary} ({e}): no system metrics for this run")
            return None
        if not has_subcommand(probe, "agent"):
            notice(f"{binary} has no `agent` subcommand: no system metrics for this run")
            return None
        if labels and not has_option(probe, "--label"):
            labels = None
        try:
            proc = subprocess.Popen(agent_command(binary, server, run_id, token, labels),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError as e:
            notice(f"cannot start {binary} agent ({e}): no system metrics for this run")
            return None
        return cls(proc)

    def stop(self, timeout: float = 5.0) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
