"""The C++ SDK against a real server, through examples/cpp/sdk_driver.cc."""

import concurrent.futures
import os
import time

from sdk_driver import expected_series, run_driver, vigil
from vigil_server import decode_value

THREADS = 8
POINTS = 20000


def check_run_data(client, run_id, threads, points):
    listed = client.request("GET", f"/api/v1/runs/{run_id}/metrics")["series"]
    assert len(listed) == threads * 3, listed
    for (metric, labels), pts in expected_series(threads, points).items():
        s = client.series(run_id, metric, labels=dict(labels))
        assert s["steps"] == [p[0] for p in pts], (metric, labels)
        assert [decode_value(v) for v in s["values"]] == [p[1] for p in pts], (metric, labels)
        # Times are wall-clock milliseconds stamped by the SDK.
        assert all(t > 1.6e12 for t in s["times"])


def test_eight_threads_nothing_lost_or_duplicated(server, client):
    stats, _ = run_driver("--server", f"http://127.0.0.1:{server.port}", "--threads", THREADS,
                          "--points", POINTS, "--project", "cpp")
    total = THREADS * POINTS * 3
    assert stats["logged"] == total
    assert stats["delivered"] == total
    assert stats["duplicates"] == 0
    assert stats["dropped"] == 0 and stats["rejected"] == 0 and stats["pending"] == 0
    assert stats["local_dir"] == ""  # nothing spilled
    check_run_data(client, stats["id"], THREADS, POINTS)
    run = client.request("GET", f"/api/v1/runs/{stats['id']}")
    assert run["state"] == "finished"
    assert run["project"] == "cpp"
    assert run["config"]["threads"] == THREADS and run["config"]["driver"] == "cpp"
    assert run["summary"]["done"] is True


def test_resume_by_id_adds_points_to_the_same_run(server, client):
    url = f"http://127.0.0.1:{server.port}"
    first, _ = run_driver("--server", url, "--threads", 2, "--points", 100, "--id", "resumeme")
    assert first["id"] == "resumeme"
    second, _ = run_driver("--server", url, "--threads", 2, "--points", 300, "--id", "resumeme")
    assert second["id"] == "resumeme" and second["delivered"] == 2 * 300 * 3
    run = client.request("GET", "/api/v1/runs/resumeme")
    assert run["state"] == "finished" and run["resumed"] == 1
    s = client.series("resumeme", "drv/t0")
    assert set(s["steps"]) == set(range(300))


def test_unreachable_server_spills_then_sync_uploads(server, client, tmp_path):
    spool = tmp_path / "spool"
    stats, p = run_driver("--server", "http://127.0.0.1:1", "--threads", 4, "--points", 5000,
                          "--spool-dir", spool, "--spill-after-ms", 100,
                          "--finish-timeout-ms", 300, check=False)
    assert p.returncode == 1
    total = 4 * 5000 * 3
    assert stats["logged"] == total and stats["pending"] == total
    assert stats["local_dir"] == str(spool / stats["id"])
    assert "vigil sync" in p.stderr
    out = vigil("sync", stats["local_dir"], "--server", f"http://127.0.0.1:{server.port}")
    assert f"{total} points ({total} new, 0 already there)" in out.stderr
    check_run_data(client, stats["id"], 4, 5000)
    assert client.request("GET", f"/api/v1/runs/{stats['id']}")["state"] == "finished"


def rank_env(rank, world_size, node):
    env = dict(os.environ)
    env.update(RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank % 2),
               VIGIL_NODE=node)
    return env


def test_ranks_of_one_job_join_one_run(server, client):
    """Four C++ ranks (RANK/WORLD_SIZE from the environment) share one run:
    every series is labelled rank and node, ranks > 0 take no commands, and
    only rank 0's finish finishes the run."""
    url = f"http://127.0.0.1:{server.port}"
    client.create_run(project="cpp", id="cppjob", world_size=4)
    cmd = client.request("POST", "/api/v1/runs/cppjob/commands", {"type": "checkpoint"})
    nodes = {r: f"n{r // 2}" for r in range(4)}

    def run_rank(r):
        return run_driver("--server", url, "--threads", 2, "--points", 500, "--id", "cppjob",
                          "--project", "cpp", env=rank_env(r, 4, nodes[r]))[0]

    # Ranks 1-3 first, concurrently: they join, log, finish; the command
    # stays queued for rank 0 and the run stays running.
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        stats = list(pool.map(run_rank, [1, 2, 3]))
    for s in stats:
        assert s["id"] == "cppjob" and s["delivered"] == 2 * 500 * 3
        assert s["local_dir"] == ""
    run = client.request("GET", "/api/v1/runs/cppjob")
    assert run["state"] == "running" and run["resumed"] == 0
    queued = client.request("GET", "/api/v1/runs/cppjob/commands")["commands"]
    assert [(c["id"], c["state"]) for c in queued] == [(cmd["id"], "queued")]

    run_rank(0)
    run = client.request("GET", "/api/v1/runs/cppjob")
    assert run["state"] == "finished" and run["resumed"] == 0 and run["world_size"] == 4
    assert run["summary"]["done"] is True
    took = client.request("GET", "/api/v1/runs/cppjob/commands")["commands"]
    assert [c["state"] for c in took] == ["acknowledged"]

    listed = client.request("GET", "/api/v1/runs/cppjob/metrics")["series"]
    assert len(listed) == 4 * 2 * 3, listed
    for s in listed:
        r = int(s["labels"]["rank"])
        assert s["labels"]["node"] == nodes[r], s
    for r in range(4):
        for (metric, labels), pts in expected_series(2, 500).items():
            full = dict(labels, rank=str(r), node=nodes[r])
            got = client.series("cppjob", metric, labels=full)
            assert got["steps"] == [p[0] for p in pts], (r, metric, labels)
            assert [decode_value(v) for v in got["values"]] == [p[1] for p in pts]

    # The server's view of the ranks: all four known, on two nodes, finished.
    deadline = time.time() + 20
    while True:
        ranks = client.request("GET", "/api/v1/runs/cppjob/ranks")
        if ranks["finished"] == 4 or time.time() > deadline:
            break
        time.sleep(0.2)
    assert ranks["world_size"] == 4 and ranks["known"] == 4 and ranks["finished"] == 4, ranks
    assert [r["rank"] for r in ranks["ranks"]] == [0, 1, 2, 3]
    assert {r["rank"]: r["node"] for r in ranks["ranks"]} == nodes
    assert all(r["step"] == 499 for r in ranks["ranks"]), ranks["ranks"]
