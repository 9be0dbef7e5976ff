"""HTTP/1.1 keep-alive client for the vigil API, and the retry policy.

A `Transport` owns one connection and is used by one thread at a time (the
sender thread has its own; init and finish use another). `request` raises
`OSError` / `http.client.HTTPException` when the server cannot be reached;
any HTTP answer, error or not, comes back as a `Response`.

Retry policy (protocol.md): 2xx done; 408, 429 and 5xx retry (honouring
Retry-After); 401/403 keep the data (a token problem is fixed by the user,
then `vigil sync`); 404 on a run path means the run is unknown (create it,
then retry); any other 4xx is a bad request that must not be retried.
"""

from __future__ import annotations

import http.client
import json
import random
import urllib.parse
from typing import NamedTuple, Optional

from .errors import ApiError

CONNECTION_ERRORS = (OSError, http.client.HTTPException)

OK, RETRY, AUTH, MISSING, FATAL = "ok", "retry", "auth", "missing", "fatal"


class Response(NamedTuple):
    status: int
    body: bytes
    retry_after: Optional[float]

    def json(self):
        return json.loads(self.body) if self.body else None

    def kind(self) -> str:
        s = self.status
        if 200 <= s < 300:
            return OK
        if s in (408, 429) or s >= 500:
            return RETRY
        if s in (401, 403):
            return AUTH
        if s == 404:
            return MISSING
        return FATAL

    def error(self, what: str) -> ApiError:
        try:
            err = json.loads(self.body)["error"]
            code, message = err.get("code"), err.get("message", "")
        except Exception:  # not the API's error shape
            code, message = None, self.body.decode("utf-8", "replace")[:500]
        return ApiError(self.status, code, message, what)


class Transport:
    def __init__(self, server: str, token: Optional[str], timeout: float):
        u = urllib.parse.urlsplit(server)
        self._https = u.scheme == "https"
        self._host = u.hostname or "127.0.0.1"
        self._port = u.port or (443 if self._https else 80)
        self._prefix = u.path.rstrip("/")
        self._timeout = timeout
        self._headers = {"Content-Type": "application/json", "User-Agent": "vigil-python"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._conn = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method: str, path: str, body=None, timeout: Optional[float] = None) -> Response:
        """One request; reconnects once when a kept-alive connection was closed."""
        if body is not None and not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
        t = timeout or self._timeout
        for attempt in (0, 1):
            fresh = self._conn is None
            if fresh:
                cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
                self._conn = cls(self._host, self._port, timeout=t)
            elif self._conn.sock is not None:
                self._conn.sock.settimeout(t)
            try:
                self._conn.request(method, self._prefix + path, body=body, headers=self._headers)
                resp = self._conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    http.client.CannotSendRequest, http.client.BadStatusLine):
                self.close()
                if fresh or attempt == 1:
                    raise
                continue
            except BaseException:
                self.close()
                raise
            if resp.getheader("Connection", "").lower() == "close":
                self.close()
            retry_after = None
            ra = resp.getheader("Retry-After")
            if ra:
                try:
                    retry_after = min(float(ra), 60.0)
                except ValueError:
                    pass
            return Response(resp.status, data, retry_after)
        raise AssertionError("unreachable")


class Backoff:
    """Exponential backoff with jitter: 0.1 s, 0.2 s, ... capped at `cap`."""

    def __init__(self, base: float = 0.1, cap: float = 10.0):
        self.base, self.cap, self.failures = base, cap, 0

    def reset(self) -> None:
        self.failures = 0

    def next_delay(self, retry_after: Optional[float] = None, cap: Optional[float] = None) -> float:
        cap = self.cap if cap is None else cap
        d = min(cap, self.base * (2 ** min(self.failures, 20)))
        self.failures += 1
        d *= 0.75 + 0.5 * random.random()
        if retry_after is not None:
            d = max(d, retry_after)
        return d
