"""`vigil agent` end to end: the fake NVML library (tests/fake_nvml) scripted
per test through VIGIL_NVML_LIBRARY and VIGIL_FAKE_NVML_SCRIPT, a real
`vigil serve`, promtool and a real Prometheus on loopback, and the Grafana
dashboard checked against the names vigil exports."""

import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from vigil_server import REPO, Client, Server, vigil_binary  # noqa: F401


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fake_nvml(legacy=False):
    """The fake library built beside the vigil binary (or $VIGIL_FAKE_NVML)."""
    name = "libvigil_fake_nvml_legacy.so" if legacy else "libvigil_fake_nvml.so"
    env = os.environ.get("VIGIL_FAKE_NVML")
    if env and not legacy:
        return env
    path = os.path.join(os.path.dirname(vigil_binary()), "tests", "fake_nvml", name)
    if not os.path.exists(path):
        pytest.fail(f"{path} missing: build the vigil_fake_nvml target")
    return path


class Agent:
    def __init__(self, tmp_path, script, *args, library=None):
        self.script = tmp_path / "nvml.script"
        self.script.write_text(script)
        self.stderr_path = tmp_path / f"agent-{time.monotonic_ns()}.log"
        env = dict(os.environ, VIGIL_NVML_LIBRARY=library or fake_nvml(),
                   VIGIL_FAKE_NVML_SCRIPT=str(self.script),
                   VIGIL_SPOOL_DIR=str(tmp_path / "spool"))
        env.pop("VIGIL_SERVER", None)
        self.proc = subprocess.Popen([vigil_binary(), "agent", *args], env=env,
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(self.stderr_path, "wb"))

    def stderr(self):
        return self.stderr_path.read_text()

    def wait_for(self, text, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in self.stderr():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"agent never said {text!r}:\n{self.stderr()}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


def listing(client, run):
    """{(metric, labels as sorted tuple): series info} of a run."""
    out = {}
    for s in client.request("GET", f"/api/v1/runs/{run}/metrics")["series"]:
        out[(s["metric"], tuple(sorted(s["labels"].items())))] = s
    return out


def gpu(i, **more):
    return tuple(sorted(dict(gpu=str(i), uuid=f"GPU-fake-{i:04d}", **more).items()))


def sleeper():
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])


SCRIPT = """gpus 2
name * NVIDIA H100 80GB HBM3
set 1 utilization.gpu 87
set 1 memory.used 21474836480
set 1 power.usage 312500
set 1 energy 123456789
set 1 temperature.gpu 67
set 1 reasons 68
set 1 pcie.tx 2000
set 1 nvlink.tx 1000 2000 3000 4000 5000 6000 7000 8000 9000 10000
unsupported * temperature.memory
"""


def test_sidecar_logs_gpu_host_and_process_series_and_ends_with_the_pid(client, tmp_path):
    run = client.create_run("agent")["id"]
    child = sleeper()
    agent = Agent(tmp_path, SCRIPT + f"proc 1 {child.pid} 1073741824\n",
                  "--server", f"http://127.0.0.1:{client.port}", "--run", run,
                  "--pid", str(child.pid), "--interval", "200ms")
    try:
        agent.wait_for("sidecar mode")
        # Sample until the scripted NVLink counter has stopped (after 10
        # rounds) and its rate has reached 0 at the server: a count of
        # rounds, not a fixed sleep, so a loaded machine only makes it slower.
        deadline = time.time() + 60
        while time.time() < deadline:
            nv = listing(client, run).get(("sys/gpu/nvlink_tx_bytes_per_sec", gpu(1)))
            if nv and nv["count"] > 11 and nv["last"] == 0:
                break
            time.sleep(0.2)
        child.kill()
        child.wait()
        assert agent.proc.wait(timeout=15) == 0, agent.stderr()
    finally:
        agent.stop()
    assert f"process {child.pid} exited" in agent.stderr()
    s = listing(client, run)
    # Values with their units, on the GPU the process tree uses.
    assert s[("sys/gpu/utilization", gpu(1))]["last"] == 87
    assert s[("sys/gpu/memory_used_bytes", gpu(1))]["last"] == 21474836480
    assert s[("sys/gpu/power_watts", gpu(1))]["last"] == 312.5
    assert s[("sys/gpu/energy_joules", gpu(1))]["last"] == 123456.789
    assert s[("sys/gpu/temperature_celsius", gpu(1))]["last"] == 67
    assert s[("sys/gpu/throttle", gpu(1, reason="sw_power_cap"))]["last"] == 1
    assert s[("sys/gpu/throttle", gpu(1, reason="gpu_idle"))]["last"] == 0
    assert s[("sys/gpu/pcie_tx_bytes_per_sec", gpu(1))]["last"] == 2000 * 1024
    # 1000 KiB more per round of 0.2 s (the rate uses measured time: allow jitter).
    # (the script's counter stops growing after 10 rounds: the rate then drops to 0).
    nv = s[("sys/gpu/nvlink_tx_bytes_per_sec", gpu(1))]
    assert 0.5 * 5000 * 1024 < nv["max"] < 2 * 5000 * 1024 and nv["last"] == 0
    assert s[("sys/gpu/process_memory_bytes", gpu(1, pid=str(child.pid)))]["last"] == 1073741824
    assert s[("sys/proc/gpu_memory_bytes", ())]["last"] == 1073741824
    # Unsupported: one point per GPU and field, and one notice each.
    assert s[("sys/gpu/unsupported", gpu(1, field="memory_temperature"))]["count"] == 1
    assert agent.stderr().count("memory_temperature is not supported") == 2
    # Attribution: GPU 0 (not used by the tree) only in the first round.
    assert s[("sys/gpu/utilization", gpu(0))]["count"] == 1
    assert s[("sys/gpu/utilization", gpu(1))]["count"] >= 5
    # Host and process tree.
    assert 0 <= s[("sys/cpu/utilization", ())]["last"] <= 100
    assert s[("sys/mem/used_bytes", ())]["last"] > 0
    assert s[("sys/proc/rss_bytes", ())]["last"] > 1 << 20
    assert s[("sys/proc/count", ())]["last"] == 1
    # GPU names and driver as run info.
    config = client.request("GET", f"/api/v1/runs/{run}")["config"]
    assert config["sys"]["gpu/1/name"] == "NVIDIA H100 80GB HBM3"
    assert config["sys"]["nvml/driver_version"] == "550.54.15"


def test_lost_gpu_is_reported_once_and_the_others_keep_sampling(client, tmp_path):
    run = client.create_run("agent")["id"]
    child = sleeper()
    agent = Agent(tmp_path, "gpus 3\nlost 1 after 2\n", "--server", f"http://127.0.0.1:{client.port}",
                  "--run", run, "--pid", str(child.pid), "--interval", "100ms")
    try:
        agent.wait_for("is lost")
        time.sleep(1.0)
    finally:
        child.kill()
        child.wait()
        agent.stop()
    assert agent.stderr().count("GPU 1 (GPU-fake-0001) is lost") == 1
    s = listing(client, run)
    assert s[("sys/gpu/lost", gpu(1))]["last"] == 1
    assert s[("sys/gpu/lost", gpu(0))]["last"] == 0
    assert s[("sys/gpu/utilization", gpu(1))]["count"] == 2
    assert s[("sys/gpu/utilization", gpu(0))]["count"] >= 8
    assert s[("sys/gpu/utilization", gpu(2))]["count"] == s[("sys/gpu/utilization", gpu(0))]["count"]


def test_without_a_driver_host_metrics_keep_flowing(client, tmp_path):
    run = client.create_run("agent")["id"]
    child = sleeper()
    agent = Agent(tmp_path, "", "--server", f"http://127.0.0.1:{client.port}", "--run", run,
                  "--pid", str(child.pid), "--interval", "100ms",
                  library=str(tmp_path / "no-such-libnvidia-ml.so.1"))
    try:
        agent.wait_for("sidecar mode")
        time.sleep(0.8)
    finally:
        child.kill()
        child.wait()
        agent.stop()
    lines = [l for l in agent.stderr().splitlines() if "no NVIDIA GPU/driver found" in l]
    assert len(lines) == 1 and "host metrics only" in lines[0]
    s = listing(client, run)
    assert s[("sys/mem/used_bytes", ())]["count"] >= 3
    assert not [k for k in s if k[0].startswith("sys/gpu/")]


def start_server(data, port, log):
    proc = subprocess.Popen([vigil_binary(), "serve", "--data", str(data), "--listen",
                             f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                            stderr=open(log, "ab"))
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("vigil serve did not start: " + open(log).read())


def test_node_mode_buffers_spills_and_delivers_when_the_server_comes_back(tmp_path):
    port = free_port()
    # The agent starts before the server exists: everything is buffered,
    # and a tiny memory bound makes it spill to the spool.
    agent = Agent(tmp_path, "gpus 2\n", "--server", f"http://127.0.0.1:{port}", "--interval",
                  "100ms", "--buffer-bytes", "4096", "--project", "fleet")
    server = None
    try:
        agent.wait_for("server unreachable")
        time.sleep(1.5)
        spooled = glob.glob(str(tmp_path / "spool" / "node-*" / "batches.jsonl"))
        assert spooled and os.path.getsize(spooled[0]) > 0
        run_json = json.loads(open(os.path.join(os.path.dirname(spooled[0]), "run.json")).read())
        assert run_json["project"] == "fleet" and run_json["id"].startswith("node-")
        t_server = int(time.time() * 1000)
        server = start_server(tmp_path / "data", port, tmp_path / "serve.log")
        agent.wait_for("server reachable again")
        time.sleep(1.0)
        assert agent.stop() == 0
        client = Client("127.0.0.1", port)
        run = client.request("GET", f"/api/v1/runs/{run_json['id']}")
        assert run["project"] == "fleet" and run["state"] == "finished"
        s = listing(client, run_json["id"])
        util = s[("sys/gpu/utilization", gpu(1))]
        # Rounds from before the server existed arrived, in order.
        pts = client.series(run_json["id"], "sys/gpu/utilization",
                            labels={"gpu": "1", "uuid": "GPU-fake-0001"}, x="time")
        times = pts["times"]
        assert times == sorted(times)
        assert times[0] < t_server - 1000
        assert util["count"] >= 20
        assert not os.path.exists(spooled[0]) or os.path.getsize(spooled[0]) == 0
    finally:
        agent.stop()
        if server:
            server.terminate()
            server.wait(timeout=30)


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.headers["Content-Type"], r.read().decode()


def wait_scrapable(agent, port):
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            _, text = scrape(port)
            if "DCGM_FI_DEV_GPU_UTIL" in text and "vigil_node_cpu_utilization_percent" in text:
                return text
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("agent /metrics never filled: " + agent.stderr())


def test_metrics_endpoint_passes_promtool(tmp_path):
    port = free_port()
    agent = Agent(tmp_path, "gpus 8\nset 3 utilization.gpu 55\nset * reasons 4\nxid 2 79\n",
                  "--listen", f"127.0.0.1:{port}", "--interval", "100ms")
    try:
        text = wait_scrapable(agent, port)
        ctype, text = scrape(port)
    finally:
        agent.stop()
    assert ctype.startswith("text/plain; version=0.0.4")
    host = socket.gethostname()
    assert f'DCGM_FI_DEV_GPU_UTIL{{gpu="3",UUID="GPU-fake-0003",Hostname="{host}"}} 55' in text
    assert len(re.findall(r"^DCGM_FI_DEV_GPU_UTIL\{", text, re.M)) == 8
    assert re.search(r'^vigil_gpu_throttle\{gpu="0",UUID="GPU-fake-0000",reason="sw_power_cap",.*\} 1$',
                     text, re.M)
    assert re.search(r'^DCGM_FI_DEV_XID_ERRORS\{gpu="2",.*\} 79$', text, re.M)
    assert "node_load1 " in text and "process_cpu_seconds_total " in text
    check = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=60)
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()


def test_real_prometheus_scrapes_the_agent(tmp_path):
    port, prom_port = free_port(), free_port()
    agent = Agent(tmp_path, "gpus 8\nset 5 power.usage 250000\n", "--listen",
                  f"127.0.0.1:{port}", "--interval", "200ms")
    config = tmp_path / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: vigil-agent\n"
                      f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
    prom = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{prom_port}"],
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / "prometheus.log", "wb"))
    try:
        wait_scrapable(agent, port)
        query = urllib.parse.quote("DCGM_FI_DEV_POWER_USAGE")
        url = f"http://127.0.0.1:{prom_port}/api/v1/query?query={query}"
        result, deadline = [], time.time() + 60
        while time.time() < deadline and len(result) < 8:
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    result = json.load(r)["data"]["result"]
            except OSError:
                pass
            time.sleep(0.5)
        assert len(result) == 8, (tmp_path / "prometheus.log").read_text()[-2000:]
        by_gpu = {r["metric"]["gpu"]: float(r["value"][1]) for r in result}
        assert by_gpu["5"] == 250.0 and by_gpu["0"] == 100.0
        with urllib.request.urlopen(f"http://127.0.0.1:{prom_port}/api/v1/targets", timeout=5) as r:
            targets = json.load(r)["data"]["activeTargets"]
        assert [t["health"] for t in targets] == ["up"]
    finally:
        prom.terminate()
        prom.wait(timeout=30)
        agent.stop()


PROMQL_WORDS = {
    "sum", "avg", "min", "max", "count", "by", "without", "rate", "irate", "increase", "topk",
    "bottomk", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
    "avg_over_time", "max_over_time", "min_over_time", "delta", "deriv", "clamp_min", "clamp_max",
    "label_replace", "abs", "time", "vector", "scalar", "offset", "quantile", "histogram_quantile",
    "le", "changes", "resets", "sort", "sort_desc", "count_over_time", "last_over_time",
}


def promql_metric_names(expr):
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)      # strings
    expr = re.sub(r"\{[^}]*\}", "", expr)                  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)                 # range durations
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\$\w+", "", expr)                      # dashboard variables
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
        if m.group(0) in PROMQL_WORDS or expr[m.end():].lstrip().startswith("("):
            continue
        if re.fullmatch(r"\d+[smhdwy]?", m.group(0)):
            continue
        names.add(m.group(0))
    return names


def test_grafana_dashboard_queries_only_exported_metrics(server, client, tmp_path):
    dashboards = glob.glob(os.path.join(REPO, "deploy", "grafana", "dashboards", "*.json"))
    assert dashboards
    # What vigil exports: a live agent's /metrics (8 fake GPUs, sidecar
    # labels) and a live server's /metrics with a running run.
    run = client.create_run("dash")["id"]
    client.log(run, {"series": [{"metric": "train/loss", "labels": {}, "steps": [1], "values": [0.5]}]})
    child = sleeper()
    port = free_port()
    agent = Agent(tmp_path, "gpus 8\n", "--listen", f"127.0.0.1:{port}", "--server",
                  f"http://127.0.0.1:{server.port}", "--run", run, "--pid", str(child.pid),
                  "--interval", "100ms")
    try:
        wait_scrapable(agent, port)
        time.sleep(0.5)
        _, agent_text = scrape(port)
    finally:
        child.kill()
        child.wait()
        agent.stop()
    server_text = client.request("GET", "/metrics", raw=True).decode()
    exported = set()
    for text in (agent_text, server_text):
        for line in text.splitlines():
            m = re.match(r"# TYPE (\S+) (\S+)", line)
            if m:
                exported.add(m.group(1))
                if m.group(2) == "histogram":
                    exported |= {m.group(1) + s for s in ("_bucket", "_sum", "_count")}
    checked = 0
    for path in dashboards:
        dash = json.load(open(path))
        assert dash["title"] and dash["uid"] and dash["panels"]
        for panel in dash["panels"]:
            for target in panel.get("targets", []):
                names = promql_metric_names(target["expr"])
                assert names, target["expr"]
                missing = names - exported
                assert not missing, f"{os.path.basename(path)} panel {panel['title']!r}: {missing}"
                checked += 1
        for var in dash.get("templating", {}).get("list", []):
            if var.get("type") == "query":
                q = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
                m = re.search(r"label_values\((\w+)", q)
                assert m and m.group(1) in exported, q
    assert checked >= 10
