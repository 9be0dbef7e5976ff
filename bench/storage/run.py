#!/usr/bin/python3
"""Side-by-side storage benchmark: vigil against VictoriaMetrics, Prometheus
(promtool) and SQLite with MLflow's metrics table, on the same points, in the
same run, on this machine.

Measures per system: samples ingested per server CPU-second and per wall
second, bytes per sample on disk per value variant, bit-exact read-back, the
latency of a 1,000,000-point series downsampled to ~2,000 points, and the
server's peak RSS. Prints one table per measure, the ratios of vigil against
each peer, and the product's bars; writes everything as JSON to --out.

Python 3 standard library only. Every server runs on 127.0.0.1 in a temporary
directory and is killed at the end, on error and on Ctrl-C (and by the kernel
if this process dies: PR_SET_PDEATHSIG). See README.md beside this file for
the method and what each number means.

    /usr/bin/python3 bench/storage/run.py --scale 0.05 --out /tmp/bench.json
"""

import argparse
import array
import ctypes
import hashlib
import http.client
import json
import math
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

# ----------------------------------------------------------------------------
# Data set

EPOCH_MS = 1704067200000  # 2024-01-01T00:00:00Z, on a 2 h boundary (one Prometheus block)
STEP_MS = 250
JITTER_MS = 3  # each timestamp moves by -3..+3 ms; 250 - 2*3 > 0 keeps times increasing
FULL_SERIES = 1000
POINTS_PER_SERIES = 10_000
FULL_QUERY_POINTS = 1_000_000
QUERY_TARGET_POINTS = 2000
POINTS_PER_REQUEST = 100_000  # ~100 series x 1,000 points, as a batching SDK or agent would send
MAX_SERIES_PER_RUN = 50

# Variant name -> metric name (vigil, SQLite) ; Prometheus/VM names replace '/' by '_'.
VARIANTS = {
    "float64": "train/loss",
    "float32": "train/loss_fp32",
    "decimal4": "eval/accuracy",
    "gpu_util": "gpu/utilization",
    "lr_cosine": "train/lr",
}
VARIANT_DOC = {
    "float64": "decaying loss x (1 + gaussian noise), full float64",
    "float32": "the same kind of loss rounded through float32 (loss.item() of an fp32 tensor)",
    "decimal4": "accuracy rising to a plateau + noise, rounded to 4 decimals",
    "gpu_util": "GPU utilisation, integers 0..100, mostly 90-100 with stalls",
    "lr_cosine": "linear warm-up then cosine decay, float64, same for all ranks of a run",
}


class Series:
    """One generated series: identity plus its columns (steps are 0..n-1)."""

    __slots__ = ("variant", "run", "rank", "metric", "times", "values")

    def __init__(self, variant, run, rank, metric, times, values):
        self.variant = variant
        self.run = run
        self.rank = rank
        self.metric = metric
        self.times = times  # array('q'), Unix ms
        self.values = values  # array('d')

    @property
    def prom_name(self):
        return self.metric.replace("/", "_")

    @property
    def mlflow_run_uuid(self):
        return hashlib.md5(f"{self.run}/{self.rank}".encode()).hexdigest()


def _rng(seed, *parts):
    return random.Random("/".join([str(seed)] + [str(p) for p in parts]))


def gen_times(rng, n):
    offset = int(rng.random() * 1000)
    base = EPOCH_MS + offset
    rnd = rng.random
    span = 2 * JITTER_MS + 1
    return array.array("q", (base + i * STEP_MS + int(rnd() * span) - JITTER_MS for i in range(n)))


def _loss_curve(rng, n):
    l0 = 2.0 + rng.random()
    linf = 0.05 + 0.25 * rng.random()
    tau = (0.05 + 0.25 * rng.random()) * n
    noise = 0.03 + 0.05 * rng.random()
    gauss, exp = rng.gauss, math.exp
    return [abs((linf + (l0 - linf) * exp(-i / tau)) * (1.0 + noise * gauss(0.0, 1.0)))
            for i in range(n)]


def gen_values(variant, rng, run_rng, n):
    if variant == "float64":
        return array.array("d", _loss_curve(rng, n))
    if variant == "float32":
        return array.array("d", array.array("f", _loss_curve(rng, n)))
    if variant == "decimal4":
        amax = 0.85 + 0.14 * rng.random()
        tau = (0.05 + 0.2 * rng.random()) * n
        sd = 0.002 + 0.01 * rng.random()
        gauss, exp = rng.gauss, math.exp
        return array.array("d", (round(min(1.0, max(0.0, amax - (amax - 0.1) * exp(-i / tau)
                                                   + gauss(0.0, sd))), 4) for i in range(n)))
    if variant == "gpu_util":
        out = array.array("d", bytes(8 * n))
        rnd = rng.random
        i = 0
        while i < n:
            if rnd() < 0.01:  # a data-loader stall: a few low samples
                for _ in range(1 + int(rnd() * 20)):
                    if i >= n:
                        break
                    out[i] = float(int(rnd() * 31))
                    i += 1
            else:
                out[i] = float(min(100, 90 + int(rnd() * 12)))
                i += 1
        return out
    if variant == "lr_cosine":
        lr_max = run_rng.choice([1e-4, 3e-4, 6e-4, 1e-3])
        lr_min = lr_max * 0.1
        warm = max(1, n // 20)
        cos, pi = math.cos, math.pi
        vals = []
        for i in range(n):
            if i < warm:
                vals.append(lr_max * (i + 1) / warm)
            else:
                vals.append(lr_min + 0.5 * (lr_max - lr_min) * (1.0 + cos(pi * (i - warm) / (n - warm))))
        return array.array("d", vals)
    raise ValueError(variant)


def variant_layout(scale):
    """(series per variant, series per run): the 1,000 series are split evenly
    among the five variants; each variant's series are grouped into runs."""
    per_variant = max(1, round(FULL_SERIES * scale / len(VARIANTS)))
    per_run = min(MAX_SERIES_PER_RUN, max(1, math.ceil(per_variant / 4)))
    return per_variant, per_run


def gen_variant(seed, variant, scale, limit=None):
    """The variant's series; with limit, only the first `limit` of them (the
    same series, generated the same way)."""
    per_variant, per_run = variant_layout(scale)
    out = []
    for k in range(per_variant if limit is None else min(limit, per_variant)):
        run_idx, rank = divmod(k, per_run)
        run = f"bench-{variant}-r{run_idx}"
        rng = _rng(seed, variant, run_idx, rank)
        run_rng = _rng(seed, variant, run_idx)
        times = gen_times(rng, POINTS_PER_SERIES)
        values = gen_values(variant, rng, run_rng, POINTS_PER_SERIES)
        out.append(Series(variant, run, str(rank), VARIANTS[variant], times, values))
    return out


def gen_query_series(seed, scale):
    n = max(10_000, int(FULL_QUERY_POINTS * scale))
    rng = _rng(seed, "query")
    return Series("float64", "bench-query", "0", VARIANTS["float64"], gen_times(rng, n),
                  array.array("d", _loss_curve(rng, n)))


def batches(series_list):
    """Groups the series into runs and cuts each run into requests of about
    POINTS_PER_REQUEST points: [(run_name, [(series, lo, hi), ...]), ...] in
    the order each run must send them (points of a series stay in order)."""
    runs = {}
    for s in series_list:
        runs.setdefault(s.run, []).append(s)
    out = []
    for run, ss in runs.items():
        n = len(ss[0].values)
        chunk = max(1, min(n, POINTS_PER_REQUEST // len(ss)))
        for lo in range(0, n, chunk):
            out.append((run, [(s, lo, min(n, lo + chunk)) for s in ss]))
    return out


# ----------------------------------------------------------------------------
# Encoders (run before the timed phase)

def _num(v):
    if v != v:
        return '"NaN"'
    if v in (math.inf, -math.inf):
        return '"Infinity"' if v > 0 else '"-Infinity"'
    return repr(v)


def json_values(vals):
    if all(math.isfinite(v) for v in vals):
        return ",".join(map(float.__repr__, vals))
    return ",".join(map(_num, vals))


def vigil_body(parts):
    items = []
    for s, lo, hi in parts:
        items.append('{"metric":%s,"labels":{"rank":%s},"steps":[%s],"times":[%s],"values":[%s]}' % (
            json.dumps(s.metric), json.dumps(s.rank), ",".join(map(str, range(lo, hi))),
            ",".join(map(str, s.times[lo:hi])), json_values(s.values[lo:hi])))
    return ('{"series":[' + ",".join(items) + "]}").encode()


def vm_body(parts):
    lines = []
    for s, lo, hi in parts:
        lines.append('{"metric":{"__name__":%s,"run":%s,"rank":%s},"values":[%s],"timestamps":[%s]}\n' % (
            json.dumps(s.prom_name), json.dumps(s.run), json.dumps(s.rank),
            json_values(s.values[lo:hi]), ",".join(map(str, s.times[lo:hi]))))
    return "".join(lines).encode()


def om_value(v):
    if v != v:
        return "NaN"
    if v in (math.inf, -math.inf):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v)


def write_openmetrics(path, series_list):
    with open(path, "w") as f:
        for s in series_list:
            head = '%s{run="%s",rank="%s"} ' % (s.prom_name, s.run, s.rank)
            vals = map(float.__repr__ if all(map(math.isfinite, s.values)) else om_value, s.values)
            f.write("".join([f"{head}{v} {t // 1000}.{t % 1000:03d}\n" for t, v in zip(s.times, vals)]))
        f.write("# EOF\n")


def count_exact(want, got):
    """How many of the float64s in got (an array('d') aligned with want) have
    the same 8 bytes as in want; a NaN counts as equal to any NaN (JSON and
    text formats cannot carry a NaN payload)."""
    if want.tobytes() == got.tobytes():
        return len(want)
    wq = memoryview(want).cast("B").cast("Q")
    gq = memoryview(got).cast("B").cast("Q")
    n = sum(a == b for a, b in zip(wq, gq))
    if any(map(math.isnan, want)):
        n += sum(1 for a, b, qa, qb in zip(want, got, wq, gq) if a != a and b != b and qa != qb)
    return n


def compare_series(s, times, values, steps=None):
    """Scores one series read back against what was sent: returns (values
    bit-exact, timestamps exact). Points are matched by step when the system
    returns steps, else by timestamp; a point that did not come back counts
    as neither."""
    n = len(s.values)
    if len(times) == n and len(values) == n and (steps is None or steps == list(range(n))) and (
            steps is not None or times == s.times.tolist()):
        return count_exact(s.values, array.array("d", values)), sum(a == b for a, b in zip(times, s.times))
    want_v, got_v = array.array("d"), array.array("d")
    ts_exact = 0
    if steps is not None:
        by_step = {st: (t, v) for st, t, v in zip(steps, times, values)}
        for i in range(n):
            tv = by_step.get(i)
            if tv is not None:
                ts_exact += tv[0] == s.times[i]
                want_v.append(s.values[i])
                got_v.append(tv[1])
    else:
        by_time = dict(zip(times, values))
        for t, v in zip(s.times, s.values):
            if t in by_time:
                ts_exact += 1
                want_v.append(v)
                got_v.append(by_time[t])
    return count_exact(want_v, got_v), ts_exact


# ----------------------------------------------------------------------------
# Processes: start, watch, stop

_children = []
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


def spawn(argv, log_path, **kw):
    log = open(log_path, "wb")
    p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         preexec_fn=_die_with_parent, **kw)
    p._bench_log = log
    _children.append(p)
    return p


def stop(p, sig=signal.SIGTERM, timeout=60):
    """Stops a child gracefully (sig), then by force; returns its exit code."""
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    p._bench_log.close()
    if p in _children:
        _children.remove(p)
    return p.returncode


def kill_all_children():
    for p in list(_children):
        try:
            if p.poll() is None:
                p.kill()
            p.wait(10)
        except Exception:
            pass
        _children.remove(p)


_CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK  # utime, stime


def proc_hwm_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dir_bytes(path, skip=()):
    """Apparent size of every regular file under path, except under the
    top-level directories named in skip."""
    total = 0
    for root, dirs, files in os.walk(path):
        if root == path:
            dirs[:] = [d for d in dirs if d not in skip]
        for name in files:
            try:
                st = os.lstat(os.path.join(root, name))
            except FileNotFoundError:
                continue
            if not os.path.islink(os.path.join(root, name)):
                total += st.st_size
    return total


def wait_idle(pid, quiet_cpu_s=0.02, window_s=1.0, timeout_s=120.0, also=None):
    """Waits until the process uses < quiet_cpu_s CPU over window_s (and also()
    holds, when given). Returns the seconds waited."""
    t0 = time.monotonic()
    last = proc_cpu_s(pid)
    while time.monotonic() - t0 < timeout_s:
        time.sleep(window_s)
        now = proc_cpu_s(pid)
        if now - last < quiet_cpu_s and (also is None or also()):
            break
        last = now
    return time.monotonic() - t0


class Http:
    """A keep-alive connection to 127.0.0.1:port."""

    def __init__(self, port, timeout=600):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, ok=(200, 201, 204)):
        hdrs = {"Content-Type": "application/json"} if body is not None else {}
        hdrs.update(headers or {})
        try:
            self.conn.request(method, path, body=body, headers=hdrs)
            r = self.conn.getresponse()
            data = r.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            raise
        if r.status not in ok:
            raise RuntimeError(f"{method} {path[:120]} -> {r.status}: {data[:300]!r}")
        return r, data

    def close(self):
        self.conn.close()


def stop_server(sys_, sig):
    """Closes the system's connection and stops its server gracefully;
    returns (peak RSS in KiB, exit code)."""
    if sys_.http is not None:
        sys_.http.close()
    if sys_.proc is None:
        return 0, None
    rss = proc_hwm_kb(sys_.proc.pid) if sys_.proc.poll() is None else 0
    return rss, stop(sys_.proc, sig)


def wait_http(port, path, proc, timeout_s=30):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} (see its log)")
        try:
            c = Http(port, timeout=2)
            c.request("GET", path)
            c.close()
            return
        except Exception:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} not ready after {timeout_s}s")


def send_all(port, jobs, clients):
    """jobs: list of (lane, method, path, body). Requests of one lane go in
    order on one connection; lanes are spread over `clients` threads. Returns
    wall seconds from the first send to the last answer."""
    lanes = {}
    for lane, method, path, body in jobs:
        lanes.setdefault(lane, []).append((method, path, body))
    per_thread = [[] for _ in range(max(1, min(clients, len(lanes))))]
    for i, lane in enumerate(sorted(lanes)):
        per_thread[i % len(per_thread)].extend(lanes[lane])
    errors = []
    start = threading.Barrier(len(per_thread) + 1)

    def worker(reqs):
        c = Http(port)
        try:
            start.wait()
            for method, path, body in reqs:
                c.request(method, path, body)
        except Exception as e:  # reported by the caller
            errors.append(e)
        finally:
            c.close()

    threads = [threading.Thread(target=worker, args=(r,), daemon=True) for r in per_thread]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return wall


def percentile(xs, q):
    xs = sorted(xs)
    if not xs:
        return None
    k = (len(xs) - 1) * q
    f = math.floor(k)
    c = min(len(xs) - 1, f + 1)
    return xs[f] + (xs[c] - xs[f]) * (k - f)


def latency_summary(client_ms, server_ms=None):
    out = {"requests": len(client_ms),
           "client_p50_ms": percentile(client_ms, 0.5), "client_p99_ms": percentile(client_ms, 0.99)}
    if server_ms:
        out["server_p50_ms"] = percentile(server_ms, 0.5)
        out["server_p99_ms"] = percentile(server_ms, 0.99)
    return out


def timed_queries(fn, max_requests, max_seconds, warmup=5):
    """Calls fn() (-> optional server-side ms) up to max_requests times or for
    max_seconds, whichever comes first (at least 10 timed calls)."""
    for _ in range(warmup):
        fn()
    client, server = [], []
    t_end = time.monotonic() + max_seconds
    while len(client) < max_requests and (len(client) < 10 or time.monotonic() < t_end):
        t0 = time.perf_counter()
        srv = fn()
        client.append((time.perf_counter() - t0) * 1e3)
        if srv is not None:
            server.append(srv)
    return latency_summary(client, server if len(server) == len(client) else None)


def ingest_result(samples, cpu_s, wall_s, **extra):
    d = {"samples": samples, "server_cpu_s": cpu_s, "wall_s": wall_s,
         "samples_per_cpu_s": samples / cpu_s if cpu_s > 0 else None,
         "samples_per_wall_s": samples / wall_s if wall_s > 0 else None}
    d.update(extra)
    return d


# ----------------------------------------------------------------------------
# Systems. Each has ingest_variant(series) -> dict and query(series) -> dict.

class VictoriaMetrics:
    name = "victoriametrics"
    label = "VictoriaMetrics"

    def __init__(self, args, tmp):
        self.args, self.tmp = args, tmp

    def _start(self, tag):
        self.proc = self.http = None
        self.dir = os.path.join(self.tmp, f"vm-{tag}")
        self.port = free_port()
        self.proc = spawn([self.args.victoria_metrics, "-storageDataPath", self.dir,
                           "-httpListenAddr", f"127.0.0.1:{self.port}", "-retentionPeriod", "100y",
                           "-search.disableCache", "-loggerLevel", "WARN",
                           f"-search.maxPointsPerTimeseries={max(30000, 2 * QUERY_TARGET_POINTS)}"],
                          os.path.join(self.tmp, f"vm-{tag}.log"))
        wait_http(self.port, "/health", self.proc)
        self.http = Http(self.port)

    def _vm_metrics(self):
        _, data = self.http.request("GET", "/metrics")
        out = {}
        for line in data.decode().splitlines():
            if line.startswith(("vm_active_merges{", "vm_pending_rows{", "vm_parts{")):
                k, v = line.rsplit(" ", 1)
                out[k] = float(v)
        return out

    def _settle(self, series):
        """force_flush, then force_merge of every monthly partition the data
        touches, then wait for merges to end and the data dir to stop changing."""
        self.http.request("GET", "/internal/force_flush")
        months = sorted({time.strftime("%Y_%m", time.gmtime(t / 1000))
                         for s in series for t in (s.times[0], s.times[-1])})
        for m in months:
            self.http.request("GET", f"/internal/force_merge?partition_prefix={m}")
        prev = [-1]

        def quiet():
            m = self._vm_metrics()
            busy = any(v for k, v in m.items() if k.startswith(("vm_active_merges", "vm_pending_rows")))
            size = dir_bytes(self.dir)
            same = size == prev[0]
            prev[0] = size
            return not busy and same

        return wait_idle(self.proc.pid, also=quiet)

    def _stop(self):
        return stop_server(self, signal.SIGINT)

    def ingest_variant(self, series):
        jobs = [(run, "POST", "/api/v1/import", vm_body(parts)) for run, parts in batches(series)]
        try:
            self._start(series[0].variant)
            samples = sum(len(s.values) for s in series)
            cpu0, c0 = proc_cpu_s(self.proc.pid), time.process_time()
            t0 = time.perf_counter()
            send_all(self.port, jobs, self.args.clients)
            acked = time.perf_counter()
            self.http.request("GET", "/internal/force_flush")
            wall = time.perf_counter() - t0
            cpu = proc_cpu_s(self.proc.pid) - cpu0
            client_cpu = time.process_time() - c0
            del jobs
            settle_s = self._settle(series)
            cpu_settled = proc_cpu_s(self.proc.pid) - cpu0
            live_bytes = dir_bytes(self.dir, skip=("cache",))
            exact, total, ts_exact = self._read_back(series)
        finally:
            rss, rc = self._stop()
        # VM writes its in-memory caches (metricName -> TSID and the like,
        # rebuilt from indexdb when missing) to cache/ at shutdown: not data.
        disk = dir_bytes(self.dir, skip=("cache",))
        return {"ingest": ingest_result(samples, cpu, wall, ack_wall_s=acked - t0,
                                        server_cpu_incl_merges_s=cpu_settled, client_cpu_s=client_cpu,
                                        settle_s=settle_s),
                "bytes": disk, "bytes_live": live_bytes, "bytes_with_cache": dir_bytes(self.dir),
                "bytes_per_sample": disk / samples,
                "exact_values": exact, "values": total, "exact_times": ts_exact,
                "lossless": exact == total and ts_exact == total,
                "rss_kb": rss, "exit_code": rc}

    def _read_back(self, series):
        want = {(s.run, s.rank): s for s in series}
        exact = total = ts_exact = 0
        runs = sorted({s.run for s in series})
        for run in runs:
            q = urllib.parse.urlencode({"match[]": '{run="%s"}' % run})
            _, data = self.http.request("GET", "/api/v1/export?" + q)
            for line in data.splitlines():
                if not line.strip():
                    continue
                obj = json.loads(line)
                s = want.get((obj["metric"].get("run"), obj["metric"].get("rank")))
                if s is None:
                    continue
                vals = [math.nan if v is None else float(v) for v in obj["values"]]
                e, te = compare_series(s, obj["timestamps"], vals)
                exact += e
                ts_exact += te
        total = sum(len(s.values) for s in series)
        return exact, total, ts_exact

    def query(self, s):
        jobs = [("q", "POST", "/api/v1/import", vm_body(parts)) for _, parts in batches([s])]
        try:
            self._start("query")
            cpu0 = proc_cpu_s(self.proc.pid)
            wall = send_all(self.port, jobs, 1)
            self.http.request("GET", "/internal/force_flush")
            cpu = proc_cpu_s(self.proc.pid) - cpu0
            del jobs
            self._settle([s])
            span_ms = s.times[-1] - s.times[0]
            step_ms = max(1, math.ceil(span_ms / QUERY_TARGET_POINTS))
            sel = '%s{run="%s",rank="%s"}' % (s.prom_name, s.run, s.rank)
            results = {}
            for label, expr in (("selector", sel), ("max_over_time", f"max_over_time({sel}[{step_ms}ms])")):
                path = "/api/v1/query_range?" + urllib.parse.urlencode({
                    "query": expr, "start": f"{s.times[0] / 1000:.3f}", "end": f"{s.times[-1] / 1000:.3f}",
                    "step": f"{step_ms}ms"})
                npts = [0]

                def one():
                    _, data = self.http.request("GET", path)
                    if npts[0] == 0:
                        res = json.loads(data)["data"]["result"]
                        npts[0] = len(res[0]["values"]) if res else 0
                    return None

                main = label == "selector"  # the alternative gets half the time budget
                r = timed_queries(one, self.args.query_requests if main else self.args.query_requests // 2,
                                  self.args.query_seconds if main else self.args.query_seconds / 2)
                r.update({"query": expr, "points_returned": npts[0]})
                results[label] = r
            out = results["selector"]
            out["alternatives"] = {"max_over_time": results["max_over_time"]}
            out["source_points"] = len(s.values)
            out["ingest"] = ingest_result(len(s.values), cpu, wall)
        finally:
            rss, _ = self._stop()
        out["rss_kb"] = rss
        return out


class Vigil:
    name = "vigil"
    label = "vigil"

    def __init__(self, args, tmp):
        self.args, self.tmp = args, tmp

    def _start(self, tag):
        self.proc = self.http = None
        self.dir = os.path.join(self.tmp, f"vigil-{tag}")
        self.port = free_port()
        self.proc = spawn([self.args.vigil, "serve", "--data", self.dir,
                           "--listen", f"127.0.0.1:{self.port}"],
                          os.path.join(self.tmp, f"vigil-{tag}.log"))
        wait_http(self.port, "/healthz", self.proc)
        self.http = Http(self.port)

    def _create_runs(self, names):
        ids = {}
        for name in names:
            _, data = self.http.request("POST", "/api/v1/runs",
                                        json.dumps({"project": "bench", "name": name}).encode())
            ids[name] = json.loads(data)["id"]
        return ids

    def _stop(self):
        return stop_server(self, signal.SIGTERM)

    def ingest_variant(self, series):
        try:
            self._start(series[0].variant)
            ids = self._create_runs(sorted({s.run for s in series}))
            jobs = [(run, "POST", f"/api/v1/runs/{ids[run]}/log", vigil_body(parts))
                    for run, parts in batches(series)]
            samples = sum(len(s.values) for s in series)
            cpu0, c0 = proc_cpu_s(self.proc.pid), time.process_time()
            wall = send_all(self.port, jobs, self.args.clients)
            cpu = proc_cpu_s(self.proc.pid) - cpu0
            client_cpu = time.process_time() - c0
            del jobs
            settle_s = wait_idle(self.proc.pid)
            cpu_settled = proc_cpu_s(self.proc.pid) - cpu0
            live_bytes = dir_bytes(self.dir)
            exact, total, ts_exact = self._read_back(series, ids)
        finally:
            rss, rc = self._stop()
        disk = dir_bytes(self.dir)
        return {"ingest": ingest_result(samples, cpu, wall, server_cpu_incl_merges_s=cpu_settled,
                                        client_cpu_s=client_cpu, settle_s=settle_s),
                "bytes": disk, "bytes_live": live_bytes, "bytes_per_sample": disk / samples,
                "exact_values": exact, "values": total, "exact_times": ts_exact,
                "lossless": exact == total and ts_exact == total,
                "rss_kb": rss, "exit_code": rc}

    def _series_path(self, run_id, s, extra=None):
        q = {"metric": s.metric, "labels": json.dumps({"rank": s.rank}, separators=(",", ":"))}
        q.update(extra or {})
        return f"/api/v1/runs/{run_id}/series?" + urllib.parse.urlencode(q)

    def _read_back(self, series, ids):
        exact = ts_exact = 0
        for s in series:
            _, data = self.http.request("GET", self._series_path(ids[s.run], s))
            obj = json.loads(data)
            e, te = compare_series(s, obj["times"], [_from_json(v) for v in obj["values"]], obj["steps"])
            exact += e
            ts_exact += te
        total = sum(len(s.values) for s in series)
        return exact, total, ts_exact

    def query(self, s):
        try:
            self._start("query")
            ids = self._create_runs([s.run])
            jobs = [("q", "POST", f"/api/v1/runs/{ids[s.run]}/log", vigil_body(parts))
                    for _, parts in batches([s])]
            cpu0 = proc_cpu_s(self.proc.pid)
            wall = send_all(self.port, jobs, 1)
            cpu = proc_cpu_s(self.proc.pid) - cpu0
            del jobs
            wait_idle(self.proc.pid)
            path = self._series_path(ids[s.run], s, {"points": str(QUERY_TARGET_POINTS)})
            npts = [0]

            def one():
                r, data = self.http.request("GET", path)
                if npts[0] == 0:
                    npts[0] = len(json.loads(data)["values"])
                return server_timing_ms(r.getheader("Server-Timing"))

            out = timed_queries(one, self.args.query_requests, self.args.query_seconds)
            out.update({"query": path, "points_returned": npts[0], "source_points": len(s.values),
                        "ingest": ingest_result(len(s.values), cpu, wall)})
        finally:
            rss, _ = self._stop()
        out["rss_kb"] = rss
        return out


def _from_json(v):
    if isinstance(v, str):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[v]
    return float(v)


def server_timing_ms(header):
    """'total;dur=1.234, db;dur=0.5' -> the 'total' entry's dur (or the first)."""
    if not header:
        return None
    first = None
    for entry in header.split(","):
        parts = [p.strip() for p in entry.split(";")]
        dur = next((float(p[4:]) for p in parts[1:] if p.startswith("dur=")), None)
        if dur is None:
            continue
        if parts[0] == "total":
            return dur
        first = dur if first is None else first
    return first


class Prometheus:
    """promtool tsdb create-blocks-from openmetrics: Prometheus' own bulk
    import into TSDB blocks (a tool, not a server). Read-back and queries go
    to a `prometheus` server started on the produced blocks."""

    name = "prometheus"
    label = "Prometheus (promtool)"

    def __init__(self, args, tmp):
        self.args, self.tmp = args, tmp

    def _create_blocks(self, series, tag):
        om = os.path.join(self.tmp, f"prom-{tag}.om")
        write_openmetrics(om, series)
        out_dir = os.path.join(self.tmp, f"prom-{tag}")
        p = spawn([self.args.promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet",
                   om, out_dir], os.path.join(self.tmp, f"prom-{tag}.log"))
        t0 = time.perf_counter()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        stop(p)
        os.unlink(om)
        if p.returncode != 0:
            raise RuntimeError(f"promtool exited with {p.returncode}; see prom-{tag}.log")
        samples = sum(len(s.values) for s in series)
        return out_dir, ingest_result(samples, ru.ru_utime + ru.ru_stime, wall), ru.ru_maxrss

    def _serve(self, out_dir, tag):
        """Starts `prometheus` on the blocks in out_dir; returns (proc, Http)."""
        cfg = os.path.join(self.tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1h\nscrape_configs: []\n")
        port = free_port()
        # min = max block duration: no compaction of the imported blocks while
        # we read (it would compete for the 2 cores).
        proc = spawn([self.args.prometheus, f"--config.file={cfg}", f"--storage.tsdb.path={out_dir}",
                      f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=100y",
                      "--storage.tsdb.min-block-duration=2h", "--storage.tsdb.max-block-duration=2h",
                      "--log.level=warn"], os.path.join(self.tmp, f"prometheus-{tag}.log"))
        try:
            wait_http(port, "/-/ready", proc, timeout_s=60)
            wait_idle(proc.pid)
        except Exception:
            stop(proc)
            raise
        return proc, Http(port)

    def ingest_variant(self, series):
        tag = series[0].variant
        out_dir, ing, rss = self._create_blocks(series, tag)
        disk = dir_bytes(out_dir)
        blocks = len([d for d in os.listdir(out_dir) if len(d) == 26])
        samples = ing["samples"]
        proc, conn = self._serve(out_dir, tag)
        try:
            exact, ts_exact = self._read_back(series, conn)
        finally:
            conn.close()
            stop(proc)
        return {"ingest": ing, "bytes": disk, "bytes_per_sample": disk / samples,
                "exact_values": exact, "values": samples, "exact_times": ts_exact,
                "lossless": exact == samples and ts_exact == samples, "rss_kb": rss, "blocks": blocks}

    def _read_back(self, series, conn):
        """Every sample of each run through an instant query of a range
        selector that covers the whole series (values come back as Go's
        shortest round-trip text)."""
        want = {(s.prom_name, s.run, s.rank): s for s in series}
        exact = ts_exact = 0
        for run in sorted({s.run for s in series}):
            ss = [s for s in series if s.run == run]
            t_end = max(s.times[-1] for s in ss)
            t_begin = min(s.times[0] for s in ss)
            rng_s = (t_end - t_begin) // 1000 + 60
            q = urllib.parse.urlencode({"query": '{run="%s"}[%ds]' % (run, rng_s), "time": f"{t_end / 1000:.3f}"})
            _, data = conn.request("GET", "/api/v1/query?" + q)
            for item in json.loads(data)["data"]["result"]:
                m = item["metric"]
                s = want.get((m.get("__name__"), m.get("run"), m.get("rank")))
                if s is None:
                    continue
                pairs = item["values"]
                # float() reads Prometheus' "NaN", "+Inf" and "-Inf" too.
                e, te = compare_series(s, [round(t * 1000) for t, _ in pairs], [float(v) for _, v in pairs])
                exact += e
                ts_exact += te
        return exact, ts_exact

    def query(self, s):
        out_dir, ing, _ = self._create_blocks([s], "query")
        proc, conn = self._serve(out_dir, "query")
        try:
            span_ms = s.times[-1] - s.times[0]
            step_ms = max(1, math.ceil(span_ms / QUERY_TARGET_POINTS))
            expr = '%s{run="%s",rank="%s"}' % (s.prom_name, s.run, s.rank)
            path = "/api/v1/query_range?" + urllib.parse.urlencode({
                "query": expr, "start": f"{s.times[0] / 1000:.3f}", "end": f"{s.times[-1] / 1000:.3f}",
                "step": f"{step_ms / 1000:.3f}"})
            npts = [0]

            def one():
                _, data = conn.request("GET", path)
                if npts[0] == 0:
                    res = json.loads(data)["data"]["result"]
                    npts[0] = len(res[0]["values"]) if res else 0
                return None

            out = timed_queries(one, self.args.query_requests, self.args.query_seconds)
            out.update({"query": expr, "points_returned": npts[0], "source_points": len(s.values),
                        "ingest": ing, "rss_kb": proc_hwm_kb(proc.pid)})
        finally:
            conn.close()
            stop(proc)
        return out


class SQLiteMLflow:
    """SQLite with MLflow's `metrics` table (mlflow/store/tracking/dbmodels/
    models.py, SqlMetric), driven from a child Python process so its CPU time
    and peak RSS are SQLite's (plus the batch being inserted). Gets the first
    --sqlite-fraction of each variant's series."""

    name = "sqlite"
    label = "SQLite (MLflow schema)"

    def __init__(self, args, tmp):
        self.args, self.tmp = args, tmp

    def _worker(self, job):
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "--sqlite-worker", json.dumps(job)],
                           capture_output=True, preexec_fn=_die_with_parent)
        if p.returncode != 0:
            raise RuntimeError(f"sqlite worker failed: {p.stderr.decode()[-2000:]}")
        return json.loads(p.stdout)

    def ingest_variant(self, series):
        v = series[0].variant
        limit = max(1, round(len(series) * self.args.sqlite_fraction))
        return self._worker({"mode": "variant", "variant": v, "seed": self.args.seed, "limit": limit,
                             "scale": self.args.scale, "db": os.path.join(self.tmp, f"sqlite-{v}.db")})

    def query(self, s):
        return self._worker({"mode": "query", "seed": self.args.seed, "scale": self.args.scale,
                             "db": os.path.join(self.tmp, "sqlite-query.db"),
                             "requests": self.args.query_requests, "seconds": self.args.query_seconds})


MLFLOW_METRICS_DDL = """
CREATE TABLE metrics (
    key VARCHAR(250) NOT NULL,
    value FLOAT NOT NULL,
    timestamp BIGINT NOT NULL,
    run_uuid VARCHAR(32) NOT NULL,
    step BIGINT DEFAULT '0' NOT NULL,
    is_nan BOOLEAN DEFAULT '0' NOT NULL,
    CONSTRAINT metric_pk PRIMARY KEY (key, timestamp, step, run_uuid, value, is_nan),
    CHECK (is_nan IN (0, 1))
);
CREATE INDEX index_metrics_run_uuid ON metrics (run_uuid);
"""


def mlflow_value(v):
    """MLflow's SqlAlchemyStore stores NaN as value 0 with is_nan=1 and +-Inf
    as +-sys.float_info.max."""
    if v != v:
        return 0.0, 1
    if v in (math.inf, -math.inf):
        return math.copysign(sys.float_info.max, v), 0
    return v, 0


def sqlite_worker(job):
    db = job["db"]
    if job["mode"] == "variant":
        series = gen_variant(job["seed"], job["variant"], job["scale"], job["limit"])
    else:
        series = [gen_query_series(job["seed"], job["scale"])]
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.executescript(MLFLOW_METRICS_DDL)
    cpu = wall = 0.0
    samples = 0
    for _, parts in batches(series):
        rows = []
        for s, lo, hi in parts:
            key, uuid = s.metric, s.mlflow_run_uuid
            for i in range(lo, hi):
                val, is_nan = mlflow_value(s.values[i])
                rows.append((key, val, s.times[i], uuid, i, is_nan))
        samples += len(rows)
        c0, w0 = time.process_time(), time.perf_counter()
        con.execute("BEGIN")
        con.executemany("INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
                        "VALUES (?, ?, ?, ?, ?, ?)", rows)
        con.execute("COMMIT")
        cpu += time.process_time() - c0
        wall += time.perf_counter() - w0
        del rows
    c0, w0 = time.process_time(), time.perf_counter()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    cpu_ckpt, wall_ckpt = time.process_time() - c0, time.perf_counter() - w0
    disk = sum(os.path.getsize(p) for p in (db, db + "-wal") if os.path.exists(p))
    result = {"ingest": ingest_result(samples, cpu, wall, checkpoint_cpu_s=cpu_ckpt, checkpoint_wall_s=wall_ckpt),
              "bytes": disk, "bytes_per_sample": disk / samples}
    if job["mode"] == "variant":
        exact = ts_exact = 0
        for s in series:
            rows = con.execute("SELECT step, timestamp, value, is_nan FROM metrics WHERE run_uuid = ? AND key = ? "
                               "ORDER BY step", (s.mlflow_run_uuid, s.metric)).fetchall()
            e, te = compare_series(s, [r[1] for r in rows],
                                   [math.nan if r[3] else float(r[2]) for r in rows], [r[0] for r in rows])
            exact += e
            ts_exact += te
        result.update({"exact_values": exact, "values": samples, "exact_times": ts_exact,
                       "lossless": exact == samples and ts_exact == samples})
    else:
        s = series[0]
        buckets = QUERY_TARGET_POINTS // 2  # min and max per bucket: ~2,000 points
        t0, span = s.times[0], s.times[-1] - s.times[0] + 1
        sql = ("SELECT (timestamp - ?) * ? / ? AS b, MIN(value), MAX(value), MIN(timestamp), MAX(timestamp) "
               "FROM metrics WHERE run_uuid = ? AND key = ? GROUP BY b ORDER BY b")
        params = (t0, buckets, span, s.mlflow_run_uuid, s.metric)
        npts = [0]
        cpu_ms = []

        def one():
            c = time.process_time()
            rows = con.execute(sql, params).fetchall()
            cpu_ms.append((time.process_time() - c) * 1e3)
            npts[0] = 2 * len(rows)
            return None

        q = timed_queries(one, job["requests"], job["seconds"], warmup=2)
        q.update({"query": sql, "points_returned": npts[0], "source_points": len(s.values),
                  "cpu_p50_ms": percentile(cpu_ms[2:], 0.5), "in_process": True})
        q["ingest"] = result["ingest"]
        result = q
    con.close()
    result["rss_kb"] = proc_hwm_kb(os.getpid())
    return result


# ----------------------------------------------------------------------------
# Report

def fmt_rate(x):
    if x is None:
        return "-"
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e3:
        return f"{x / 1e3:.1f}k"
    return f"{x:.0f}"


def fmt_num(x, nd=2):
    return "-" if x is None else f"{x:.{nd}f}"


def table(title, header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    lines = [f"\n{title}"]
    lines.append("  ".join(str(h).ljust(w) if i == 0 else str(h).rjust(w) for i, (h, w) in enumerate(zip(header, widths))))
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    print("\n".join(lines))


def summarise(results):
    """Totals over the variant passes: ingest rates, peak RSS."""
    for name, r in results.items():
        vs = [v for v in r.get("variants", {}).values() if "ingest" in v]
        if not vs:
            continue
        samples = sum(v["ingest"]["samples"] for v in vs)
        cpu = sum(v["ingest"]["server_cpu_s"] for v in vs)
        wall = sum(v["ingest"]["wall_s"] for v in vs)
        r["ingest"] = ingest_result(samples, cpu, wall)
        if all("server_cpu_incl_merges_s" in v["ingest"] for v in vs):
            cpu2 = sum(v["ingest"]["server_cpu_incl_merges_s"] for v in vs)
            r["ingest"]["samples_per_cpu_s_incl_merges"] = samples / cpu2 if cpu2 > 0 else None
        rss = [v.get("rss_kb", 0) for v in vs] + [r.get("query", {}).get("rss_kb", 0)]
        r["peak_rss_kb"] = max(rss)
        r["lossless_all"] = all(v.get("lossless") for v in vs)


def report(results, args, systems):
    labels = {s.name: s.label for s in systems}
    names = [s.name for s in systems if s.name in results]
    variants = args.variants

    rows = []
    for n in names:
        ing = results[n].get("ingest")
        if not ing:
            rows.append([labels[n], "-", "-", "-", "-", "-"])
            continue
        rows.append([labels[n], f"{ing['samples']:,}", fmt_num(ing["server_cpu_s"]), fmt_rate(ing["samples_per_cpu_s"]),
                     fmt_num(ing["wall_s"]), fmt_rate(ing["samples_per_wall_s"])])
    table("Ingest (sum of the variant passes; CPU = server process, or promtool / SQLite process)",
          ["system", "samples", "cpu s", "samples/cpu-s", "wall s", "samples/wall-s"], rows)

    rows = []
    for n in names:
        row = [labels[n]]
        for v in variants:
            d = results[n].get("variants", {}).get(v)
            row.append("-" if not d or "bytes_per_sample" not in d else
                       fmt_num(d["bytes_per_sample"], 3) + ("" if d.get("lossless") else "*"))
        rows.append(row)
    table("Bytes per sample on disk (* = read-back not bit-exact)", ["system"] + variants, rows)

    rows = []
    for n in names:
        row = [labels[n]]
        for v in variants:
            d = results[n].get("variants", {}).get(v)
            row.append("-" if not d or "values" not in d else
                       f"{100.0 * d['exact_values'] / d['values']:.2f}%/{100.0 * d['exact_times'] / d['values']:.1f}%")
        rows.append(row)
    table("Read-back bit-exact (values % / timestamps %)", ["system"] + variants, rows)

    rows = []
    for n in names:
        q = results[n].get("query")
        if not q or "client_p50_ms" not in q:
            rows.append([labels[n], "-", "-", "-", "-", "-", (q or {}).get("error", "")[:60]])
            continue
        rows.append([labels[n], f"{q['source_points']:,}", str(q["points_returned"]), fmt_num(q["client_p50_ms"]),
                     fmt_num(q["client_p99_ms"]), fmt_num(q.get("server_p50_ms")), fmt_num(q.get("server_p99_ms"))])
    table("Downsampled range query (ms; SQLite in-process)",
          ["system", "source pts", "returned", "p50", "p99", "server p50", "server p99"], rows)

    rows = [[labels[n], f"{results[n].get('peak_rss_kb', 0) / 1024:.0f}"] for n in names if results[n].get("peak_rss_kb")]
    table("Peak RSS (MiB, VmHWM / ru_maxrss, max over passes)", ["system", "MiB"], rows)

    ratios, bars = [], {}
    vg = results.get("vigil")
    if vg and vg.get("ingest"):
        print("\nRatios (vigil against each peer)")
        for n in names:
            if n == "vigil" or not results[n].get("ingest"):
                continue
            a, b = vg["ingest"]["samples_per_cpu_s"], results[n]["ingest"]["samples_per_cpu_s"]
            line = f"ingest per CPU-s: vigil/{labels[n]} = {a / b:.2f}x"
            if n == "victoriametrics":
                line += " (bar >= 2x)"
                bars["ingest_2x_vm"] = {"ratio": a / b, "pass": a / b >= 2.0}
            ratios.append(line)
            print("  " + line)
        for v in variants:
            mine = vg.get("variants", {}).get(v)
            if not mine or "bytes_per_sample" not in mine:
                continue
            peers = [(results[n]["variants"][v]["bytes_per_sample"], n) for n in names
                     if n != "vigil" and v in results[n].get("variants", {})
                     and "bytes_per_sample" in results[n]["variants"][v]]
            for bps, n in peers:
                line = f"bytes/sample {v}: vigil/{labels[n]} = {mine['bytes_per_sample'] / bps:.2f}x"
                ratios.append(line)
                print("  " + line)
            if peers:
                best, who = min(peers)
                ok = mine["bytes_per_sample"] <= best and mine.get("lossless")
                bars[f"bytes_{v}"] = {"vigil": mine["bytes_per_sample"], "best_peer": who, "best_peer_bps": best,
                                      "lossless": mine.get("lossless"), "pass": bool(ok)}
        q = vg.get("query", {})
        p50 = q.get("server_p50_ms", q.get("client_p50_ms"))
        if p50 is not None:
            src = "server-side (Server-Timing)" if "server_p50_ms" in q else "client-observed"
            bars["query_p50_5ms"] = {"p50_ms": p50, "source": src, "source_points": q.get("source_points"),
                                     "pass": p50 <= 5.0}
            for n in names:
                pq = results[n].get("query", {})
                if n != "vigil" and pq.get("client_p50_ms"):
                    line = (f"query p50 (client): vigil/{labels[n]} = "
                            f"{q['client_p50_ms'] / pq['client_p50_ms']:.2f}x")
                    ratios.append(line)
                    print("  " + line)
        print("\nBars")
        for k, b in bars.items():
            print(f"  {'PASS' if b['pass'] else 'FAIL'}  {k}: " + ", ".join(
                f"{kk}={vv:.3f}" if isinstance(vv, float) else f"{kk}={vv}" for kk, vv in b.items() if kk != "pass"))
        if args.scale != 1.0:
            print(f"  (scale {args.scale}: the query bar is defined on 1,000,000 points; this run used "
                  f"{q.get('source_points')})")
    else:
        print("\nRatios and bars: vigil was not measured (see above).")
    return ratios, bars


# ----------------------------------------------------------------------------
# Main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vigil", default="build/release/vigil", help="vigil binary (default %(default)s)")
    ap.add_argument("--victoria-metrics", default=shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics")
    ap.add_argument("--promtool", default=shutil.which("promtool") or "/usr/bin/promtool")
    ap.add_argument("--prometheus", default=shutil.which("prometheus") or "/usr/bin/prometheus")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="fraction of the 1,000 series and of the 1,000,000-point query series (default 1)")
    ap.add_argument("--seed", type=int, default=20240101)
    ap.add_argument("--systems", default="vigil,victoriametrics,prometheus,sqlite")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--clients", type=int, default=4, help="concurrent HTTP connections for ingest")
    ap.add_argument("--query-requests", type=int, default=200)
    ap.add_argument("--query-seconds", type=float, default=20.0,
                    help="stop a query series early after this long (at least 10 requests)")
    ap.add_argument("--sqlite-fraction", type=float, default=0.2,
                    help="share of each variant's series given to SQLite (default %(default)s: its "
                         "per-row cost does not depend on the count, and the full set takes minutes)")
    ap.add_argument("--no-query", action="store_true", help="skip the 1M-point query pass")
    ap.add_argument("--out", help="write the results as JSON here")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--tmp", help="parent of the temporary directory (default $TMPDIR)")
    ap.add_argument("--sqlite-worker", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.sqlite_worker:
        json.dump(sqlite_worker(json.loads(args.sqlite_worker)), sys.stdout)
        return 0

    args.variants = [v for v in args.variants.split(",") if v]
    for v in args.variants:
        if v not in VARIANTS:
            ap.error(f"unknown variant {v}")
    wanted = [s for s in args.systems.split(",") if s]
    classes = {c.name: c for c in (Vigil, VictoriaMetrics, Prometheus, SQLiteMLflow)}
    for n in wanted:
        if n not in classes:
            ap.error(f"unknown system {n} (one of {', '.join(classes)})")
    notes = []
    if "vigil" in wanted and not os.access(args.vigil, os.X_OK):
        notes.append(f"vigil binary {args.vigil} not found: vigil not measured")
        wanted.remove("vigil")
    for n, tool in (("victoriametrics", args.victoria_metrics), ("prometheus", args.promtool)):
        if n in wanted and not os.access(tool, os.X_OK):
            notes.append(f"{tool} not found: {n} not measured")
            wanted.remove(n)
    for n in notes:
        print("NOTE: " + n, file=sys.stderr)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    tmp = tempfile.mkdtemp(prefix="vigil-storage-bench-", dir=args.tmp)
    systems = [classes[n](args, tmp) for n in wanted]
    per_variant, per_run = variant_layout(args.scale)
    results = {s.name: {"variants": {}} for s in systems}
    t_start = time.monotonic()
    timings = {}
    try:
        print(f"data: {per_variant} series x {POINTS_PER_SERIES:,} points per variant "
              f"({len(args.variants)} variants, runs of {per_run} ranks), seed {args.seed}; tmp {tmp}", flush=True)
        for v in args.variants:
            t0 = time.monotonic()
            series = gen_variant(args.seed, v, args.scale)
            print(f"[{v}] generated {len(series)} series in {time.monotonic() - t0:.1f}s", flush=True)
            for s in systems:
                t0 = time.monotonic()
                try:
                    r = s.ingest_variant(series)
                except KeyboardInterrupt:
                    raise
                except Exception as e:
                    r = {"error": f"{type(e).__name__}: {e}"}
                results[s.name]["variants"][v] = r
                el = time.monotonic() - t0
                timings[f"{s.name}/{v}"] = el
                if "error" in r:
                    print(f"[{v}] {s.label}: ERROR {r['error']}", flush=True)
                else:
                    print(f"[{v}] {s.label}: {fmt_rate(r['ingest']['samples_per_cpu_s'])} samples/cpu-s, "
                          f"{r['bytes_per_sample']:.3f} B/sample, exact {r['exact_values']}/{r['values']} "
                          f"({el:.1f}s)", flush=True)
            del series
        if not args.no_query:
            t0 = time.monotonic()
            qs = gen_query_series(args.seed, args.scale)
            print(f"[query] generated 1 series of {len(qs.values):,} points in {time.monotonic() - t0:.1f}s", flush=True)
            for s in systems:
                t0 = time.monotonic()
                try:
                    r = s.query(qs)
                except KeyboardInterrupt:
                    raise
                except Exception as e:
                    r = {"error": f"{type(e).__name__}: {e}"}
                results[s.name]["query"] = r
                timings[f"{s.name}/query"] = time.monotonic() - t0
                if "error" in r:
                    print(f"[query] {s.label}: ERROR {r['error']}", flush=True)
                else:
                    print(f"[query] {s.label}: p50 {r['client_p50_ms']:.2f} ms client"
                          + (f", {r['server_p50_ms']:.2f} ms server" if "server_p50_ms" in r else "")
                          + f" ({timings[s.name + '/query']:.1f}s)", flush=True)
            del qs
    finally:
        kill_all_children()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    summarise(results)
    ratios, bars = report(results, args, systems)
    total = time.monotonic() - t_start
    print(f"\ntotal {total:.0f}s")
    if args.out:
        doc = {"config": {"scale": args.scale, "seed": args.seed, "series_per_variant": per_variant,
                          "series_per_run": per_run, "points_per_series": POINTS_PER_SERIES,
                          "variants": {v: {"metric": VARIANTS[v], "doc": VARIANT_DOC[v]} for v in args.variants},
                          "clients": args.clients, "cpus": os.cpu_count(),
                          "vigil": args.vigil if "vigil" in wanted else None},
               "notes": notes, "results": results, "ratios": ratios, "bars": bars,
               "timings_s": timings, "total_s": total}
        with open(args.out, "w") as f:
            json.dump(doc, f, indent=1)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        kill_all_children()
        print("interrupted", file=sys.stderr)
        sys.exit(130)
