"""The everyday CLI against a real server: `vigil runs`, `vigil export`."""

import csv
import io
import subprocess

from vigil_server import vigil_binary


def vigil(*args, check=True):
    p = subprocess.run([vigil_binary(), *args], capture_output=True, text=True, timeout=60)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def test_runs_lists_and_filters(server, client):
    a = client.create_run("alpha", name="first", tags=["x"])["id"]
    b = client.create_run("beta", name="second")["id"]
    client.request("PATCH", f"/api/v1/runs/{b}", {"state": "finished"})
    url = f"http://127.0.0.1:{server.port}"
    out = vigil("runs", "--server", url).stdout
    assert a in out and b in out and "first" in out and "finished" in out
    out = vigil("runs", "--server", url, "--project", "alpha").stdout
    assert a in out and b not in out
    out = vigil("runs", "--server", url, "--state", "finished").stdout
    assert b in out and a not in out


def test_export_writes_the_stored_points(server, client, tmp_path):
    rid = client.create_run("p")["id"]
    client.log(rid, {"series": [
        {"metric": "train/loss", "labels": {}, "steps": [0, 1, 2], "times": [10, 20, 30], "values": [1.0, 0.5, 0.25]},
        {"metric": "val/acc", "labels": {}, "steps": [2], "times": [30], "values": [0.875]}]})
    out = tmp_path / "run.csv"
    vigil("export", rid, "--format", "csv", "--server", f"http://127.0.0.1:{server.port}", "--output", str(out))
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["step"] for r in rows] == ["0", "1", "2"]
    assert [r["train/loss"] for r in rows] == ["1", "0.5", "0.25"]
    assert rows[2]["val/acc"] == "0.875" and rows[0]["val/acc"] == ""
    assert out.read_text() == client.request("GET", f"/api/v1/runs/{rid}/export", query={"format": "csv"}, raw=True).decode()


def test_cli_errors_are_clear(server):
    p = vigil("export", "nosuchrun", "--server", f"http://127.0.0.1:{server.port}", check=False)
    assert p.returncode != 0 and "nosuchrun" in p.stderr
    p = vigil("runs", "--server", "http://127.0.0.1:1", check=False)
    assert p.returncode != 0 and "127.0.0.1:1" in p.stderr
