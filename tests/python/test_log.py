"""Logging against a real `vigil serve`: round trip, steps, labels,
config/summary, resume, failure in `with`, phases, throughput, host."""

import math
import os
import random
import struct
import time

import pytest

import vigil
from conftest import series, url_of, wait_for
from vigil_server import bits


def init(server, **kw):
    kw.setdefault("project", "sdk")
    kw.setdefault("system_metrics", False)
    return vigil.init(server=url_of(server), **kw)


SPECIAL = [float("nan"), float("inf"), float("-inf"), -0.0, 0.0, 5e-324, -5e-324,
           1.7976931348623157e308, 2.2250738585072014e-308, 0.1, 1 / 3, -1e-300, 123456789.125]


def test_round_trip_is_bit_exact(server, client):
    rng = random.Random(7)
    randoms = [struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0] for _ in range(300)]
    values = SPECIAL + randoms
    run = init(server)
    for i, v in enumerate(values):
        run.log({"x/value": v, "x/neg": -v}, step=i * 3)
    run.finish()
    steps, _, got = series(client, run.id, "x/value")
    assert steps == [i * 3 for i in range(len(values))]
    assert [bits(v) for v in got] == [bits(v) for v in values]
    _, _, neg = series(client, run.id, "x/neg")
    assert [bits(v) for v in neg] == [bits(-v) for v in values]
    # -0.0 kept its sign, both ways.
    assert math.copysign(1.0, got[3]) == -1.0 and SPECIAL[3] == 0.0  # -0.0
    assert math.copysign(1.0, neg[4]) == -1.0 and SPECIAL[4] == 0.0  # -(0.0)


def test_automatic_step_continues_after_an_explicit_one(server, client):
    run = init(server)
    for v in (1.0, 2.0, 3.0):
        run.log({"a": v})
    run.log({"a": 4.0}, step=10)
    run.log({"a": 5.0})
    assert run.step == 12
    run.finish()
    steps, times, values = series(client, run.id, "a")
    assert steps == [0, 1, 2, 10, 11]
    assert values == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert all(abs(t / 1000 - time.time()) < 120 for t in times)


def test_values_of_other_numeric_types_are_converted(server, client):
    class Scalar:  # like a numpy scalar or a one-element tensor
        def __float__(self):
            return 2.5

    run = init(server)
    run.log({"a": 1, "b": True, "c": Scalar()})
    run.finish()
    assert series(client, run.id, "a")[2] == [1.0]
    assert series(client, run.id, "b")[2] == [1.0]
    assert series(client, run.id, "c")[2] == [2.5]


def test_bad_keys_and_values_are_dropped_without_losing_the_rest(server, client, capfd):
    run = init(server)
    run.log({"good": 1.0, "bad name": 2.0, "text": "abc", "/lead": 1.0}, step=0)
    run.log({"good": 2.0}, step=-1)
    run.log({"good": 3.0}, step=1)
    run.finish()
    assert series(client, run.id, "good")[:3:2] == ([0, 1], [1.0, 3.0])
    metrics = {m["metric"] for m in client.request("GET", f"/api/v1/runs/{run.id}")["metrics"]}
    assert metrics == {"good"}
    err = capfd.readouterr().err
    assert "'bad name'" in err and "'abc'" in err and "step -1" in err


def test_labels_and_rank(server, client):
    run = init(server, rank=1, world_size=2)
    run.log({vigil.series("train/lr", group="0"): 0.1, vigil.series("train/lr", group=1): 0.2,
             "train/loss": 1.5}, step=4)
    run.finish()
    node = run.node
    assert series(client, run.id, "train/lr", {"group": "0", "rank": "1", "node": node})[2] == [0.1]
    assert series(client, run.id, "train/lr", {"group": "1", "rank": "1", "node": node})[2] == [0.2]
    assert series(client, run.id, "train/loss", {"rank": "1", "node": node})[:3:2] == ([4], [1.5])
    info = client.request("GET", f"/api/v1/runs/{run.id}")
    assert info["world_size"] == 2


def test_config_and_summary_reach_the_server(server, client):
    run = init(server, name="cfg", config={"lr": 0.001, "layers": [64, 32]}, tags=["a", "b"],
               group="g1")
    assert run.config["lr"] == 0.001
    run.config["batch_size"] = 32
    run.summary["best_acc"] = 0.93
    assert wait_for(lambda: client.request("GET", f"/api/v1/runs/{run.id}")["config"]
                    .get("batch_size") == 32, timeout=5)
    assert wait_for(lambda: client.request("GET", f"/api/v1/runs/{run.id}")["summary"]
                    .get("best_acc") == 0.93, timeout=5)
    for i in range(5):
        run.log({"train/loss": 1.0 / (i + 1), "train/weird": float("nan")})
    run.finish()
    info = client.request("GET", f"/api/v1/runs/{run.id}")
    assert info["name"] == "cfg" and info["tags"] == ["a", "b"] and info["group"] == "g1"
    assert info["config"] == {"lr": 0.001, "layers": [64, 32], "batch_size": 32}
    assert info["summary"]["train/loss"] == 0.2  # the last value, automatically
    assert info["summary"]["train/weird"] == "NaN"
    assert info["summary"]["best_acc"] == 0.93
    assert info["state"] == "finished" and info["finished_ms"]


def test_host_is_recorded(server, client):
    run = init(server)
    run.finish()
    host = client.request("GET", f"/api/v1/runs/{run.id}")["host"]
    assert host["pid"] == os.getpid()
    assert host["python"].count(".") == 2
    assert host["libraries"]["vigil"] == vigil.__version__
    assert isinstance(host["argv"], list) and host["hostname"]


def test_resume_continues_without_losing_or_duplicating(server, client):
    run = init(server, config={"a": 1})
    for i in range(50):
        run.log({"train/loss": float(i)})
    run.finish()
    again = init(server, id=run.id, config={"b": 2})
    assert again.id == run.id
    assert again.step == 50
    for i in range(50, 100):
        again.log({"train/loss": float(i)})
    again.finish()
    steps, _, values = series(client, run.id, "train/loss")
    assert steps == list(range(100))
    assert values == [float(i) for i in range(100)]
    info = client.request("GET", f"/api/v1/runs/{run.id}")
    assert info["resumed"] == 1 and info["state"] == "finished"
    assert info["config"] == {"a": 1, "b": 2}


def test_exception_inside_with_marks_the_run_failed(server, client):
    with pytest.raises(ZeroDivisionError):
        with init(server) as run:
            run.log({"a": 1.0})
            1 / 0
    info = client.request("GET", f"/api/v1/runs/{run.id}")
    assert info["state"] == "failed"
    assert "ZeroDivisionError: division by zero" in info["message"]
    assert "test_log.py" in info["message"]
    assert series(client, run.id, "a")[2] == [1.0]


def test_with_block_without_error_finishes(server, client):
    with init(server) as run:
        run.log({"a": 1.0})
    assert client.request("GET", f"/api/v1/runs/{run.id}")["state"] == "finished"
    run.log({"a": 2.0})  # after finish: ignored, not an error
    assert series(client, run.id, "a")[2] == [1.0]


def test_phases_and_throughput(server, client):
    run = init(server)
    run.log({"train/loss": 1.0}, samples=64, tokens=6400)  # starts the clock
    for step in range(1, 4):
        with run.phase("data"):
            time.sleep(0.01)
        with run.phase("data"):  # twice in one step: adds up
            time.sleep(0.01)
        with run.phase("forward") as p:
            time.sleep(0.03)
        assert p.elapsed >= 0.03
        time.sleep(0.05)
        run.log({"train/loss": 1.0 / step}, samples=64, tokens=6400)
    run.finish()
    steps, _, data = series(client, run.id, "time/data")
    assert steps == [1, 2, 3]
    assert all(0.02 <= v < 0.2 for v in data)
    _, _, fwd = series(client, run.id, "time/forward")
    assert all(0.03 <= v < 0.2 for v in fwd)
    steps, _, sps = series(client, run.id, "perf/samples_per_sec")
    assert steps == [1, 2, 3]
    # Each step lasts >= 0.1 s (0.02 + 0.03 + 0.05): at most 640 samples/s.
    assert all(64 / 1.0 < v <= 640 for v in sps)
    _, _, tps = series(client, run.id, "perf/tokens_per_sec")
    assert [round(t / s) for t, s in zip(tps, sps)] == [100, 100, 100]


def test_invalid_arguments_raise(server):
    with pytest.raises(vigil.VigilError, match="project"):
        vigil.init(server=url_of(server), system_metrics=False)
    with pytest.raises(vigil.VigilError, match="project name"):
        init(server, project="bad project")
    with pytest.raises(vigil.VigilError, match="run id"):
        init(server, id="bad/id")
    with pytest.raises(vigil.VigilError, match="mode"):
        init(server, mode="sideways")
    with pytest.raises(vigil.VigilError, match="rank"):
        init(server, rank=2, world_size=2)


def test_project_from_the_environment_and_disabled_mode(server, client, monkeypatch):
    monkeypatch.setenv("VIGIL_PROJECT", "envproj")
    monkeypatch.setenv("VIGIL_SERVER", url_of(server))
    run = vigil.init(system_metrics=False)
    run.finish()
    assert client.request("GET", f"/api/v1/runs/{run.id}")["project"] == "envproj"
    monkeypatch.setenv("VIGIL_MODE", "disabled")
    off = vigil.init(system_metrics=False)
    off.log({"a": 1.0})
    off.finish()
    assert client.request("GET", "/api/v1/runs")["total"] == 1
