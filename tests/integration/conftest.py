import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from vigil_server import Server  # noqa: E402


@pytest.fixture
def server(tmp_path):
    """A fresh `vigil serve` on its own data directory."""
    s = Server(str(tmp_path / "data")).start()
    yield s
    s.kill() if s.proc.poll() is None and os.environ.get("VIGIL_KILL_AT_END") else s.stop()


@pytest.fixture
def client(server):
    c = server.client()
    yield c
    c.close()
