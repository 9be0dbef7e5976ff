"""GET /metrics: valid under `promtool check metrics`, and scraped by a real
Prometheus (Debian's, on loopback) whose query API then returns our values."""

import json
import os
import socket
import subprocess
import time
import urllib.parse
import urllib.request


from vigil_server import REPO  # noqa: F401  (conftest puts this directory on sys.path)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_some(client):
    rid = client.create_run("prom", name="scraped")["id"]
    body = {"series": [
        {"metric": "train/loss", "labels": {}, "steps": [1, 2, 3], "values": [0.9, 0.7, 0.625]},
        {"metric": "sys/gpu/utilization", "labels": {"gpu": "0"}, "steps": [1, 2], "values": [40, 87]},
        {"metric": "val/acc", "labels": {"split": "a\"b\\c"}, "steps": [3], "values": ["NaN"]},
    ]}
    assert client.log(rid, body)["accepted"] == 6
    return rid


def test_promtool_accepts_the_exposition(client):
    rid = log_some(client)
    text = client.request("GET", "/metrics", raw=True).decode()
    assert client.last_headers["Content-Type"].startswith("text/plain; version=0.0.4")
    # The latest value of each series of the running run is there, labelled.
    assert f'vigil_run_train_loss{{project="prom",run="{rid}"}} 0.625' in text
    assert f'vigil_run_sys_gpu_utilization{{project="prom",run="{rid}",gpu="0"}} 87' in text
    assert 'split="a\\"b\\\\c"' in text and " NaN" in text
    for family in ("vigil_ingest_points_total", "vigil_http_requests_total",
                   "vigil_http_request_duration_seconds_bucket"):
        assert family in text
    check = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=60)
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()


def test_finished_runs_leave_the_exposition(client):
    rid = log_some(client)
    client.request("PATCH", f"/api/v1/runs/{rid}", {"state": "finished"})
    text = client.request("GET", "/metrics", raw=True).decode()
    assert f'run="{rid}"' not in text


def test_real_prometheus_scrapes_vigil(server, client, tmp_path):
    rid = log_some(client)
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n"
        "scrape_configs:\n"
        "  - job_name: vigil\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{server.port}']\n")
    proc = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / "prometheus.log", "wb"))
    try:
        query = urllib.parse.quote(f'vigil_run_train_loss{{run="{rid}"}}')
        url = f"http://127.0.0.1:{port}/api/v1/query?query={query}"
        deadline = time.time() + 60
        result = []
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    result = json.load(r)["data"]["result"]
                if result:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert result, "Prometheus never returned the scraped series: " + \
            (tmp_path / "prometheus.log").read_text()[-2000:]
        assert float(result[0]["value"][1]) == 0.625
        assert result[0]["metric"]["project"] == "prom"
        # The scrape itself is healthy.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/targets", timeout=5) as r:
            targets = json.load(r)["data"]["activeTargets"]
        assert [t["health"] for t in targets] == ["up"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
