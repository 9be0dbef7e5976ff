"""The SDK half of commands (protocol.md), against a loopback stub server:
the real server's command queue is built elsewhere. The stub answers log
and heartbeat requests with queued commands and records acks."""

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import vigil
from conftest import wait_for


class Stub:
    def __init__(self):
        self.lock = threading.Lock()
        self.log_commands = []        # handed out with the next log answer
        self.heartbeat_commands = []  # handed out with the next heartbeat answer
        self.acks = []                # (command id, body)
        self.logged = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, status, obj):
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                return json.loads(raw) if raw else {}

            def do_POST(self):
                body = self._body()
                with stub.lock:
                    if self.path == "/api/v1/runs":
                        return self._send(201, dict(body, state="running", resumed_now=False))
                    if m := re.fullmatch(r"/api/v1/runs/(\w+)/log", self.path):
                        stub.logged += sum(len(s["steps"]) for s in body["series"])
                        cmds, stub.log_commands = stub.log_commands, []
                        return self._send(200, {"accepted": 1, "duplicates": 0, "commands": cmds})
                    if re.fullmatch(r"/api/v1/runs/(\w+)/heartbeat", self.path):
                        cmds, stub.heartbeat_commands = stub.heartbeat_commands, []
                        return self._send(200, {"state": "running", "commands": cmds})
                    if m := re.fullmatch(r"/api/v1/runs/\w+/commands/([\w-]+)/ack", self.path):
                        stub.acks.append((m.group(1), body))
                        return self._send(200, {"id": m.group(1), "state": body["status"]})
                self._send(404, {"error": {"code": "not_found", "message": self.path}})

            def do_PATCH(self):
                self._body()
                self._send(200, {"state": "finished"})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def acks_of(self, cid):
        with self.lock:
            return [b["status"] for c, b in self.acks if c == cid]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def stub():
    s = Stub()
    yield s
    s.close()


def test_commands_in_log_answers(stub):
    run = vigil.init(project="cmd", server=stub.url, system_metrics=False)
    seen = []

    def on_command(cmd):
        seen.append(cmd)
        if cmd.type == "set":
            run.ack(cmd, "done", f"{cmd.args['name']}={cmd.args['value']}")

    run.on_command(on_command)
    with stub.lock:
        stub.log_commands = [
            {"id": "c1", "type": "pause", "args": {}},
            {"id": "c2", "type": "set", "args": {"name": "lr", "value": 0.01}},
        ]
    step = 0
    while not run.should_pause and step < 2000:
        run.log({"a": float(step)})
        step += 1
        time.sleep(0.001)
    assert run.should_pause and not run.should_stop
    run.log({"a": -1.0})  # callbacks run here, on this thread
    assert [c.id for c in seen] == ["c1", "c2"]
    assert seen[1].args == {"name": "lr", "value": 0.01}
    pending = run.pending_commands()
    assert [(c.id, c.type) for c in pending] == [("c1", "pause"), ("c2", "set")]
    assert run.pending_commands() == []
    assert wait_for(lambda: stub.acks_of("c1") == ["acknowledged"])
    assert wait_for(lambda: stub.acks_of("c2") == ["acknowledged", "done"])
    with stub.lock:
        stub.log_commands = [{"id": "c3", "type": "resume", "args": {}},
                             {"id": "c3", "type": "resume", "args": {}},  # repeated: once
                             {"id": "c4", "type": "stop", "args": {}}]
    assert wait_for(lambda: (run.log({"a": 0.0}), run.should_stop)[1], timeout=10)
    assert not run.should_pause
    assert [c.id for c in run.pending_commands()] == ["c3", "c4"]
    assert wait_for(lambda: stub.acks_of("c3") == ["acknowledged"])
    with pytest.raises(vigil.VigilError, match="status"):
        run.ack("c4", "maybe")
    run.ack("c4", "failed", "could not stop")
    run.finish()
    assert stub.acks_of("c4") == ["acknowledged", "failed"]


def test_commands_in_heartbeat_answers(stub):
    run = vigil.init(project="cmd", server=stub.url, system_metrics=False)
    with stub.lock:
        stub.heartbeat_commands = [{"id": "h1", "type": "checkpoint", "args": {"tag": "x"}}]
    # No logging at all: the heartbeat (every 0.2 s here) brings it.
    assert wait_for(lambda: run.pending_commands() or None, timeout=5) == [
        vigil.Command("h1", "checkpoint", {"tag": "x"})]
    assert wait_for(lambda: stub.acks_of("h1") == ["acknowledged"])
    run.finish()


def test_a_failing_callback_is_reported_as_failed(stub, capfd):
    run = vigil.init(project="cmd", server=stub.url, system_metrics=False)

    def broken(cmd):
        raise RuntimeError("nope")

    run.on_command(broken)
    with stub.lock:
        stub.log_commands = [{"id": "r1", "type": "rollback", "args": {"steps_back": 5}}]
    assert wait_for(lambda: (run.log({"a": 1.0}), stub.acks_of("r1") == ["acknowledged"])[1])
    run.log({"a": 2.0})
    run.finish()
    assert stub.acks_of("r1") == ["acknowledged", "failed"]
    assert "RuntimeError('nope')" in capfd.readouterr().err


def test_commands_against_the_real_server(server, client):
    from conftest import url_of

    run = vigil.init(project="cmd", server=url_of(server), system_metrics=False)
    queued = client.request("POST", f"/api/v1/runs/{run.id}/commands",
                            {"type": "pause", "args": {}})
    assert wait_for(lambda: run.should_pause, timeout=10)  # via the heartbeat answer
    cid = queued["id"]

    def state():
        cmds = client.request("GET", f"/api/v1/runs/{run.id}/commands")["commands"]
        return next(c["state"] for c in cmds if c["id"] == cid)

    assert wait_for(lambda: state() == "acknowledged", timeout=10)
    run.ack(cid, "done", "paused at step 0")
    client.request("POST", f"/api/v1/runs/{run.id}/commands", {"type": "stop", "args": {}})
    assert wait_for(lambda: (run.log({"a": 1.0}), run.should_stop)[1], timeout=10)
    assert [c.type for c in run.pending_commands()] == ["pause", "stop"]
    run.finish()
    assert state() == "done"
