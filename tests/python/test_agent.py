"""The system-metrics sidecar is started with the protocol's arguments and
stopped at finish; a binary without `agent` gives a notice."""

import os
import time

import vigil
from conftest import url_of, wait_for

FAKE_AGENT = """#!/bin/bash
if [ "$1" = agent ] && [ "$2" = --help ]; then echo "Usage: vigil agent [OPTIONS]"; exit 0; fi
echo "$@" > {out}
exec sleep 60
"""

NO_AGENT = """#!/bin/bash
echo "Usage: vigil [OPTIONS] SUBCOMMAND"; exit 0
"""


def _script(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)
    return str(path)


def test_agent_started_as_sidecar_and_stopped(server, tmp_path, monkeypatch):
    out = tmp_path / "agent-args"
    monkeypatch.setenv("VIGIL_BINARY", _script(tmp_path / "vigil", FAKE_AGENT.format(out=out)))
    monkeypatch.setenv("VIGIL_TOKEN", "")
    run = vigil.init(project="agent", server=url_of(server))
    assert wait_for(lambda: out.exists() and out.read_text().strip(), timeout=5)
    args = out.read_text().split()
    assert args == ["agent", "--server", url_of(server), "--run", run.id, "--pid", str(os.getpid())]
    proc = run._agent.proc
    assert proc.poll() is None
    run.finish()
    assert proc.poll() is not None


def test_binary_without_agent_gives_a_notice(server, tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("VIGIL_BINARY", _script(tmp_path / "vigil", NO_AGENT))
    t0 = time.time()
    run = vigil.init(project="agent", server=url_of(server))
    assert run._agent is None
    run.finish()
    assert time.time() - t0 < 5
    assert "has no `agent` subcommand" in capfd.readouterr().err


def test_missing_binary_gives_a_notice(server, tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("VIGIL_BINARY", str(tmp_path / "absent"))
    run = vigil.init(project="agent", server=url_of(server))
    run.finish()
    assert "no `vigil` binary found" in capfd.readouterr().err
