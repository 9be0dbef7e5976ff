"""The HTTP API v1 against a real server on loopback: every route, both log
forms, bit-exact read-back, CSV export, and a 4xx with the store unchanged
for every class of bad input."""

import csv
import io
import json
import math
import random
import struct

import pytest

from vigil_server import ApiError, Client, bits, columnar_body, encode_value


def random_double(rng):
    while True:
        v = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
        if not math.isnan(v):
            return v


def test_healthz(client):
    assert client.request("GET", "/healthz") == {"status": "ok"}


def test_create_get_list_patch_delete(client):
    run = client.create_run("proj", name="first", config={"lr": 0.001, "opt": "adam"},
                            tags=["a", "b", "a"], group="g1")
    assert run["project"] == "proj" and run["name"] == "first" and run["state"] == "running"
    assert run["tags"] == ["a", "b"]
    assert run["config"] == {"lr": 0.001, "opt": "adam"}
    rid = run["id"]
    assert client.request("GET", f"/api/v1/runs/{rid}")["group"] == "g1"
    other = client.create_run("proj", name="second")
    page = client.request("GET", "/api/v1/runs", query={"project": "proj", "sort": "name", "order": "asc"})
    assert page["total"] == 2 and [r["name"] for r in page["runs"]] == ["first", "second"]
    assert client.request("GET", "/api/v1/runs", query={"project": "proj", "tag": "a"})["total"] == 1
    assert client.request("GET", "/api/v1/runs", query={"project": "proj", "config.opt": "adam"})["total"] == 1
    patched = client.request("PATCH", f"/api/v1/runs/{rid}",
                             {"state": "finished", "config": {"lr": None, "bs": 32}, "notes": "done"})
    assert patched["state"] == "finished" and patched["finished_ms"]
    assert patched["config"] == {"opt": "adam", "bs": 32}
    events = client.request("GET", f"/api/v1/runs/{rid}/events")["events"]
    assert [e["data"]["state"] for e in events] == ["running", "finished"]
    assert client.request("DELETE", f"/api/v1/runs/{other['id']}") == {"deleted": other["id"]}
    with pytest.raises(ApiError) as e:
        client.request("GET", f"/api/v1/runs/{other['id']}")
    assert e.value.status == 404 and e.value.code == "not_found"
    projects = client.request("GET", "/api/v1/projects")["projects"]
    assert projects[0]["name"] == "proj" and projects[0]["runs"] == 1


def test_resume_with_id_keeps_points_and_merges_config(client):
    run = client.create_run("p", id="my-run-1", config={"a": 1})
    client.log("my-run-1", {"rows": [{"step": 0, "values": {"loss": 1.5}}]})
    client.request("PATCH", "/api/v1/runs/my-run-1", {"state": "failed"})
    again = client.create_run("p", id="my-run-1", config={"b": 2})
    assert again["id"] == run["id"] and again["state"] == "running" and again["resumed"] == 1
    assert again["config"] == {"a": 1, "b": 2}
    assert client.series("my-run-1", "loss")["values"] == [1.5]
    with pytest.raises(ApiError) as e:
        client.create_run("other", id="my-run-1")
    assert e.value.status == 409
    with pytest.raises(ApiError) as e:
        client.create_run("p", id="my-run-1", resume="never")
    assert e.value.status == 409
    with pytest.raises(ApiError) as e:
        client.create_run("p", id="nope", resume="must")
    assert e.value.status == 404


def test_rows_form_round_trips_bit_exact(client):
    rng = random.Random(7)
    rid = client.create_run("p")["id"]
    rows, want = [], {}
    special = [float("nan"), float("inf"), float("-inf"), -0.0, 5e-324, 1.7976931348623157e308]
    for step in range(2000):
        v = special[step] if step < len(special) else random_double(rng)
        w = rng.random()
        rows.append({"step": step, "time": 1_700_000_000_000 + step, "values": {"a": encode_value(v), "b": w},
                     "labels": {"rank": "0"}})
        want[step] = (v, w)
    r = client.log(rid, {"rows": rows})
    assert r == {"accepted": 4000, "duplicates": 0, "commands": []}
    a = client.series(rid, "a", labels={"rank": "0"})
    b = client.series(rid, "b", labels={"rank": "0"})
    assert a["steps"] == list(range(2000)) and a["times"][5] == 1_700_000_000_005
    assert [bits(x) for x in a["values"]] == [bits(want[s][0]) for s in range(2000)]
    assert [bits(x) for x in b["values"]] == [bits(want[s][1]) for s in range(2000)]


def test_columnar_form_and_metrics_listing(client):
    rid = client.create_run("p")["id"]
    body = columnar_body([
        {"metric": "train/loss", "labels": {}, "steps": [0, 1, 2], "times": [10, 20, 30], "values": [3.0, 2.0, 1.0]},
        {"metric": "train/loss", "labels": {"rank": "1"}, "steps": [0], "values": [9.5]},
    ])
    assert client.log(rid, body)["accepted"] == 4
    series = client.request("GET", f"/api/v1/runs/{rid}/metrics")["series"]
    by = {json.dumps(s["labels"]): s for s in series}
    assert by["{}"]["count"] == 3 and by["{}"]["min"] == 1.0 and by["{}"]["last"] == 1.0
    assert by['{"rank": "1"}']["max"] == 9.5
    # Without labels: the label-less series is chosen among several.
    assert client.series(rid, "train/loss")["values"] == [3.0, 2.0, 1.0]
    run = client.request("GET", f"/api/v1/runs/{rid}")
    assert len(run["metrics"]) == 2


def test_ambiguous_metric_asks_for_labels(client):
    rid = client.create_run("p")["id"]
    client.log(rid, {"rows": [{"step": 0, "values": {"x": 1}, "labels": {"rank": str(r)}} for r in range(3)]})
    with pytest.raises(ApiError) as e:
        client.series(rid, "x")
    assert e.value.status == 400 and "labels=" in e.value.message


def test_series_ranges_axes_csv_and_downsampling(client):
    rid = client.create_run("p")["id"]
    n = 10_000
    values = [math.sin(i / 100) for i in range(n)]
    values[5000] = 100.0
    client.log(rid, columnar_body([{"metric": "m", "steps": list(range(n)),
                                    "times": [1_000_000 + 10 * i for i in range(n)], "values": values}]))
    part = client.series(rid, "m", **{"from": 10, "to": 19})
    assert part["steps"] == list(range(10, 20)) and part["downsampled"] is False
    by_time = client.series(rid, "m", x="time", **{"from": 1_000_100, "to": 1_000_120})
    assert by_time["steps"] == [10, 11, 12]
    small = client.series(rid, "m", points=400)
    assert small["downsampled"] and len(small["values"]) <= 400 and 100.0 in small["values"]
    assert small["source_points"] == n
    assert "Server-Timing" in client.last_headers
    text = client.request("GET", f"/api/v1/runs/{rid}/series", query={"metric": "m", "format": "csv"}, raw=True)
    rows = list(csv.reader(io.StringIO(text.decode())))
    assert rows[0] == ["step", "time", "value"] and len(rows) == n + 1
    assert [float(r[2]) for r in rows[1:]] == values


def test_export_csv_equals_the_points(client):
    rid = client.create_run("p")["id"]
    rows = [{"step": s, "time": 1000 + s, "values": {"loss": 1 / (s + 1), "acc": s / 10}} for s in range(0, 50)]
    rows += [{"step": s, "time": 2000 + s, "values": {"val/loss": s * 0.5}} for s in range(0, 50, 10)]
    client.log(rid, {"rows": rows})
    text = client.request("GET", f"/api/v1/runs/{rid}/export", query={"format": "csv"}, raw=True).decode()
    table = list(csv.DictReader(io.StringIO(text)))
    assert list(table[0].keys()) == ["step", "time", "acc", "loss", "val/loss"]
    assert len(table) == 50
    for r in table:
        s = int(r["step"])
        assert float(r["loss"]) == 1 / (s + 1) and float(r["acc"]) == s / 10
        if s % 10:
            assert r["val/loss"] == ""
        else:
            assert float(r["val/loss"]) == s * 0.5
        assert int(r["time"]) == 1000 + s


def test_resent_batches_are_idempotent(client):
    rid = client.create_run("p")["id"]
    body = {"rows": [{"step": s, "time": 5 + s, "values": {"x": s * 1.5}} for s in range(100)]}
    assert client.log(rid, body)["accepted"] == 100
    assert client.log(rid, body) == {"accepted": 0, "duplicates": 100, "commands": []}
    assert len(client.series(rid, "x")["values"]) == 100


def test_heartbeat(client):
    rid = client.create_run("p")["id"]
    assert client.request("POST", f"/api/v1/runs/{rid}/heartbeat")["commands"] == []


BAD_BATCHES = [
    ("malformed JSON", b'{"rows": [', 400, "invalid_argument", "not valid JSON"),
    ("not an object", b"[1, 2]", 400, "invalid_argument", ""),
    ("both forms", {"rows": [], "series": []}, 400, "invalid_argument", ""),
    ("unknown key", {"rows": [{"step": 1, "valeus": {"x": 1}}]}, 400, "invalid_argument", "valeus"),
    ("step not an integer", {"rows": [{"step": 1.5, "values": {"x": 1}}]}, 400, "invalid_argument", "rows[0].step"),
    ("negative step", {"rows": [{"step": -1, "values": {"x": 1}}]}, 400, "invalid_argument", "rows[0].step"),
    ("step as string", {"rows": [{"step": "3", "values": {"x": 1}}]}, 400, "invalid_argument", "rows[0].step"),
    ("value wrong type", {"rows": [{"step": 0, "values": {"x": 1}}, {"step": 1, "values": {"x": 1}},
                                   {"step": 2, "values": {"x": 1}}, {"step": 3, "values": {"train/loss": "abc"}}]},
     400, "invalid_argument", 'rows[3].values["train/loss"]'),
    ("value null", {"rows": [{"step": 0, "values": {"x": None}}]}, 400, "invalid_argument", 'rows[0].values["x"]'),
    ("bad metric name", {"rows": [{"step": 0, "values": {"bad name": 1}}]}, 400, "invalid_argument", "metric name"),
    ("bad label name", {"rows": [{"step": 0, "values": {"x": 1}, "labels": {"9x": "a"}}]}, 400, "invalid_argument", "label name"),
    ("label value not a string", {"rows": [{"step": 0, "values": {"x": 1}, "labels": {"rank": 0}}]}, 400, "invalid_argument", "labels"),
    ("reserved label", {"rows": [{"step": 0, "values": {"x": 1}, "labels": {"run": "a"}}]}, 400, "invalid_argument", "run"),
    ("column length mismatch", {"series": [{"metric": "x", "steps": [0, 1], "values": [1]}]}, 400, "invalid_argument", "series[0]"),
    ("empty series", {"series": [{"metric": "x", "steps": [], "values": []}]}, 400, "invalid_argument", "series[0]"),
    ("time out of range", {"rows": [{"step": 0, "time": -5, "values": {"x": 1}}]}, 400, "invalid_argument", "rows[0].time"),
]


@pytest.mark.parametrize("name,body,status,code,fragment", BAD_BATCHES, ids=[b[0] for b in BAD_BATCHES])
def test_bad_batches_are_refused_and_store_nothing(client, name, body, status, code, fragment):
    rid = client.create_run("p")["id"]
    client.log(rid, {"rows": [{"step": 0, "time": 1, "values": {"x": 1.0}}]})
    before = client.request("GET", f"/api/v1/runs/{rid}/metrics")
    # The bad batch also carries a valid point that must not be stored.
    if isinstance(body, dict) and "rows" in body and body["rows"]:
        body = dict(body, rows=[{"step": 99, "values": {"x": 7.0}}] + body["rows"])
        fragment = fragment.replace("rows[3]", "rows[4]").replace("rows[0]", "rows[1]")
    with pytest.raises(ApiError) as e:
        client.log(rid, body)
    assert e.value.status == status and e.value.code == code
    assert fragment in e.value.message, e.value.message
    assert client.request("GET", f"/api/v1/runs/{rid}/metrics") == before


def test_limits(tmp_path):
    from vigil_server import Server
    with Server(str(tmp_path / "d"), "--max-series-per-batch", "3", "--max-points-per-batch", "10",
                "--max-body-bytes", "100000") as s:
        c = s.client()
        rid = c.create_run("p")["id"]
        with pytest.raises(ApiError) as e:
            c.log(rid, {"rows": [{"step": 0, "values": {f"m{i}": 1 for i in range(4)}}]})
        assert e.value.status == 413 and "3" in e.value.message
        with pytest.raises(ApiError) as e:
            c.log(rid, {"rows": [{"step": i, "values": {"m": 1}} for i in range(11)]})
        assert e.value.status == 413
        with pytest.raises(ApiError) as e:
            c.log(rid, b'{"rows": [' + b" " * 200_000 + b"]}")
        assert e.value.status == 413
        c.close()
        c = s.client()
        assert c.request("GET", f"/api/v1/runs/{rid}/metrics")["series"] == []


def test_unknown_run_and_routes(client):
    with pytest.raises(ApiError) as e:
        client.log("nosuchrun", {"rows": []})
    assert e.value.status == 404 and "nosuchrun" in e.value.message
    with pytest.raises(ApiError) as e:
        client.request("GET", "/api/v1/nothing")
    assert e.value.status == 404
    with pytest.raises(ApiError) as e:
        client.request("PUT", "/api/v1/runs")
    assert e.value.status == 405


BAD_RUN_REQUESTS = [
    ("POST", "/api/v1/runs", {"name": "x"}, "project"),
    ("POST", "/api/v1/runs", {"project": "has space"}, "project"),
    ("POST", "/api/v1/runs", {"project": "p", "id": "a/b"}, "id"),
    ("POST", "/api/v1/runs", {"project": "p", "config": [1]}, "config"),
    ("POST", "/api/v1/runs", {"project": "p", "tags": "a"}, "tags"),
    ("POST", "/api/v1/runs", {"project": "p", "bogus": 1}, "bogus"),
    ("GET", "/api/v1/runs?state=sleeping", None, "state"),
    ("GET", "/api/v1/runs?limit=0", None, "limit"),
    ("GET", "/api/v1/runs?sort=size", None, "sort"),
]


@pytest.mark.parametrize("method,path,body,fragment", BAD_RUN_REQUESTS)
def test_bad_run_requests(client, method, path, body, fragment):
    with pytest.raises(ApiError) as e:
        client.request(method, path, body)
    assert e.value.status == 400 and fragment in e.value.message, e.value.message
    assert client.request("GET", "/api/v1/runs")["total"] == 0


def test_bad_series_queries(client):
    rid = client.create_run("p")["id"]
    client.log(rid, {"rows": [{"step": 0, "values": {"x": 1}}]})
    for q, fragment in [({}, "metric"), ({"metric": "x", "points": "2"}, "points"),
                        ({"metric": "x", "x": "epoch"}, "x"), ({"metric": "x", "from": "a"}, "from"),
                        ({"metric": "x", "labels": "rank=0"}, "labels"), ({"metric": "x", "format": "xml"}, "format")]:
        with pytest.raises(ApiError) as e:
            client.request("GET", f"/api/v1/runs/{rid}/series", query=q)
        assert e.value.status == 400 and fragment in e.value.message, (q, e.value.message)
    with pytest.raises(ApiError) as e:
        client.series(rid, "y")
    assert e.value.status == 404


def test_many_keepalive_connections(server):
    """1,000 connections open at once, each doing requests."""
    import socket
    socks = []
    try:
        for _ in range(1000):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=30)
            socks.append(s)
        req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        for s in socks:
            s.sendall(req)
        ok = 0
        for s in socks:
            data = b""
            while b"\r\n\r\n" not in data or not data.endswith(b"}"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            ok += data.startswith(b"HTTP/1.1 200")
        assert ok == 1000
    finally:
        for s in socks:
            s.close()
