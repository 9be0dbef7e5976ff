"""Alerts, webhooks and the command queue against a real `vigil serve`:
a NaN in a logged series opens an alert (listed by /api/v1/alerts, on the
run's timeline, counted by vigil_alerts_firing, sent to a webhook receiver
on loopback that fails once and is retried); commands are queued, delivered
once in a log answer, acknowledged; the rules file reloads (SIGHUP and the
admin route) and a bad one keeps the old rules; bad bodies are 4xx."""

import http.server
import json
import signal
import subprocess
import threading
import time

import pytest

from vigil_server import ApiError, Server, columnar_body, vigil_binary


def free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Receiver:
    """An HTTP server on 127.0.0.1 that records each POST and answers the
    scripted statuses in order (then 200)."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.requests = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    outer.requests.append((self.path, self.headers.get("Content-Type"), body))
                    status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path="/hook"):
        return f"http://127.0.0.1:{self.port}{path}"

    def bodies(self):
        with self.lock:
            return [json.loads(b) for _, _, b in self.requests]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def wait_for(fn, timeout=15.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def log(client, run, metric, steps, values):
    now = int(time.time() * 1000)
    body = columnar_body([{"metric": metric, "labels": {}, "steps": steps,
                           "times": [now] * len(steps), "values": values}])
    return client.log(run, body)


@pytest.fixture
def receiver():
    r = Receiver(statuses=[500])
    yield r
    r.close()


@pytest.fixture
def alerting_server(tmp_path, receiver):
    rules = tmp_path / "rules.toml"
    rules.write_text(f'[[webhook]]\nname = "ops"\nurl = "{receiver.url()}"\n\n'
                     f'[[webhook]]\nname = "chat"\nurl = "{receiver.url("/slack")}"\n'
                     'format = "slack"\n')
    s = Server(str(tmp_path / "data"), "--rules", str(rules)).start()
    yield s, rules
    s.stop()


def test_nan_opens_an_alert_on_the_timeline_and_a_webhook(alerting_server, receiver):
    s, _ = alerting_server
    c = s.client()
    run = c.create_run(project="alerts")["id"]
    log(c, run, "train/loss", [0, 1, 2, 3], [1.0, 0.9, 0.8, 0.7])
    log(c, run, "train/loss", [4, 5], [float("nan"), float("nan")])

    alerts = wait_for(lambda: c.request("GET", "/api/v1/alerts",
                                        query={"run": run, "state": "firing"})["alerts"],
                      what="a firing alert")
    assert len(alerts) == 1
    a = alerts[0]
    assert a["run"] == run and a["project"] == "alerts"
    assert a["rule"] == "builtin/non_finite" and a["kind"] == "non_finite"
    assert a["metric"] == "train/loss" and a["step"] == 4
    assert a["state"] == "firing" and a["severity"] == "critical"
    assert a["value"] == "NaN"
    assert "NaN" in a["message"] and "train/loss" in a["message"]

    events = c.request("GET", f"/api/v1/runs/{run}/events")["events"]
    alert_events = [e for e in events if e["kind"] == "alert"]
    assert alert_events and alert_events[0]["message"] == a["message"]
    assert alert_events[0]["data"]["state"] == "firing"

    metrics = c.request("GET", "/metrics", raw=True).decode()
    assert "\nvigil_alerts_firing 1\n" in metrics

    # The JSON webhook failed once with 500 and was retried; the Slack one
    # went through at once.
    def delivered():
        d = c.request("GET", f"/api/v1/alerts/{a['id']}/deliveries")["deliveries"]
        return d if sum(1 for x in d if x["ok"]) == 2 else None
    deliveries = wait_for(delivered, what="two successful deliveries")
    ops = [d for d in deliveries if d["webhook"] == "ops"]
    assert [d["status"] for d in ops] == [500, 200]
    assert [d["attempt"] for d in ops] == [1, 2]
    assert ops[-1]["final"] and not ops[0]["final"]

    bodies = receiver.bodies()
    json_bodies = [b for b in bodies if "alert" in b]
    slack = [b for b in bodies if "text" in b]
    assert len(json_bodies) == 2  # the 500 and its retry
    assert json_bodies[0] == json_bodies[1]
    assert json_bodies[0]["event"] == "alert.firing"
    assert json_bodies[0]["alert"]["step"] == 4
    assert len(slack) == 1 and "FIRING" in slack[0]["text"] and run in slack[0]["text"]

    # Finite again: the alert resolves, and the receiver hears it.
    log(c, run, "train/loss", [6], [0.6])
    wait_for(lambda: not c.request("GET", "/api/v1/alerts",
                                   query={"run": run, "state": "firing"})["alerts"],
             what="the alert to resolve")
    resolved = c.request("GET", "/api/v1/alerts", query={"run": run})["alerts"][0]
    assert resolved["state"] == "resolved" and resolved["resolved_step"] == 6
    wait_for(lambda: any(b.get("event") == "alert.resolved" for b in receiver.bodies()),
             what="the resolved webhook")
    assert "\nvigil_alerts_firing 0\n" in c.request("GET", "/metrics", raw=True).decode()


def test_commands_are_delivered_once_and_acknowledged(alerting_server):
    s, _ = alerting_server
    c = s.client()
    run = c.create_run(project="alerts")["id"]
    q = c.request("POST", f"/api/v1/runs/{run}/commands",
                  {"type": "rollback", "args": {"steps_back": 10, "skip_batches": 5}})
    assert q["state"] == "queued" and q["type"] == "rollback"
    assert q["args"] == {"steps_back": 10, "skip_batches": 5}
    q2 = c.request("POST", f"/api/v1/runs/{run}/commands",
                   {"type": "set", "args": {"name": "lr", "value": 0.001}})

    listed = c.request("GET", f"/api/v1/runs/{run}/commands")["commands"]
    assert [x["state"] for x in listed] == ["queued", "queued"]

    first = log(c, run, "train/loss", [0], [1.0])
    assert [x["id"] for x in first["commands"]] == [q["id"], q2["id"]]
    assert first["commands"][0] == {"id": q["id"], "type": "rollback",
                                    "args": {"steps_back": 10, "skip_batches": 5}}
    assert first["commands"][1]["args"] == {"name": "lr", "value": 0.001}
    # Delivered once: neither the next log answer nor a heartbeat repeats it.
    assert log(c, run, "train/loss", [1], [0.9])["commands"] == []
    assert c.request("POST", f"/api/v1/runs/{run}/heartbeat")["commands"] == []

    listed = c.request("GET", f"/api/v1/runs/{run}/commands")["commands"]
    assert [x["state"] for x in listed] == ["delivered", "delivered"]

    ack = f"/api/v1/runs/{run}/commands/{q['id']}/ack"
    assert c.request("POST", ack, {"status": "acknowledged"})["state"] == "acknowledged"
    done = c.request("POST", ack, {"status": "done", "message": "restored step 0"})
    assert done["state"] == "done" and done["message"] == "restored step 0"
    assert c.request("POST", ack, {"status": "done"})["state"] == "done"  # idempotent
    with pytest.raises(ApiError) as e:
        c.request("POST", ack, {"status": "failed"})
    assert e.value.status == 409

    # A command queued now goes out with the heartbeat.
    q3 = c.request("POST", f"/api/v1/runs/{run}/commands", {"type": "pause"})
    hb = c.request("POST", f"/api/v1/runs/{run}/heartbeat")
    assert [x["id"] for x in hb["commands"]] == [q3["id"]]

    def command_states():
        events = c.request("GET", f"/api/v1/runs/{run}/events")["events"]
        return [(e["data"]["command"], e["data"]["state"]) for e in events
                if e["kind"] == "command"]
    wait_for(lambda: (q3["id"], "delivered") in command_states(), what="command events")
    states = command_states()
    assert [st for cid, st in states if cid == q["id"]] == [
        "queued", "delivered", "acknowledged", "done"]


@pytest.mark.parametrize("body,status", [
    ({"type": "reboot"}, 400),
    ({}, 400),
    ({"type": "pause", "extra": 1}, 400),
    ({"type": "rollback", "args": {"steps_back": -1}}, 400),
    ({"type": "rollback", "args": {"steps_back": "ten"}}, 400),
    ({"type": "rollback", "args": [1]}, 400),
    ({"type": "set", "args": {"value": 1}}, 400),
    ({"type": "set", "args": {"name": "lr"}}, 400),
    ({"type": "set"}, 400),
    ({"type": "pause", "args": {"why": "x"}}, 400),
    ("not json", 400),
])
def test_bad_command_bodies_are_4xx(alerting_server, body, status):
    s, _ = alerting_server
    c = s.client()
    run = c.create_run(project="alerts")["id"]
    with pytest.raises(ApiError) as e:
        c.request("POST", f"/api/v1/runs/{run}/commands", body)
    assert e.value.status == status, e.value
    assert e.value.code == "invalid_argument"
    assert c.request("GET", f"/api/v1/runs/{run}/commands")["commands"] == []


def test_bad_acks_and_unknown_commands(alerting_server):
    s, _ = alerting_server
    c = s.client()
    run = c.create_run(project="alerts")["id"]
    q = c.request("POST", f"/api/v1/runs/{run}/commands", {"type": "stop"})
    ack = f"/api/v1/runs/{run}/commands/{q['id']}/ack"
    for body, status in [({"status": "done"}, 409),  # never delivered
                         ({"status": "queued"}, 400), ({}, 400), ({"status": 1}, 400)]:
        with pytest.raises(ApiError) as e:
            c.request("POST", ack, body)
        assert e.value.status == status, (body, e.value)
    for cid in ["999", "abc", "0"]:
        with pytest.raises(ApiError) as e:
            c.request("POST", f"/api/v1/runs/{run}/commands/{cid}/ack", {"status": "done"})
        assert e.value.status == 404
    with pytest.raises(ApiError) as e:
        c.request("POST", "/api/v1/runs/nosuchrun/commands", {"type": "stop"})
    assert e.value.status == 404
    c.request("PATCH", f"/api/v1/runs/{run}", {"state": "finished"})
    with pytest.raises(ApiError) as e:
        c.request("POST", f"/api/v1/runs/{run}/commands", {"type": "stop"})
    assert e.value.status == 409
    with pytest.raises(ApiError) as e:
        c.request("GET", "/api/v1/alerts", query={"state": "burning"})
    assert e.value.status == 400


def test_rules_reload_and_bad_rules_keep_the_old(alerting_server):
    s, rules = alerting_server
    c = s.client()
    before = c.request("GET", "/api/v1/admin/rules")
    assert [w["name"] for w in before["webhooks"]] == ["ops", "chat"]

    # A broken file: a clear error, the old rules stay.
    rules.write_text('[[rule]]\nname = "x"\ndetector = "telepathy"\n')
    with pytest.raises(ApiError) as e:
        c.request("POST", "/api/v1/admin/rules/reload")
    assert e.value.status == 400
    assert "telepathy" in e.value.message and str(rules) in e.value.message
    assert c.request("GET", "/api/v1/admin/rules") == before

    # SIGHUP reloads a good file, which turns the built-in pack off and adds
    # a threshold rule.
    rules.write_text('[builtin]\nenabled = false\n\n[[rule]]\nname = "too-high"\n'
                     'metric = "train/*"\ndetector = "threshold"\nparams = { above = 5.0 }\n'
                     'severity = "warning"\n')
    s.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: c.request("GET", "/api/v1/admin/rules")["rules"], what="reload")
    after = c.request("GET", "/api/v1/admin/rules")
    assert after["builtin"] is False and after["webhooks"] == []
    assert after["rules"][0]["name"] == "too-high"

    run = c.create_run(project="alerts")["id"]
    log(c, run, "train/loss", [0, 1, 2], [1.0, float("nan"), 9.0])
    alerts = wait_for(lambda: c.request("GET", "/api/v1/alerts", query={"run": run})["alerts"],
                      what="the threshold alert")
    assert [a["rule"] for a in alerts] == ["too-high"]  # no built-in NaN alert
    assert alerts[0]["step"] == 1  # NaN is outside any bound


def test_reload_without_rules_file_is_409(tmp_path):
    with Server(str(tmp_path / "data")) as s:
        c = s.client()
        with pytest.raises(ApiError) as e:
            c.request("POST", "/api/v1/admin/rules/reload")
        assert e.value.status == 409


def test_bad_rules_file_at_start_is_a_clear_error(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text("[builtin\n")
    proc = subprocess.run([vigil_binary(), "serve", "--data", str(tmp_path / "data"),
                           "--listen", "127.0.0.1:0", "--rules", str(rules)],
                          capture_output=True, timeout=30)
    assert proc.returncode != 0
    err = proc.stderr.decode()
    assert f"{rules} line 1" in err, err


def test_detectors_resume_after_a_restart_from_the_stored_tail(tmp_path):
    """A spike right after a restart is caught: the spike detector needs a
    warm-up of its own points, which it takes from the stored series instead
    of learning the noise level again from new points."""
    import random
    rng = random.Random(3)
    s = Server(str(tmp_path / "data"), listen=f"127.0.0.1:{free_port()}").start()
    try:
        c = s.client()
        run = c.create_run(project="restart")["id"]
        values = [2.0 * (1 + 0.01 * rng.gauss(0, 1)) for _ in range(200)]
        log(c, run, "train/loss", list(range(200)), values)
        s.stop()
        s.start()
        c = s.client()
        # Same noise, then a 3x spike two steps after the restart.
        log(c, run, "train/loss", [200, 201, 202], [values[-1], values[-2], 6.0])
        alerts = wait_for(lambda: [a for a in c.request("GET", "/api/v1/alerts", query={"run": run})["alerts"]
                                   if a["kind"] == "spike"], what="a spike alert after the restart")
        assert alerts[0]["step"] == 202
    finally:
        s.kill()


def test_a_client_that_asks_for_no_commands_leaves_them_queued(alerting_server):
    """The resource agent logs into the SDK's run with ?commands=none: it
    must never take the SDK's commands."""
    s, _ = alerting_server
    c = s.client()
    run = c.create_run(project="agentcmd")["id"]
    c.request("POST", f"/api/v1/runs/{run}/commands", {"type": "pause"})
    body = columnar_body([{"metric": "sys/cpu/utilization", "labels": {}, "steps": [1],
                           "times": [int(time.time() * 1000)], "values": [12.5]}])
    r = c.request("POST", f"/api/v1/runs/{run}/log?commands=none", body)
    assert r["accepted"] == 1 and r["commands"] == []
    r = log(c, run, "train/loss", [1], [0.5])
    assert [cmd["type"] for cmd in r["commands"]] == ["pause"]
