"""The SDK side of distributed runs (docs/python.md "Distributed jobs"),
against a real `vigil serve`: ranks are separate processes
(tests/python/rank_worker.py, driven line by line) that share one run id.

Checked: concurrent joins make one run (no error, resumed counter 0); series
carry rank/node labels; heartbeat bodies are accepted and show where each
rank is; only rank 0 receives commands; finishing semantics per rank; a
restarted job continues each rank after its own last step; the agent runs
once per node with a node label; phase tracking (`run.where`)."""

import json
import os
import subprocess
import sys
import time

import pytest

import vigil
from conftest import series, url_of, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "rank_worker.py")


class Rank:
    """A rank_worker.py process."""

    def __init__(self, tmp_path, rank, world_size, node, local_rank=None):
        env = dict(os.environ, RANK=str(rank), WORLD_SIZE=str(world_size), VIGIL_NODE=node,
                   VIGIL_HEARTBEAT_INTERVAL="0.2")
        if local_rank is not None:
            env["LOCAL_RANK"] = str(local_rank)
        self.rank = rank
        self.stderr = open(tmp_path / f"rank{rank}-{time.monotonic_ns()}.err", "wb")
        self.proc = subprocess.Popen([sys.executable, WORKER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.stderr, env=env,
                                     text=True, bufsize=1)

    def send(self, **req):
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()

    def recv(self):
        line = self.proc.stdout.readline()
        assert line, f"rank {self.rank} exited: see {self.stderr.name}"
        out = json.loads(line)
        assert "error" not in out, out
        return out

    def call(self, **req):
        self.send(**req)
        return self.recv()

    def close(self):
        if self.proc.poll() is None:
            try:
                self.send(op="exit")
                self.proc.wait(15)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()


@pytest.fixture
def ranks(tmp_path):
    made = []

    def start(world_size, nodes=None, local_ranks=None):
        group = [Rank(tmp_path, r, world_size, (nodes or ["n0"] * world_size)[r],
                      None if local_ranks is None else local_ranks[r])
                 for r in range(world_size)]
        made.extend(group)
        return group

    yield start
    for r in made:
        r.close()


def init_all(group, server, run_id, project="dist", **kw):
    """Every rank calls init at the same moment; their answers."""
    at = time.time() + 1.0
    for r in group:
        r.send(op="init", at=at, project=project, id=run_id, server=url_of(server),
               system_metrics=False, **kw)
    return [r.recv() for r in group]


def run_info(client, run_id):
    return client.request("GET", f"/api/v1/runs/{run_id}")


def ranks_of(client, run_id):
    return client.request("GET", f"/api/v1/runs/{run_id}/ranks")


def test_concurrent_joins_make_one_run(server, client, ranks):
    group = ranks(4)
    answers = init_all(group, server, "job4")
    assert [a["id"] for a in answers] == ["job4"] * 4
    assert [a["step"] for a in answers] == [0] * 4  # a join is not a resume
    assert all(a["distributed"] for a in answers)
    listed = client.request("GET", "/api/v1/runs", query={"project": "dist"})["runs"]
    assert [r["id"] for r in listed] == ["job4"]
    info = run_info(client, "job4")
    assert info["state"] == "running" and info["resumed"] == 0 and info["world_size"] == 4
    events = client.request("GET", "/api/v1/runs/job4/events")["events"]
    assert [e["message"] for e in events if e["kind"] == "state"] == ["created"]


def test_series_carry_rank_and_node_labels(server, client, ranks):
    nodes = ["gpu-a", "gpu-a", "gpu-b", "gpu-b"]
    group = ranks(4, nodes)
    init_all(group, server, "labels4")
    for r in group:
        r.send(op="log", steps=5 + r.rank, phase="data")
    assert [r.recv()["step"] for r in group] == [5, 6, 7, 8]
    for r in group:
        r.call(op="finish")
    for r in group:
        labels = {"rank": str(r.rank), "node": nodes[r.rank]}
        steps, _, values = series(client, "labels4", "train/loss", labels)
        assert steps == list(range(5 + r.rank))
        assert values == [1.0 / (s + 1) for s in steps]
        steps, _, values = series(client, "labels4", "time/data", labels)
        assert steps == list(range(5 + r.rank)) and all(0.0005 < v < 1.0 for v in values)
    metrics = run_info(client, "labels4")["metrics"]
    assert {(m["labels"]["rank"], m["labels"]["node"]) for m in metrics} == {
        (str(r), nodes[r]) for r in range(4)}
    assert all(set(m["labels"]) == {"rank", "node"} for m in metrics)


def test_heartbeats_report_where_each_rank_is(server, client, ranks):
    group = ranks(3, ["n0", "n0", "n1"])
    init_all(group, server, "beats3")
    for r in group:
        r.call(op="log", steps=3 + r.rank, phase="forward")
    group[0].call(op="enter", phase="comm")
    group[2].call(op="enter", phase="data")
    t_entered = time.monotonic()

    def where():
        got = {x["rank"]: x for x in ranks_of(client, "beats3")["ranks"]}
        want = {0: ("comm", 2), 1: ("", 3), 2: ("data", 4)}
        ok = len(got) == 3 and all((got[k]["phase"], got[k]["step"]) == v
                                   for k, v in want.items())
        return got if ok else None

    got = wait_for(where, timeout=10)
    assert got, ranks_of(client, "beats3")
    assert [got[k]["node"] for k in range(3)] == ["n0", "n0", "n1"]
    assert all(got[k]["state"] == "alive" for k in range(3))
    # phase_ms grows with the time spent in the phase (client's clock).
    time.sleep(0.6)
    later = {x["rank"]: x for x in ranks_of(client, "beats3")["ranks"]}
    assert later[0]["phase_ms"] >= 400
    assert later[0]["phase_ms"] <= (time.monotonic() - t_entered) * 1000 + 50
    group[0].call(op="leave")
    assert wait_for(lambda: {x["rank"]: x for x in ranks_of(client, "beats3")["ranks"]}[0][
        "phase"] == "", timeout=5)


def test_the_sdk_heartbeat_body_is_accepted(server, client):
    run = vigil.init(project="dist", id="hb2", server=url_of(server), rank=1, world_size=2,
                     node="box-1", system_metrics=False)
    with run.phase("allreduce"):
        body = run._heartbeat_body()
    assert set(body) == {"rank", "step", "phase", "phase_ms", "node"}
    assert (body["rank"], body["step"], body["phase"], body["node"]) == (1, 0, "allreduce", "box-1")
    answer = client.request("POST", "/api/v1/runs/hb2/heartbeat", body,
                            query={"commands": "none"})
    assert answer == {"state": "running", "commands": []}
    run.finish()


def test_a_single_process_run_keeps_the_empty_heartbeat(server):
    run = vigil.init(project="dist", server=url_of(server), system_metrics=False)
    assert run._heartbeat_body() is None and not run.distributed
    run.finish()
    two = vigil.init(project="dist", server=url_of(server), rank=0, world_size=1,
                     system_metrics=False)
    assert two._heartbeat_body() is None and not two.distributed
    two.finish()


def test_only_rank_0_receives_commands(server, client, ranks):
    group = ranks(3)
    init_all(group, server, "cmd3")
    for r in group:
        r.call(op="log", steps=2)
    ids = [client.request("POST", "/api/v1/runs/cmd3/commands",
                          {"type": t, "args": {}})["id"] for t in ("checkpoint", "pause", "resume")]
    assert wait_for(lambda: len(group[0].call(op="commands")["commands"]) == 3, timeout=10)
    assert [c[0] for c in group[0].call(op="commands")["commands"]] == ids
    # Ranks 1 and 2 heartbeat (every 0.2 s) and log meanwhile: none of it
    # takes a command.
    for _ in range(5):
        for r in group[1:]:
            r.call(op="log", steps=1)
        time.sleep(0.2)
    assert [r.call(op="commands")["commands"] for r in group[1:]] == [[], []]
    states = {c["id"]: c["state"] for c in
              client.request("GET", "/api/v1/runs/cmd3/commands")["commands"]}
    assert wait_for(lambda: all(
        c["state"] == "acknowledged"
        for c in client.request("GET", "/api/v1/runs/cmd3/commands")["commands"]), timeout=5), \
        states


def test_rank_finish_semantics(server, client, ranks):
    group = ranks(3)
    init_all(group, server, "fin3")
    for r in group:
        r.call(op="log", steps=4)
    group[1].call(op="finish")
    group[2].call(op="finish")
    assert run_info(client, "fin3")["state"] == "running"
    by_rank = {x["rank"]: x["state"] for x in ranks_of(client, "fin3")["ranks"]}
    assert by_rank[1] == "finished" and by_rank[2] == "finished" and by_rank[0] == "alive"
    group[0].call(op="finish")
    info = run_info(client, "fin3")
    assert info["state"] == "finished"
    assert info["summary"]["train/loss"] == 0.25  # rank 0's last value (step 3)


def test_a_failing_rank_fails_the_run(server, client, ranks):
    group = ranks(2)
    init_all(group, server, "fail2")
    group[1].call(op="finish", state="failed", message="CUDA error: out of memory")
    info = run_info(client, "fail2")
    assert info["state"] == "failed"
    assert info["message"] == "rank 1: CUDA error: out of memory"
    group[0].call(op="finish")


def test_a_restarted_job_continues_each_rank_after_its_own_steps(server, client, ranks):
    first = ranks(2)
    init_all(first, server, "again2")
    first[0].call(op="log", steps=5)
    first[1].call(op="log", steps=8)
    for r in first:
        r.call(op="finish", state="crashed", message="node lost")
    assert run_info(client, "again2")["state"] == "failed"
    second = ranks(2)
    answers = init_all(second, server, "again2")
    assert [a["step"] for a in answers] == [5, 8]
    info = run_info(client, "again2")
    assert info["state"] == "running" and info["resumed"] == 1  # one resume, then a join
    for r in second:
        r.call(op="log", steps=2)
        r.call(op="finish")
    assert series(client, "again2", "train/loss", {"rank": "1", "node": "n0"})[0] == list(
        range(10))


FAKE_AGENT = """#!/bin/bash
if [ "$1" = agent ] && [ "$2" = --help ]; then
  echo "Usage: vigil agent [OPTIONS]"
  {label_help}
  exit 0
fi
echo "$@" >> {out}
exec sleep 60
"""


def _fake_agent(tmp_path, name, label_help):
    out = tmp_path / f"{name}.args"
    path = tmp_path / name
    path.write_text(FAKE_AGENT.format(out=out, label_help=label_help))
    path.chmod(0o755)
    return str(path), out


def test_one_agent_per_node_with_a_node_label(server, tmp_path, monkeypatch):
    binary, out = _fake_agent(tmp_path, "vigil", 'echo "  --label NAME=VALUE  label added"')
    monkeypatch.setenv("VIGIL_BINARY", binary)
    common = dict(project="dist", id="agents", server=url_of(server), world_size=4, node="n7")
    r0 = vigil.init(rank=2, local_rank=0, **common)
    r1 = vigil.init(rank=3, local_rank=1, **common)
    assert r0._agent is not None and r1._agent is None
    assert wait_for(lambda: out.exists() and out.read_text().strip(), timeout=5)
    args = out.read_text().split()
    assert args == ["agent", "--server", url_of(server), "--run", "agents", "--pid",
                    str(os.getpid()), "--label", "node=n7"]
    r1.finish()
    r0.finish()


def test_no_label_flag_for_an_agent_without_it(server, tmp_path, monkeypatch):
    binary, out = _fake_agent(tmp_path, "vigil", "")
    monkeypatch.setenv("VIGIL_BINARY", binary)
    run = vigil.init(project="dist", id="oldagent", server=url_of(server), rank=0, world_size=2,
                     local_rank=0, system_metrics=True)
    assert wait_for(lambda: out.exists() and out.read_text().strip(), timeout=5)
    assert "--label" not in out.read_text().split()
    run.finish()


def test_the_real_agent_labels_its_series_with_the_node(server, client, monkeypatch):
    from vigil.agent import has_option
    from vigil_server import vigil_binary

    probe = subprocess.run([vigil_binary(), "agent", "--help"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=10)
    assert has_option(probe, "--label"), probe.stdout.decode()
    monkeypatch.setenv("VIGIL_BINARY", os.path.abspath(vigil_binary()))
    run = vigil.init(project="dist", id="realagent", server=url_of(server), rank=0, world_size=2,
                     local_rank=0, node="n9")
    assert run._agent is not None

    def sys_labels():
        metrics = run_info(client, "realagent")["metrics"]
        return [m["labels"] for m in metrics if m["metric"].startswith("sys/")]

    labels = wait_for(sys_labels, timeout=15)
    assert labels and all(lab.get("node") == "n9" and "rank" not in lab for lab in labels), labels
    run.finish()


def test_settings_from_the_environment(monkeypatch):
    from vigil.settings import resolve

    monkeypatch.setenv("RANK", "5")
    monkeypatch.setenv("WORLD_SIZE", "8")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("VIGIL_NODE", "rack3-gpu2")
    s = resolve()
    assert (s.rank, s.world_size, s.local_rank, s.node) == (5, 8, 1, "rack3-gpu2")
    s = resolve(rank=2, world_size=4, local_rank=0, node="x")
    assert (s.rank, s.world_size, s.local_rank, s.node) == (2, 4, 0, "x")
    monkeypatch.delenv("VIGIL_NODE")
    import socket

    assert resolve().node == socket.gethostname()
    with pytest.raises(vigil.VigilError, match="local_rank"):
        resolve(local_rank=-1)
    with pytest.raises(vigil.VigilError, match="node"):
        resolve(node="x" * 257)
    with pytest.raises(vigil.VigilError, match="rank 8 must be less than world_size 8"):
        resolve(rank=8)


def test_where_tracks_the_current_phase(monkeypatch):
    monkeypatch.setenv("VIGIL_MODE", "disabled")
    run = vigil.init(project="dist", rank=0, world_size=2)
    assert run.where[0] == ""
    with run.phase("forward"):
        time.sleep(0.02)
        with run.phase("comm"):
            name, seconds = run.where
            assert name == "comm" and seconds < 0.02
        name, seconds = run.where  # back in the outer phase, timed from its start
        assert name == "forward" and seconds >= 0.02
    name, seconds = run.where
    assert name == "" and seconds < 0.01
    time.sleep(0.03)
    assert run.where[1] >= 0.03
    run.log({"x": 1.0})
    body = run._heartbeat_body()
    assert body["step"] == 0 and body["phase"] == "" and body["phase_ms"] >= 30
    run.finish()


def test_offline_ranks_write_a_directory_each_and_sync_into_one_run(tmp_path, server, client):
    from conftest import sync_binary

    common = dict(project="dist", id="off2", mode="offline", world_size=2, node="n0")
    r0 = vigil.init(rank=0, **common)
    r1 = vigil.init(rank=1, **common)  # same process, same id: no lock conflict
    assert r0.dir != r1.dir
    for step in range(3):
        r0.log({"train/loss": 1.0 + step})
        r1.log({"train/loss": 2.0 + step})
    r1.finish()
    r0.finish()
    binary = sync_binary()
    assert binary, "no vigil binary with `sync`"
    out = subprocess.run([binary, "sync", "--server", url_of(server), str(tmp_path / "offline")],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    assert out.returncode == 0, out.stdout.decode()
    for r in (0, 1):
        assert series(client, "off2", "train/loss", {"rank": str(r), "node": "n0"})[2] == [
            1.0 + r, 2.0 + r, 3.0 + r]
    info = run_info(client, "off2")
    assert info["state"] == "finished" and info["world_size"] == 2, info["state"]
