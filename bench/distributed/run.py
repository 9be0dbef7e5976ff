#!/usr/bin/python3
"""Scale benchmark of the distributed-run path (docs/distributed.md, "Scale").

Does one `vigil serve` keep up with N ranks of one job, each logging M
metrics per step at R steps per second plus heartbeats? For each N in
--ranks: a fresh server on 127.0.0.1 with a temporary data directory (the
default configuration: fsync batch, the built-in alert rules), then
bench/distributed/rank_load (N real C++ SDK runs in one process, one
connection each, all joined to one run id) for --duration seconds.

Measured, over the logging phase (after every rank has joined):
  - points/s offered (what the ranks logged) and stored (the server's
    vigil_ingest_points_total), and whether every point was acknowledged;
  - server CPU as % of one core from /proc/<pid>/stat, sampled every second
    (mean and p99 of the 1 s samples), the driver's CPU the same way (both
    share this machine), and the machine's load average;
  - the server's peak RSS (VmHWM) and the largest sampled VmRSS;
  - ingest lag, from the server's vigil_ingest_lag_seconds histogram (commit
    time minus the newest point time of each acknowledged batch): p50 and
    p99 over the logging phase, and p99 of the last 10 s window (a lag that
    grows means the server falls behind);
  - the /log request time on the server (vigil_http_request_duration_seconds,
    arrival to answer) p99, and the client-side log-to-acknowledgement time
    (rank_load's probe; includes the SDK's batching of up to flush_interval);
  - points the alerting pipeline dropped (vigil_alert_points_dropped_total);
  - the cross-rank alerts raised on this clean job (rank_hang, rank_lost,
    straggler, rank_divergence): there must be none.

Python 3 standard library only.

    /usr/bin/python3 bench/distributed/run.py --vigil build/scale/vigil \\
        --ranks 64,256,1024 --duration 60 --out /tmp/scale.json
"""

import argparse
import ctypes
import http.client
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CLK_TCK = os.sysconf("SC_CLK_TCK")
LOG_ROUTE = "/api/v1/runs/{id}/log"
BEAT_ROUTE = "/api/v1/runs/{id}/heartbeat"
CROSS_RANK_RULES = ("rank_hang", "rank_lost", "straggler", "rank_divergence")
WINDOW_S = 10  # /metrics is scraped this often for the lag over time


def die_with_parent():
    """Children get SIGTERM if this process dies (PR_SET_PDEATHSIG)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except OSError:
        pass


# ----------------------------------------------------------------------------
# /proc

def proc_cpu_seconds(pid):
    """utime + stime of a process, in seconds (None once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # rest[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(rest[11]) + int(rest[12])) / CLK_TCK


def proc_memory(pid):
    """(VmRSS, VmHWM) in bytes."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, value = line.split(":", 1)
                    out[key] = int(value.split()[0]) * 1024
    except OSError:
        pass
    return out.get("VmRSS", 0), out.get("VmHWM", 0)


# Server threads by what they run (from a one-off gdb backtrace at start):
# the first pattern found in a thread's stack names it.
ROLE_PATTERNS = (
    ("http I/O", "HttpServer::Start"),
    ("WAL commit", "Engine::CommitLoop"),
    ("storage flush", "Engine::BackgroundLoop"),
    ("alerting", "AlertingService::Loop"),
    ("webhooks", "Notifier::Loop"),
    ("sse", "StreamHub::"),
    ("maintenance", "MaintenanceLoop"),
    ("main", "RunServe"),
)


def thread_roles(pid):
    """{tid: role} from `gdb -batch` (empty without gdb). Stops the server
    for a moment: call before the load starts."""
    gdb = shutil.which("gdb")
    if not gdb:
        return {}
    try:
        out = subprocess.run([gdb, "-p", str(pid), "-batch", "-ex", "thread apply all bt 40"],
                             capture_output=True, text=True, timeout=120).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    roles, tid = {}, None
    for line in out.splitlines():
        m = re.match(r"Thread \d+ \(Thread 0x[0-9a-f]+ \(LWP (\d+)\)", line)
        if m:
            tid = int(m.group(1))
            continue
        if tid is not None and tid not in roles:
            for role, pattern in ROLE_PATTERNS:
                if pattern in line:
                    roles[tid] = role
                    break
    return roles


def thread_cpu(pid):
    """{tid: (CPU seconds, seconds runnable but waiting for a CPU)} of every
    thread of a process, from /proc/<pid>/task/<tid>/schedstat (ns)."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for t in tids:
        try:
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                run_ns, wait_ns = f.read().split()[:2]
            out[int(t)] = (int(run_ns) / 1e9, int(wait_ns) / 1e9)
        except (OSError, ValueError):
            pass
    return out


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


class Sampler(threading.Thread):
    """Every second: the server's and the driver's CPU seconds, the server's
    RSS, the load average."""

    def __init__(self, server_pid):
        super().__init__(daemon=True)
        self.server_pid = server_pid
        self.driver_pid = None
        self.samples = []  # (t, server_cpu_s, driver_cpu_s, rss, load)
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            t = time.monotonic()
            cpu = proc_cpu_seconds(self.server_pid)
            dcpu = proc_cpu_seconds(self.driver_pid) if self.driver_pid else None
            rss, _ = proc_memory(self.server_pid)
            if cpu is not None:
                self.samples.append((t, cpu, dcpu, rss, loadavg()))
            self.stop.wait(1.0 - (time.monotonic() - t) % 1.0)

    def rates(self, t0, t1, column):
        """% of one core of a CPU column, per 1 s sample within [t0, t1]."""
        pts = [s for s in self.samples if t0 <= s[0] <= t1 and s[column] is not None]
        return [100.0 * (b[column] - a[column]) / (b[0] - a[0])
                for a, b in zip(pts, pts[1:]) if b[0] > a[0]]


# ----------------------------------------------------------------------------
# The server and its /metrics

LABEL_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
WANTED = ("vigil_ingest_", "vigil_http_request", "vigil_alert", "process_", "vigil_storage_")


def parse_metrics(text):
    """{(name, frozenset(labels.items())): value} for the families we use."""
    out = {}
    for line in text.splitlines():
        if not line.startswith(WANTED):
            continue
        head, _, value = line.rpartition(" ")
        name, _, labels = head.partition("{")
        out[(name, frozenset(LABEL_RE.findall(labels)))] = float(value)
    return out


def get(m, name, **labels):
    return m.get((name, frozenset(labels.items())), 0.0)


def buckets(m, name, **labels):
    """[(le, cumulative count)] of a histogram, ascending."""
    want = set(labels.items())
    out = []
    for (n, ls), v in m.items():
        if n != name + "_bucket":
            continue
        d = dict(ls)
        le = d.pop("le")
        if set(d.items()) == want:
            out.append((math.inf if le == "+Inf" else float(le), v))
    return sorted(out)


def bucket_delta(after, before):
    b = dict(before)
    return [(le, v - b.get(le, 0.0)) for le, v in after]


def quantile(q, cumulative):
    """histogram_quantile: linear interpolation inside the bucket."""
    if not cumulative or cumulative[-1][1] <= 0:
        return math.nan
    rank = q * cumulative[-1][1]
    lower, below = 0.0, 0.0
    for le, count in cumulative:
        if count >= rank:
            if math.isinf(le):
                return lower  # beyond the last bound: its lower edge
            if count == below:
                return le
            return lower + (le - lower) * (rank - below) / (count - below)
        lower, below = le, count
    return lower


class Server:
    def __init__(self, vigil, data_dir):
        self.proc = subprocess.Popen(
            [vigil, "serve", "--data", data_dir, "--listen", "127.0.0.1:0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=die_with_parent)
        self.port = None
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.proc.stderr.readline().decode(errors="replace")
            if not line:
                break
            m = re.search(r"serving on http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            self.proc.kill()
            raise RuntimeError("vigil serve did not start")
        self.stderr_tail = []
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stderr:
            self.stderr_tail = (self.stderr_tail + [line.decode(errors="replace")])[-20:]

    def request(self, method, path, timeout=120):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path)
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                raise RuntimeError(f"{method} {path}: HTTP {r.status}: {body[:200]!r}")
            return body
        finally:
            conn.close()

    def metrics(self):
        return parse_metrics(self.request("GET", "/metrics").decode())

    def json(self, path):
        return json.loads(self.request("GET", path))

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ----------------------------------------------------------------------------
# One configuration

def percentile(values, q):
    if not values:
        return math.nan
    v = sorted(values)
    return v[min(len(v) - 1, max(0, math.ceil(q * len(v)) - 1))]


def run_one(args, ranks):
    tmp = tempfile.mkdtemp(prefix="vigil-scale-")
    run_id = f"scale{ranks}"
    server = Server(args.vigil, os.path.join(tmp, "data"))
    roles = thread_roles(server.proc.pid)
    sampler = Sampler(server.proc.pid)
    sampler.start()
    threads_at_logging = threads_at_logged = {}
    try:
        before = server.metrics()
        cmd = [args.driver, "--server", f"http://127.0.0.1:{server.port}", "--id", run_id,
               "--ranks", str(ranks), "--metrics", str(args.metrics), "--rate", str(args.rate),
               "--duration", str(args.duration), "--heartbeat-ms", str(args.heartbeat_ms),
               "--flush-ms", str(args.flush_ms)]
        t_start = time.monotonic()
        def driver_setup():
            die_with_parent()
            if args.driver_nice:
                os.nice(args.driver_nice)

        driver = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  preexec_fn=driver_setup)
        sampler.driver_pid = driver.pid
        driver_err = []
        threading.Thread(target=lambda: driver_err.extend(driver.stderr), daemon=True).start()
        t_logging = t_logged = None
        windows = []  # (t, lag buckets) every WINDOW_S during logging
        ranks_mid = None
        result = None
        next_scrape = None
        mid_at = None
        for raw in driver.stdout:
            line = raw.decode(errors="replace").strip()
            if not line.startswith("{"):
                continue
            doc = json.loads(line)
            if doc.get("event") == "logging":
                t_logging = time.monotonic()
                threads_at_logging = thread_cpu(server.proc.pid)
                metrics_at_logging = server.metrics()
                windows.append((t_logging, buckets(server.metrics(), "vigil_ingest_lag_seconds")))
                next_scrape = t_logging + WINDOW_S
                mid_at = t_logging + 0.75 * args.duration
                # Scrape on a side thread while the driver runs.
                stop_scrape = threading.Event()

                def scrape():
                    nonlocal next_scrape, ranks_mid
                    while not stop_scrape.wait(1.0):
                        now = time.monotonic()
                        if now >= next_scrape:
                            windows.append((now, buckets(server.metrics(),
                                                         "vigil_ingest_lag_seconds")))
                            next_scrape += WINDOW_S
                        if ranks_mid is None and now >= mid_at:
                            r = server.json(f"/api/v1/runs/{run_id}/ranks")
                            ranks_mid = {k: r.get(k) for k in ("known", "alive", "finished")}
                            ranks_mid["hang"] = r.get("hang")
                            ranks_mid["stragglers"] = len(r.get("stragglers") or [])

                scraper = threading.Thread(target=scrape, daemon=True)
                scraper.start()
            elif doc.get("event") == "logged":
                t_logged = time.monotonic()
                threads_at_logged = thread_cpu(server.proc.pid)
                metrics_at_logged = server.metrics()
                stop_scrape.set()
                scraper.join()
                windows.append((t_logged, buckets(server.metrics(), "vigil_ingest_lag_seconds")))
            elif "ranks" in doc:
                result = doc
        driver.wait()
        t_end = time.monotonic()
        time.sleep(2.5)  # one alerting tick after the last batch
        after = server.metrics()
        alerts = server.json(f"/api/v1/alerts?run={run_id}&limit=1000")["alerts"]
        run = server.json(f"/api/v1/runs/{run_id}")
        _, hwm = proc_memory(server.proc.pid)
    finally:
        sampler.stop.set()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if result is None or t_logging is None or t_logged is None:
        raise RuntimeError(f"rank_load failed (exit {driver.returncode}): "
                           f"{b''.join(driver_err)[-2000:].decode(errors='replace')}")

    # Steady state: from 2 s after the start of logging to its end.
    cpu = sampler.rates(t_logging + 2, t_logged, 1)
    dcpu = sampler.rates(t_logging + 2, t_logged, 2)
    rss = [s[3] for s in sampler.samples]
    loads = [s[4] for s in sampler.samples if t_logging <= s[0] <= t_logged]
    # Lag over the logging phase (the batches acknowledged between the first
    # and the last step), and over the whole run: that adds each rank's last
    # batch, which holds a lone step and leaves a full flush_interval after
    # it, and so ~1 s of lag that is the SDK's batching, not the server's.
    lag = bucket_delta(windows[-1][1], windows[0][1])
    lag_all = bucket_delta(buckets(after, "vigil_ingest_lag_seconds"),
                           buckets(before, "vigil_ingest_lag_seconds"))
    log_req = bucket_delta(
        buckets(after, "vigil_http_request_duration_seconds", method="POST", route=LOG_ROUTE),
        buckets(before, "vigil_http_request_duration_seconds", method="POST", route=LOG_ROUTE))
    window_p99 = [quantile(0.99, bucket_delta(b, a)) for (_, a), (_, b) in zip(windows, windows[1:])]
    log_s = result["steps"] / args.rate  # the logging phase, nominally
    stored = (get(after, "vigil_ingest_points_total") - get(before, "vigil_ingest_points_total"))
    beats = sum(v - get(before, n, **dict(ls)) for (n, ls), v in after.items()
                if n == "vigil_http_requests_total" and dict(ls).get("route") == BEAT_ROUTE)
    batches = (get(after, "vigil_ingest_batches_total") - get(before, "vigil_ingest_batches_total"))
    # Where the server's CPU went during logging, by thread role.
    # cpu: % of one core; wait: % of the time a thread of that role was
    # runnable but had no CPU (contention), summed over its threads.
    by_role = {}
    for tid, (cpu_s, wait_s) in threads_at_logged.items():
        role = roles.get(tid, "other")
        c0, w0 = threads_at_logging.get(tid, (0.0, 0.0))
        c, w = by_role.get(role, (0.0, 0.0))
        by_role[role] = (c + cpu_s - c0, w + wait_s - w0)
    span = t_logged - t_logging
    by_role = {k: {"cpu": 100.0 * c / span, "wait": 100.0 * w / span}
               for k, (c, w) in sorted(by_role.items(), key=lambda kv: -kv[1][0]) if c > 0}
    m0, m1 = metrics_at_logging, metrics_at_logged
    commits = get(m1, "vigil_storage_group_commits_total") - get(m0, "vigil_storage_group_commits_total")
    fsyncs = get(m1, "vigil_storage_fsyncs_total") - get(m0, "vigil_storage_fsyncs_total")
    cross = sorted({a["rule"] for a in alerts
                    if any(a["rule"].endswith(r) for r in CROSS_RANK_RULES)})
    return {
        "ranks": ranks,
        "metrics": args.metrics,
        "steps_per_s": args.rate,
        "duration_s": args.duration,
        "join_s": result["init_s"],
        "late_steps": result["late_steps"],
        "points_per_s_nominal": ranks * args.metrics * args.rate,
        "points_per_s_offered": result["logged"] / log_s,
        "points_per_s_stored": stored / log_s,
        "points_logged": result["logged"],
        "points_stored": stored,
        "points_delivered": result["delivered"],
        "points_dropped": result["dropped"],
        "points_rejected": result["rejected"],
        "points_pending": result["pending"],
        "batches_per_s": batches / log_s,
        "heartbeats_per_s": beats / (t_end - t_start),
        "server_cpu_mean_pct": sum(cpu) / len(cpu) if cpu else math.nan,
        "server_cpu_p99_pct": percentile(cpu, 0.99),
        "driver_cpu_mean_pct": sum(dcpu) / len(dcpu) if dcpu else math.nan,
        "load_avg_mean": sum(loads) / len(loads) if loads else math.nan,
        "server_rss_peak_mib": hwm / 2**20,
        "storage_series": get(after, "vigil_storage_series"),
        "storage_head_points": get(after, "vigil_storage_head_points"),
        "storage_head_mib": get(after, "vigil_storage_head_bytes") / 2**20,
        "server_rss_max_sampled_mib": max(rss) / 2**20 if rss else math.nan,
        "lag_p50_s": quantile(0.5, lag),
        "lag_p99_s": quantile(0.99, lag),
        "lag_p99_whole_run_s": quantile(0.99, lag_all),
        "lag_p99_first_window_s": window_p99[0] if window_p99 else math.nan,
        "lag_p99_last_window_s": window_p99[-1] if window_p99 else math.nan,
        "lag_p99_max_window_s": max(window_p99) if window_p99 else math.nan,
        "lag_p99_windows_s": window_p99,
        "log_request_p50_s": quantile(0.5, log_req),
        "log_request_p99_s": quantile(0.99, log_req),
        "server_cpu_by_thread_pct": by_role,
        "group_commits_per_s": commits / span,
        "fsyncs_per_s": fsyncs / span,
        "driver_nice": args.driver_nice,
        "ack_p50_ms": result["ack_p50_ms"],
        "ack_p99_ms": result["ack_p99_ms"],
        "alert_points_dropped": get(after, "vigil_alert_points_dropped_total")
        - get(before, "vigil_alert_points_dropped_total"),
        "rejected_batches": get(after, "vigil_ingest_rejected_batches_total")
        - get(before, "vigil_ingest_rejected_batches_total"),
        "cross_rank_alerts": cross,
        "alerts": [f"{a['rule']} {a.get('labels') or ''} {a['message'][:120]}" for a in alerts],
        "ranks_at_75pct": ranks_mid,
        "run_state": run.get("state"),
    }


def fmt(v, spec):
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def print_table(rows):
    cols = [
        ("ranks", "ranks", "d"),
        ("metrics/step", "metrics", "d"),
        ("steps/s", "steps_per_s", "g"),
        ("pts/s offered", "points_per_s_offered", ",.0f"),
        ("pts/s stored", "points_per_s_stored", ",.0f"),
        ("batches/s", "batches_per_s", ",.0f"),
        ("beats/s", "heartbeats_per_s", ",.0f"),
        ("srv CPU% mean", "server_cpu_mean_pct", ".1f"),
        ("srv CPU% p99", "server_cpu_p99_pct", ".1f"),
        ("drv CPU% mean", "driver_cpu_mean_pct", ".1f"),
        ("RSS peak MiB", "server_rss_peak_mib", ".0f"),
        ("lag p50 s", "lag_p50_s", ".3f"),
        ("lag p99 s", "lag_p99_s", ".3f"),
        ("lag p99 last 10s", "lag_p99_last_window_s", ".3f"),
        ("/log p50 s", "log_request_p50_s", ".4f"),
        ("/log p99 s", "log_request_p99_s", ".4f"),
        ("ack p99 ms", "ack_p99_ms", ".0f"),
        ("alert drops", "alert_points_dropped", ".0f"),
        ("load avg", "load_avg_mean", ".1f"),
    ]
    table = [[c[0] for c in cols]]
    for r in rows:
        table.append([fmt(r[k], spec) for _, k, spec in cols])
    widths = [max(len(row[i]) for row in table) for i in range(len(cols))]
    for i, row in enumerate(table):
        print(" | ".join(cell.rjust(w) for cell, w in zip(row, widths)), flush=True)
        if i == 0:
            print("-+-".join("-" * w for w in widths))
    for r in rows:
        lost = r["points_logged"] - r["points_stored"]
        print(f"{r['ranks']} ranks: joined in {r['join_s']:.2f} s; {r['points_logged']:,} points "
              f"logged, {r['points_stored']:,.0f} stored ({lost:,.0f} missing, "
              f"{r['points_dropped']} dropped, {r['points_pending']} pending); "
              f"{r['late_steps']} steps logged over a period late; lag p99 over the whole run "
              f"{fmt(r['lag_p99_whole_run_s'], '.3f')} s, worst 10 s window "
              f"{fmt(r['lag_p99_max_window_s'], '.3f')} s (each 10 s: "
              f"{' '.join(fmt(w, '.2f') for w in r['lag_p99_windows_s'])}); log-to-ack p50 "
              f"{fmt(r['ack_p50_ms'], '.0f')} ms; cross-rank alerts: "
              f"{', '.join(r['cross_rank_alerts']) or 'none'}; at 75%: {r['ranks_at_75pct']}")
        roles = ", ".join(f"{k} {v['cpu']:.1f}% (waited {v['wait']:.1f}%)"
                          for k, v in r["server_cpu_by_thread_pct"].items())
        print(f"    server CPU by thread, % of one core (and % of the time runnable without a "
              f"CPU): {roles}; "
              f"{r['group_commits_per_s']:.0f} group commits/s, {r['fsyncs_per_s']:.0f} fsyncs/s; "
              f"driver nice {r['driver_nice']}")
        for a in r["alerts"][:5]:
            print(f"    alert: {a}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_vigil = os.environ.get("VIGIL_BIN") or os.path.join(REPO, "build", "release", "vigil")
    ap.add_argument("--vigil", default=default_vigil, help="the vigil binary")
    ap.add_argument("--driver", help="rank_load (default: <vigil's dir>/bench/distributed/)")
    ap.add_argument("--ranks", default="64,256,1024", help="comma-separated rank counts")
    ap.add_argument("--metrics", type=int, default=20)
    ap.add_argument("--rate", type=float, default=2.0, help="steps per second per rank")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of logging per row")
    ap.add_argument("--heartbeat-ms", type=int, default=5000)
    ap.add_argument("--flush-ms", type=int, default=1000)
    ap.add_argument("--driver-nice", type=int, default=0,
                    help="run rank_load at this nice level (19: the server first, to tell its "
                         "own latency from CPU contention with the driver)")
    ap.add_argument("--out", help="write the rows as JSON here")
    args = ap.parse_args()
    args.driver = args.driver or os.path.join(os.path.dirname(os.path.abspath(args.vigil)),
                                              "bench", "distributed", "rank_load")
    for path in (args.vigil, args.driver):
        if not os.access(path, os.X_OK):
            sys.exit(f"not found: {path} (cmake --build <dir> --target vigil rank_load)")
    rows = []
    for n in [int(x) for x in args.ranks.split(",") if x]:
        print(f"-- {n} ranks x {args.metrics} metrics x {args.rate:g} steps/s for "
              f"{args.duration:g} s ...", file=sys.stderr, flush=True)
        rows.append(run_one(args, n))
    print_table(rows)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
