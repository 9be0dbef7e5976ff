"""Distributed runs over the HTTP API: ranks join one run, heartbeats say
where each rank is, a rank's finish or failure, the /ranks state and the
rank x step heatmap, and the cross-rank alerts (hang, straggler, NaN on one
rank) through a real `vigil serve` on 127.0.0.1 (docs/distributed.md)."""

import json
import os
import threading
import time

import pytest

from vigil_server import ApiError, Server, columnar_body

COMM = 0.004  # seconds each rank spends in comm beyond waiting


def create(client, run_id, rank, world, **extra):
    body = {"project": "dist", "id": run_id, "rank": rank, "world_size": world,
            "node": f"n{rank // 4}"}
    body.update(extra)
    return client.request("POST", "/api/v1/runs", body)


def log_ranks(client, run_id, ranks, steps, slow=None, loss=None):
    """Logs time/data, time/forward and time/comm (a synchronous job: comm
    absorbs the wait for the slowest rank) and train/loss for each rank."""
    slow = slow or {}
    for r in ranks:
        data, fwd, comm, losses = [], [], [], []
        for s in steps:
            d = 0.010 * (1 + 0.02 * ((s * 7 + r) % 5))
            f = 0.030 * slow.get(r, 1.0)
            slowest = 0.012 + 0.030 * max(slow.values(), default=1.0)
            data.append(d)
            fwd.append(f)
            comm.append(max(0.0, slowest - d - f) + COMM)
            losses.append(loss(r, s) if loss else 1.0 + 0.001 * r)
        labels = {"rank": str(r), "node": f"n{r // 4}"}
        series = [{"metric": m, "labels": labels, "steps": list(steps), "values": v}
                  for m, v in (("time/data", data), ("time/forward", fwd), ("time/comm", comm),
                               ("train/loss", losses))]
        client.log(run_id, columnar_body(series))


def beat(client, run_id, body):
    return client.request("POST", f"/api/v1/runs/{run_id}/heartbeat", body)


def wait_for(fn, timeout=20.0, every=0.2):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(every)
    return last


def alerts(client, run_id, rule=None):
    out = client.request("GET", "/api/v1/alerts", query={"run": run_id})["alerts"]
    return [a for a in out if rule is None or a["rule"] == rule]


@pytest.fixture
def fast_server(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('[distributed]\nhang_after = "2s"\nstraggler_window = 20\n'
                     'straggler_for_steps = 40\n')
    s = Server(str(tmp_path / "data"), "--rules", str(rules)).start()
    yield s
    s.stop()


def test_ranks_join_one_run_concurrently(client):
    results, errors = [], []

    def join(r):
        c = client.__class__(client.host, client.port)
        try:
            results.append(create(c, "job-a", r, 16))
        except ApiError as e:
            errors.append(e)
        finally:
            c.close()

    threads = [threading.Thread(target=join, args=(r,)) for r in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 16
    assert {r["id"] for r in results} == {"job-a"}
    run = client.request("GET", "/api/v1/runs/job-a")
    assert run["state"] == "running"
    assert run["resumed"] == 0
    assert run["world_size"] == 16
    assert sum(1 for r in results if r.get("joined")) >= 1
    ranks = wait_for(lambda: (lambda x: x if x["known"] == 16 else None)(
        client.request("GET", "/api/v1/runs/job-a/ranks")))
    assert ranks["known"] == 16, ranks
    assert ranks["world_size"] == 16
    assert [r["rank"] for r in ranks["ranks"]] == list(range(16))
    assert ranks["ranks"][5]["node"] == "n1"
    assert {n["node"] for n in ranks["nodes"]} == {"n0", "n1", "n2", "n3"}


def test_heartbeat_body_is_validated(client):
    create(client, "job-b", 0, 4)
    assert beat(client, "job-b", {"rank": 1, "step": 10, "phase": "comm", "phase_ms": 30,
                                  "node": "n0"})["state"] == "running"
    assert beat(client, "job-b", b"")["state"] == "running"
    bad = [
        ({"rank": 4}, "rank: 4 is not in [0, 4)"),
        ({"rank": -1}, "rank: -1 is not in [0, 4)"),
        ({"rank": 1, "step": -2}, "step: must be >= 0"),
        ({"rank": 1, "phase": "x" * 65}, "phase: longer than 64 bytes"),
        ({"rank": 1, "phase_ms": -5}, "phase_ms: must be >= 0"),
        ({"rank": 1, "colour": "red"}, "colour"),
        ({"step": 3}, "rank: required"),
        ({"rank": "1"}, "rank"),
        ([1, 2], "body"),
    ]
    for body, message in bad:
        with pytest.raises(ApiError) as e:
            beat(client, "job-b", body)
        assert e.value.status == 400, body
        assert message in e.value.message, (body, e.value.message)
    with pytest.raises(ApiError) as e:
        beat(client, "job-b", b"{not json")
    assert e.value.status == 400
    ranks = wait_for(lambda: (lambda x: x if x["known"] >= 1 else None)(
        client.request("GET", "/api/v1/runs/job-b/ranks")))
    r1 = [r for r in ranks["ranks"] if r["rank"] == 1][0]
    assert r1["phase"] == "comm" and r1["step"] == 10 and r1["node"] == "n0"


def test_rank_finish_and_failure(client):
    for r in range(4):
        create(client, "job-c", r, 4)
    out = client.request("PATCH", "/api/v1/runs/job-c", {"state": "finished", "rank": 3,
                                                          "summary": {"x": 1}})
    assert out["state"] == "running"
    assert client.request("GET", "/api/v1/runs/job-c")["summary"] == {}
    finished = wait_for(lambda: [r for r in client.request("GET", "/api/v1/runs/job-c/ranks")[
        "ranks"] if r["state"] == "finished"])
    assert [r["rank"] for r in finished] == [3]
    with pytest.raises(ApiError) as e:
        client.request("PATCH", "/api/v1/runs/job-c", {"state": "finished", "rank": 4})
    assert e.value.status == 400
    out = client.request("PATCH", "/api/v1/runs/job-c", {"state": "failed", "rank": 2,
                                                          "message": "CUDA error"})
    assert out["state"] == "failed"
    assert out["message"] == "rank 2: CUDA error"

    for r in range(2):
        create(client, "job-d", r, 2)
    client.request("PATCH", "/api/v1/runs/job-d", {"state": "finished", "rank": 1})
    assert client.request("GET", "/api/v1/runs/job-d")["state"] == "running"
    out = client.request("PATCH", "/api/v1/runs/job-d", {"state": "finished", "rank": 0})
    assert out["state"] == "finished"
    # The job restarts: a rank other than 0 arriving first joins the ended
    # run as it is; rank 0 resumes it.
    early = create(client, "job-d", 1, 2)
    assert early["joined"] is True and early["state"] == "finished"
    again = create(client, "job-d", 0, 2)
    assert again["resumed_now"] is True and again["state"] == "running"
    assert client.request("GET", "/api/v1/runs/job-d")["resumed"] == 1


def test_heatmap_and_spread_show_the_slow_rank(client):
    for r in range(8):
        create(client, "job-e", r, 8)
    log_ranks(client, "job-e", range(8), range(0, 100), slow={5: 1.5})
    h = client.request("GET", "/api/v1/runs/job-e/ranks/heatmap", query={"steps": 10})
    assert h["metric"] == "step_time"
    assert h["metrics"][:2] == ["step_time", "compute_time"]
    assert "time/data" in h["metrics"] and "train/loss" in h["metrics"]
    assert h["ranks"] == list(range(8))
    assert h["nodes"] == ["n0"] * 4 + ["n1"] * 4
    assert h["steps"] == list(range(0, 100, 10)) and h["bin"] == 10
    assert len(h["values"]) == 8 and all(len(row) == 10 for row in h["values"])
    # Synchronous: step time is the same on every rank ...
    step_means = h["row_mean"]
    assert max(step_means) - min(step_means) < 1e-6
    assert step_means[0] == pytest.approx(0.012 + 0.045 + COMM, rel=0.03)
    # ... compute time singles out rank 5.
    c = client.request("GET", "/api/v1/runs/job-e/ranks/heatmap",
                       query={"metric": "compute_time", "from": 50, "to": 99, "steps": 5})
    assert c["step_from"] == 50 and c["step_to"] == 99 and c["bin"] == 10
    slowest = max(range(8), key=lambda i: c["row_mean"][i])
    assert c["ranks"][slowest] == 5
    assert c["row_mean"][5] == pytest.approx(0.0102 + 0.045, rel=0.05)
    d = client.request("GET", "/api/v1/runs/job-e/ranks/heatmap", query={"metric": "time/data"})
    assert d["values"][0][0] == pytest.approx(0.010, rel=0.1)
    for query, status in (({"steps": 0}, 400), ({"steps": "x"}, 400),
                          ({"from": 10, "to": 5}, 400), ({"metric": "nope"}, 404)):
        with pytest.raises(ApiError) as e:
            client.request("GET", "/api/v1/runs/job-e/ranks/heatmap", query=query)
        assert e.value.status == status, query
    with pytest.raises(ApiError) as e:
        client.request("GET", "/api/v1/runs/nope/ranks")
    assert e.value.status == 404
    ranks = wait_for(lambda: (lambda x: x if x["spread"] else None)(
        client.request("GET", "/api/v1/runs/job-e/ranks")))
    assert ranks["spread"][0]["ranks"] == 8
    by_rank = {r["rank"]: r for r in ranks["ranks"]}
    assert by_rank[5]["slowdown"] > 1.3
    assert all(by_rank[r]["slowdown"] < 1.1 for r in range(8) if r != 5)


def test_not_distributed_run_has_empty_ranks(client):
    run = client.create_run(name="solo")
    out = client.request("GET", f"/api/v1/runs/{run['id']}/ranks")
    assert out["world_size"] == 0 and out["ranks"] == [] and out["hang"] is None
    h = client.request("GET", f"/api/v1/runs/{run['id']}/ranks/heatmap")
    assert h["ranks"] == [] and h["metrics"] == []


def test_hang_alert_names_the_rank_that_stopped(fast_server):
    client = fast_server.client()
    for r in range(8):
        create(client, "job-h", r, 8)
    log_ranks(client, "job-h", range(8), range(0, 50))
    # Rank 6 stays in its data phase of step 50; the others wait in comm.
    t0 = time.time()
    fired = None
    while time.time() - t0 < 15 and not fired:
        elapsed_ms = int((time.time() - t0) * 1000)
        for r in range(8):
            beat(client, "job-h", {"rank": r, "step": 49, "phase": "data" if r == 6 else "comm",
                                   "phase_ms": elapsed_ms + (20 if r == 6 else 0)})
        fired = alerts(client, "job-h", "builtin/rank_hang")
        time.sleep(0.5)
    took = time.time() - t0
    assert fired, "no rank_hang alert within 15 s"
    a = fired[0]
    assert a["severity"] == "critical"
    assert "the first to stop was rank 6 at step 49 in phase data on node n1" in a["message"], a
    assert "7 ranks wait (7 in comm at step 49)" in a["message"]
    # Bound: hang_after (2 s) + heartbeat spacing (0.5 s) + the 2 s tick.
    assert took < 2 + 0.5 + 2 + 1.5, took
    ranks = client.request("GET", "/api/v1/runs/job-h/ranks")
    assert ranks["hang"]["ranks"] == [6]
    assert [r["state"] for r in ranks["ranks"]].count("stuck") == 8
    timeline = client.request("GET", "/api/v1/runs/job-h/events")["events"]
    assert any(e["kind"] == "alert" and "rank 6" in e["message"] for e in timeline)
    # The ranks move again (and keep moving): resolved at the next tick.
    step = [50]

    def advance():
        log_ranks(client, "job-h", range(8), range(step[0], step[0] + 5))
        step[0] += 5
        return [x for x in alerts(client, "job-h", "builtin/rank_hang")
                if x["id"] == a["id"] and x["state"] == "resolved"]

    assert wait_for(advance, timeout=10, every=0.3)
    client.close()


def test_straggler_and_nan_on_one_rank(fast_server):
    client = fast_server.client()
    for r in range(16):
        create(client, "job-s", r, 16)

    def loss(r, s):
        return float("nan") if (r, s) == (11, 30) else 1.0 + 0.01 * (r % 3)

    log_ranks(client, "job-s", range(16), range(0, 100), slow={9: 1.4}, loss=loss)
    time.sleep(2.5)  # a tick sees the first window
    log_ranks(client, "job-s", range(16), range(100, 200), slow={9: 1.4}, loss=loss)
    fired = wait_for(lambda: alerts(client, "job-s", "builtin/straggler"), timeout=10)
    assert fired, "no straggler alert"
    assert len(fired) == 1
    a = fired[0]
    assert a["series"] == "rank=9"
    assert a["severity"] == "warning"
    assert "rank 9 on node n2 is" in a["message"] and "slower than the median rank" in a["message"]
    assert "its forward phase takes" in a["message"]
    assert a["value"] == pytest.approx(1.0 + 0.4 * 0.030 / 0.0402, rel=0.1)
    nan = alerts(client, "job-s", "builtin/rank_divergence")
    assert len(nan) == 1
    assert nan[0]["series"] == "train/loss{rank=11}"
    assert nan[0]["step"] == 30
    assert "non-finite on rank 11 (node n2) only at step 30" in nan[0]["message"]
    client.close()
