"""Fixtures for the Python SDK tests: the SDK from python/, a real
`vigil serve` from tests/integration/vigil_server.py (binary: $VIGIL_BIN,
else build/release/vigil), and an environment that keeps every run's files
under the test's tmp_path."""

import os
import socket
import subprocess
import sys
import time

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "python"))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

import vigil_server  # noqa: E402
from vigil_server import Server  # noqa: E402


@pytest.fixture(autouse=True)
def vigil_env(tmp_path, monkeypatch):
    for var in ("VIGIL_SERVER", "VIGIL_MODE", "VIGIL_TOKEN", "VIGIL_PROJECT", "RANK", "WORLD_SIZE",
                "VIGIL_QUIET", "VIGIL_BINARY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("VIGIL_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("VIGIL_OFFLINE_DIR", str(tmp_path / "offline"))
    monkeypatch.setenv("VIGIL_FLUSH_INTERVAL", "0.05")
    monkeypatch.setenv("VIGIL_HEARTBEAT_INTERVAL", "0.2")
    monkeypatch.setenv("VIGIL_FINISH_TIMEOUT", "10")
    monkeypatch.setenv("VIGIL_INIT_TIMEOUT", "2")
    return tmp_path


@pytest.fixture
def server(tmp_path):
    s = Server(str(tmp_path / "data")).start()
    yield s
    if s.proc.poll() is None:
        s.stop()


@pytest.fixture
def client(server):
    c = server.client()
    yield c
    c.close()


def url_of(server):
    return f"http://127.0.0.1:{server.port}"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PinnedServer(Server):
    """A Server on a chosen port (to restart "the same server"): the
    binary is wrapped by a script that swaps the fixture's 127.0.0.1:0."""

    def __init__(self, data_dir, port, wrapper_dir):
        super().__init__(data_dir)
        self.pinned_port = port
        self.wrapper = os.path.join(wrapper_dir, f"vigil-port-{port}")
        real = vigil_server.vigil_binary()
        with open(self.wrapper, "w") as f:
            f.write("#!/bin/bash\n"
                    f'exec "{real}" "${{@/#127.0.0.1:0/127.0.0.1:{port}}}"\n')
        os.chmod(self.wrapper, 0o755)

    def start(self, timeout=20):
        old = os.environ.get("VIGIL_BIN")
        os.environ["VIGIL_BIN"] = self.wrapper
        try:
            deadline = time.time() + timeout
            while True:  # the port may linger for a moment after a kill
                try:
                    return super().start(timeout)
                except RuntimeError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.2)
        finally:
            if old is None:
                os.environ.pop("VIGIL_BIN", None)
            else:
                os.environ["VIGIL_BIN"] = old


def sync_binary():
    """A `vigil` binary whose `sync` subcommand exists, or None."""
    from vigil.agent import has_subcommand

    candidates = [os.environ.get("VIGIL_BIN"), os.path.join(REPO, "build", "release", "vigil")]
    build = os.path.join(REPO, "build")
    if os.path.isdir(build):
        candidates += sorted(os.path.join(build, d, "vigil") for d in os.listdir(build))
    for path in candidates:
        if path and os.access(path, os.X_OK):
            try:
                probe = subprocess.run([path, "sync", "--help"], stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, timeout=10)
            except (OSError, subprocess.SubprocessError):
                continue
            if has_subcommand(probe, "sync"):
                return path
    return None


def wait_for(predicate, timeout=10.0, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def series(client, run_id, metric, labels=None):
    """(steps, times, values) of one series; values as floats."""
    r = client.series(run_id, metric, labels=labels if labels is not None else {})
    return r["steps"], r["times"], [vigil_server.decode_value(v) for v in r["values"]]
