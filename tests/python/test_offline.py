"""Offline mode (protocol.md format) and `vigil sync`."""

import json
import os
import subprocess

import pytest

import vigil
from conftest import series, sync_binary, url_of
from vigil_server import bits

VALUES = [0.5, float("nan"), float("inf"), -0.0, 1e-310, 3.141592653589793, float("-inf")]


def log_offline(tmp_path, run_id=None):
    run = vigil.init(project="off", mode="offline", id=run_id, config={"lr": 0.1},
                     system_metrics=False)
    for i, v in enumerate(VALUES):
        run.log({"a": v, vigil.series("b", k="x"): float(i)})
    run.summary["note"] = "ok"
    run.finish()
    return run


def test_offline_writes_the_protocol_format(tmp_path):
    run = log_offline(tmp_path)
    d = tmp_path / "offline" / run.id
    assert run.dir == str(d)
    body = json.loads((d / "run.json").read_text())
    assert body["id"] == run.id and body["project"] == "off" and body["config"] == {"lr": 0.1}
    raw = (d / "batches.jsonl").read_bytes()
    assert raw.endswith(b"\n")
    a_steps, a_values = [], []
    for line in raw.splitlines():
        for s in json.loads(line)["series"]:
            assert set(s) == {"metric", "labels", "steps", "times", "values"}
            assert len(s["steps"]) == len(s["times"]) == len(s["values"])
            if s["metric"] == "a":
                assert s["labels"] == {}
                a_steps += s["steps"]
                a_values += s["values"]
            else:
                assert s["labels"] == {"k": "x"}
    assert a_steps == list(range(len(VALUES)))
    assert a_values[1:3] == ["NaN", "Infinity"] and a_values[6] == "-Infinity"
    finish = json.loads((d / "finish.json").read_text())
    assert finish["state"] == "finished" and finish["summary"]["note"] == "ok"
    assert sorted(os.listdir(d)) == ["batches.jsonl", "finish.json", "run.json"]


def test_offline_resume_appends_and_continues_steps(tmp_path):
    run = log_offline(tmp_path)
    again = vigil.init(project="off", mode="offline", id=run.id, system_metrics=False)
    assert again.step == len(VALUES)
    assert not (tmp_path / "offline" / run.id / "finish.json").exists()
    again.log({"a": 9.0})
    again.finish()
    lines = (tmp_path / "offline" / run.id / "batches.jsonl").read_bytes().splitlines()
    steps = [st for line in lines for s in json.loads(line)["series"] if s["metric"] == "a"
             for st in s["steps"]]
    assert steps == list(range(len(VALUES) + 1))


def test_offline_resume_of_another_project_is_refused(tmp_path):
    run = log_offline(tmp_path)
    with pytest.raises(vigil.VigilError, match="belongs to project"):
        vigil.init(project="other", mode="offline", id=run.id, system_metrics=False)


def test_sync_delivers_identical_data_twice_without_duplicates(tmp_path, server, client):
    binary = sync_binary()
    assert binary is not None, "the vigil binary has no `sync` subcommand"
    run = log_offline(tmp_path)
    d = str(tmp_path / "offline" / run.id)
    # A torn last line (a crash mid-write) must be skipped, not fatal.
    with open(os.path.join(d, "batches.jsonl"), "ab") as f:
        f.write(b'{"series":[{"metric":"a","lab')
    for attempt in range(2):
        out = subprocess.run([binary, "sync", "--server", url_of(server), d],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        assert out.returncode == 0, out.stdout.decode()
        steps, _, values = series(client, run.id, "a")
        assert steps == list(range(len(VALUES)))
        assert [bits(v) for v in values] == [bits(v) for v in VALUES]
        assert series(client, run.id, "b", {"k": "x"})[2] == [float(i) for i in range(len(VALUES))]
    info = client.request("GET", f"/api/v1/runs/{run.id}")
    assert info["state"] == "finished" and info["config"] == {"lr": 0.1}
    assert info["summary"]["note"] == "ok"
    assert os.path.exists(os.path.join(d, "synced"))
