"""Start and talk to a real `vigil serve` on loopback, for the integration tests.

Standard library only. The server binary comes from $VIGIL_BIN, else
build/release/vigil under the repository root.
"""

import http.client
import json
import math
import os
import re
import signal
import struct
import subprocess
import time
import urllib.parse

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def vigil_binary():
    path = os.environ.get("VIGIL_BIN") or os.path.join(REPO, "build", "release", "vigil")
    if not os.path.exists(path):
        raise RuntimeError(f"vigil binary not found at {path}: build first (make build)")
    return path


class Server:
    """A `vigil serve` process on 127.0.0.1 with a free port."""

    def __init__(self, data_dir, *extra_args, env=None, listen="127.0.0.1:0"):
        self.data_dir = data_dir
        self.listen = listen  # a fixed "127.0.0.1:PORT" lets a restart keep its address
        self.extra_args = list(extra_args)
        self.env = env
        self.proc = None
        self.port = None
        self.log_path = os.path.join(os.path.dirname(data_dir.rstrip("/")) or ".",
                                     os.path.basename(data_dir.rstrip("/")) + ".log")

    def start(self, timeout=20):
        args = [vigil_binary(), "serve", "--data", self.data_dir, "--listen", self.listen]
        args += self.extra_args
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.PIPE, env=self.env)
        deadline = time.time() + timeout
        line = b""
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.log.write(line)
            m = re.search(rb"serving on http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                # Keep draining stderr so the server never blocks on it.
                import threading

                threading.Thread(target=self._drain, daemon=True).start()
                return self
        self.proc.kill()
        raise RuntimeError(f"vigil serve did not start: {line!r} (log: {self.log_path})")

    def _drain(self):
        for line in self.proc.stderr:
            self.log.write(line)
            self.log.flush()

    def stop(self, timeout=30):
        """SIGTERM and wait: a clean shutdown."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=timeout)
        return self.proc.returncode

    def kill(self):
        """SIGKILL: a crash."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def client(self, token=None):
        return Client("127.0.0.1", self.port, token=token)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.stop()


class ApiError(Exception):
    def __init__(self, status, body):
        self.status = status
        self.body = body
        try:
            err = json.loads(body)["error"]
            self.code, self.message = err["code"], err["message"]
        except Exception:  # not a JSON error
            self.code, self.message = None, body
        super().__init__(f"{status} {self.code}: {self.message}")


class Client:
    """A keep-alive HTTP/1.1 JSON client for the vigil API."""

    def __init__(self, host, port, token=None, timeout=60):
        self.host, self.port, self.token, self.timeout = host, port, token, timeout
        self.conn = None

    def request(self, method, path, body=None, query=None, raw=False, headers=None):
        if query:
            path += "?" + urllib.parse.urlencode(query)
        data = None
        hdrs = dict(headers or {})
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body, allow_nan=False)
            if isinstance(data, str):
                data = data.encode()
            hdrs.setdefault("Content-Type", "application/json")
        if self.token:
            hdrs["Authorization"] = f"Bearer {self.token}"
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=data, headers=hdrs)
                resp = self.conn.getresponse()
                payload = resp.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
        self.last_headers = dict(resp.getheaders())
        if resp.status >= 400:
            raise ApiError(resp.status, payload.decode(errors="replace"))
        if raw:
            return payload
        return json.loads(payload) if payload else None

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    # Convenience wrappers.
    def create_run(self, project="test", **fields):
        return self.request("POST", "/api/v1/runs", dict(project=project, **fields))

    def log(self, run_id, body):
        return self.request("POST", f"/api/v1/runs/{run_id}/log", body)

    def series(self, run_id, metric, labels=None, **params):
        q = {"metric": metric}
        if labels is not None:
            q["labels"] = json.dumps(labels)
        q.update({k: str(v) for k, v in params.items()})
        return self.request("GET", f"/api/v1/runs/{run_id}/series", query=q)


def encode_value(v):
    """A float as the API takes it: a JSON number, or "NaN"/"Infinity"/"-Infinity"."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def decode_value(v):
    return float(v) if isinstance(v, str) else float(v)


def bits(v):
    """The IEEE-754 bits of a float, for bit-exact comparisons (NaN == NaN)."""
    v = decode_value(v)
    if math.isnan(v):
        return "nan"  # JSON carries no NaN payload; every NaN reads back as the canonical one
    return struct.pack("<d", v)


def columnar_body(series):
    """{"series": [...]} from dicts with metric, labels, steps, times, values."""
    return {
        "series": [
            dict(s, values=[encode_value(v) for v in s["values"]]) for s in series
        ]
    }
