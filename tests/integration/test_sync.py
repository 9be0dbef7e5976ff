"""`vigil sync`: offline run directories written by the C++ SDK (and by hand,
torn or corrupt) uploaded to a real server, idempotently."""

import json
import os

from sdk_driver import run_driver, vigil
from vigil_server import bits


def file_points(run_dir):
    """(metric, labels json, step) -> (time, value bits) from batches.jsonl."""
    out = {}
    with open(os.path.join(run_dir, "batches.jsonl")) as f:
        for line in f:
            for s in json.loads(line)["series"]:
                labels = json.dumps(s["labels"], sort_keys=True)
                for st, t, v in zip(s["steps"], s["times"], s["values"]):
                    key = (s["metric"], labels, st)
                    assert key not in out, f"duplicate point in the file: {key}"
                    out[key] = (t, bits(v))
    return out


def server_points(client, run_id):
    out = {}
    for info in client.request("GET", f"/api/v1/runs/{run_id}/metrics")["series"]:
        s = client.series(run_id, info["metric"], labels=info.get("labels", {}))
        labels = json.dumps(info.get("labels", {}), sort_keys=True)
        for st, t, v in zip(s["steps"], s["times"], s["values"]):
            key = (info["metric"], labels, st)
            assert key not in out, f"duplicate point on the server: {key}"
            out[key] = (t, bits(v))
    return out


def url(server):
    return f"http://127.0.0.1:{server.port}"


def test_offline_cpp_sdk_files_sync_identically_and_twice_without_duplicates(server, client, tmp_path):
    root = tmp_path / "offline"
    stats, _ = run_driver("--mode", "offline", "--offline-dir", root, "--threads", 8,
                          "--points", 3000)
    run_dir = root / stats["id"]
    assert stats["local_dir"] == str(run_dir)
    assert stats["delivered"] == stats["logged"] == 8 * 3000 * 3
    assert json.loads((run_dir / "run.json").read_text())["id"] == stats["id"]
    assert json.loads((run_dir / "finish.json").read_text())["state"] == "finished"
    in_files = file_points(run_dir)
    assert len(in_files) == stats["logged"]

    out = vigil("sync", root, "--server", url(server))  # the root of many runs
    n = stats["logged"]
    assert f"1 run synced, 0 failed; {n} points ({n} new, 0 already there)" in out.stderr
    assert (run_dir / "synced").exists()
    assert server_points(client, stats["id"]) == in_files
    run = client.request("GET", f"/api/v1/runs/{stats['id']}")
    assert run["state"] == "finished" and run["summary"]["done"] is True
    assert run["config"]["threads"] == 8

    out = vigil("sync", run_dir, "--server", url(server))  # one run directory, again
    assert f"{n} points (0 new, {n} already there)" in out.stderr
    assert server_points(client, stats["id"]) == in_files


def write_run(run_dir, run_id, lines, finish=None, tail=""):
    os.makedirs(run_dir)
    with open(os.path.join(run_dir, "run.json"), "w") as f:
        json.dump({"project": "synced", "id": run_id, "config": {"a": 1}}, f)
    with open(os.path.join(run_dir, "batches.jsonl"), "w") as f:
        for body in lines:
            f.write(json.dumps(body) + "\n")
        f.write(tail)
    if finish:
        with open(os.path.join(run_dir, "finish.json"), "w") as f:
            json.dump(finish, f)


def batch(metric, steps, base=0.0):
    return {"series": [{"metric": metric, "labels": {}, "steps": steps,
                        "times": [1732800000000 + s for s in steps],
                        "values": [base + s for s in steps]}]}


def test_torn_last_line_is_ignored_with_a_warning(server, client, tmp_path):
    run_dir = tmp_path / "torn1234"
    write_run(str(run_dir), "torn1234", [batch("m", [0, 1]), batch("m", [2, 3])],
              finish={"state": "crashed"}, tail='{"series": [{"metric": "m", "lab')
    out = vigil("sync", run_dir, "--server", url(server))
    assert "batches.jsonl:3: warning: torn last line" in out.stderr
    assert "4 points (4 new, 0 already there)" in out.stderr
    s = client.series("torn1234", "m")
    assert s["steps"] == [0, 1, 2, 3]
    assert client.request("GET", "/api/v1/runs/torn1234")["state"] == "crashed"


def test_bad_lines_are_reported_with_file_and_line(server, client, tmp_path):
    root = tmp_path / "root"
    good = root / "good0001"
    write_run(str(good), "good0001", [batch("m", [0])])
    bad = root / "bad00001"
    write_run(str(bad), "bad00001", [batch("m", [0, 1])],
              tail='not json\n{"series": [{"metric": "m", "steps": [1, 2], "values": [1]}]}\n'
                   + json.dumps(batch("m", [5])) + "\n")
    p = vigil("sync", root, "--server", url(server), check=False)
    assert p.returncode == 1
    assert f"{bad}/batches.jsonl:2: not JSON" in p.stderr
    assert f"{bad}/batches.jsonl:3: series[0]: 2 steps but 1 values" in p.stderr
    assert "2 bad lines" in p.stderr
    # Everything valid was uploaded, in both runs.
    assert client.series("good0001", "m")["steps"] == [0]
    assert client.series("bad00001", "m")["steps"] == [0, 1, 5]


def test_sync_errors(server, tmp_path):
    p = vigil("sync", tmp_path / "missing", "--server", url(server), check=False)
    assert p.returncode == 1 and "is not a directory" in p.stderr
    p = vigil("sync", tmp_path, "--server", url(server), check=False)
    assert p.returncode == 1 and "no run directory" in p.stderr
    run_dir = tmp_path / "r1"
    write_run(str(run_dir), "r1", [batch("m", [0])])
    p = vigil("sync", run_dir, "--server", "http://127.0.0.1:1", check=False)
    assert p.returncode == 1 and "127.0.0.1:1" in p.stderr
    assert not (run_dir / "synced").exists()
