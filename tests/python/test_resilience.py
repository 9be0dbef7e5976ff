"""Nothing logged is lost: server killed and restarted, server absent at
init, server down at exit (spill + `vigil sync` hint), SIGTERM, atexit."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import vigil
from conftest import REPO, PinnedServer, free_port, series, sync_binary, wait_for


def test_server_killed_mid_run_and_restarted_on_same_port(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("VIGIL_SPILL_AFTER", "0.5")
    port = free_port()
    srv = PinnedServer(str(tmp_path / "data"), port, str(tmp_path)).start()
    run = vigil.init(project="crash", server=f"http://127.0.0.1:{port}", system_metrics=False)
    expected = []

    def train(n):
        for _ in range(n):
            v = len(expected) * 0.25
            expected.append(v)
            run.log({"train/loss": v, "train/acc": -v})
            time.sleep(0.001)

    train(300)
    srv.kill()  # SIGKILL while the run goes on
    t = threading.Thread(target=train, args=(1500,))
    t.start()
    assert wait_for(lambda: os.path.exists(os.path.join(run.dir, "batches.jsonl")), timeout=5)
    time.sleep(0.3)  # batches go to disk now (spill_after passed)
    srv = PinnedServer(str(tmp_path / "data"), port, str(tmp_path)).start()
    t.join()
    train(200)
    run.finish()
    c = srv.client()
    steps, _, values = series(c, run.id, "train/loss")
    assert steps == list(range(len(expected)))
    assert values == expected
    assert series(c, run.id, "train/acc")[2] == [-v for v in expected]
    assert c.request("GET", f"/api/v1/runs/{run.id}")["state"] == "finished"
    assert not os.path.exists(run.dir)  # spill directory removed once delivered
    err = capfd.readouterr().err
    assert "spilling batches to" in err and "reachable again" in err
    srv.stop()


def test_server_absent_at_init_then_started(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("VIGIL_SPILL_AFTER", "0.3")
    port = free_port()
    run = vigil.init(project="late", server=f"http://127.0.0.1:{port}", config={"x": 1},
                     system_metrics=False)
    assert "unreachable" in capfd.readouterr().err
    for i in range(500):
        run.log({"a": float(i)})
    spilled = os.path.join(run.dir, "batches.jsonl")
    assert wait_for(lambda: os.path.exists(spilled), timeout=5)
    srv = PinnedServer(str(tmp_path / "data"), port, str(tmp_path)).start()
    for i in range(500, 600):
        run.log({"a": float(i)})
    c = srv.client()
    # Delivered in the background, before finish.
    assert wait_for(lambda: _count(c, run.id, "a") == 600, timeout=15)
    run.finish()
    steps, _, values = series(c, run.id, "a")
    assert steps == list(range(600)) and values == [float(i) for i in range(600)]
    info = c.request("GET", f"/api/v1/runs/{run.id}")
    assert info["state"] == "finished" and info["config"] == {"x": 1}
    srv.stop()


def _count(client, run_id, metric):
    try:
        return len(client.series(run_id, metric, labels={})["steps"])
    except Exception:
        return 0


def _finish_with_server_down(tmp_path, capfd):
    port = free_port()
    run = vigil.init(project="down", server=f"http://127.0.0.1:{port}", system_metrics=False)
    for i in range(100):
        run.log({"a": float(i)})
    t0 = time.time()
    run.finish()
    assert time.time() - t0 < 8  # gives up quickly when nothing answers
    err = capfd.readouterr().err
    assert f"100 points of run {run.id} not delivered" in err
    assert f"vigil sync {run.dir}" in err
    for name in ("run.json", "batches.jsonl", "finish.json"):
        assert os.path.exists(os.path.join(run.dir, name)), name
    with open(os.path.join(run.dir, "finish.json")) as f:
        assert json.load(f)["state"] == "finished"
    return run, port


def test_server_down_at_exit_spills_and_a_later_run_delivers(tmp_path, capfd):
    run, port = _finish_with_server_down(tmp_path, capfd)
    srv = PinnedServer(str(tmp_path / "data"), port, str(tmp_path)).start()
    # Resuming the run in a new process adopts the spill directory.
    again = vigil.init(project="down", id=run.id, server=f"http://127.0.0.1:{port}",
                       system_metrics=False)
    assert again.step == 100
    again.log({"a": 100.0})
    again.finish()
    c = srv.client()
    steps, _, values = series(c, run.id, "a")
    assert steps == list(range(101)) and values == [float(i) for i in range(101)]
    assert not os.path.exists(run.dir)
    srv.stop()


def test_server_down_at_exit_then_vigil_sync(tmp_path, capfd):
    binary = sync_binary()
    assert binary is not None, "the vigil binary has no `sync` subcommand"
    run, port = _finish_with_server_down(tmp_path, capfd)
    srv = PinnedServer(str(tmp_path / "data"), port, str(tmp_path)).start()
    for _ in range(2):
        out = subprocess.run([binary, "sync", "--server", f"http://127.0.0.1:{port}", run.dir],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        assert out.returncode == 0, out.stdout.decode()
        c = srv.client()
        steps, _, values = series(c, run.id, "a")
        assert steps == list(range(100)) and values == [float(i) for i in range(100)]
    assert c.request("GET", f"/api/v1/runs/{run.id}")["state"] == "finished"
    srv.stop()


CHILD = textwrap.dedent("""
    import os, signal, sys, time
    sys.path.insert(0, {python!r})
    import vigil
    mode = sys.argv[2]
    if mode == "chain":
        def mine(signum, frame):
            open(sys.argv[3], "w").write("called")
        signal.signal(signal.SIGTERM, mine)
    run = vigil.init(project="sig", server=sys.argv[1], system_metrics=False)
    for i in range(1000):
        run.log({{"a": float(i)}})
    print(run.id, flush=True)
    if mode == "atexit":
        sys.exit(0)  # no finish(): atexit does it
    if mode == "raise":
        raise RuntimeError("boom in child")
    deadline = time.time() + 20
    while time.time() < deadline and not (mode == "chain" and os.path.exists(sys.argv[3])):
        time.sleep(0.05)
    if mode == "chain":
        for i in range(1000, 1010):
            run.log({{"a": float(i)}})
        run.finish()
""")


def _child(server, mode, extra=()):
    script = CHILD.format(python=os.path.join(REPO, "python"))
    proc = subprocess.Popen([sys.executable, "-c", script, f"http://127.0.0.1:{server.port}",
                             mode, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, VIGIL_FLUSH_INTERVAL="5"))
    run_id = proc.stdout.readline().decode().strip()
    return proc, run_id


def test_sigterm_flushes_and_marks_failed(server, client):
    # A long flush interval: the 1000 rows are still in memory when SIGTERM comes.
    proc, run_id = _child(server, "plain")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == -signal.SIGTERM  # still dies of the signal
    assert series(client, run_id, "a")[2] == [float(i) for i in range(1000)]
    info = client.request("GET", f"/api/v1/runs/{run_id}")
    assert info["state"] == "failed" and "SIGTERM" in info["message"]


def test_sigterm_chains_an_existing_handler(server, client, tmp_path):
    flag = str(tmp_path / "flag")
    proc, run_id = _child(server, "chain", (flag,))
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    assert open(flag).read() == "called"
    assert series(client, run_id, "a")[2] == [float(i) for i in range(1010)]
    assert client.request("GET", f"/api/v1/runs/{run_id}")["state"] == "finished"


def test_atexit_finishes_a_run_left_open(server, client):
    proc, run_id = _child(server, "atexit")
    assert proc.wait(30) == 0
    assert series(client, run_id, "a")[2] == [float(i) for i in range(1000)]
    assert client.request("GET", f"/api/v1/runs/{run_id}")["state"] == "finished"


def test_uncaught_exception_marks_failed_at_exit(server, client):
    proc, run_id = _child(server, "raise")
    assert proc.wait(30) == 1
    assert len(series(client, run_id, "a")[2]) == 1000
    info = client.request("GET", f"/api/v1/runs/{run_id}")
    assert info["state"] == "failed" and "RuntimeError: boom in child" in info["message"]
