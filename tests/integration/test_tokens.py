"""--tokens FILE: every request needs a bearer token of the right scope and
project; 401 without or with an unknown one, 403 when the scope or project
does not allow it; SIGHUP reloads the file; secrets are stored hashed."""

import hashlib
import signal
import time

import pytest

from vigil_server import ApiError, Server


def stanza(name, secret, scope, projects):
    digest = hashlib.sha256(secret.encode()).hexdigest()
    plist = ", ".join(f'"{p}"' for p in projects)
    return f'[[token]]\nname = "{name}"\nsha256 = "{digest}"\nscope = "{scope}"\nprojects = [{plist}]\n\n'


@pytest.fixture
def secured(tmp_path):
    tokens = tmp_path / "tokens.toml"
    tokens.write_text(stanza("trainer", "w-secret", "write", ["digits"]) +
                      stanza("viewer", "r-secret", "read", ["*"]) +
                      stanza("ops", "a-secret", "admin", ["*"]))
    s = Server(str(tmp_path / "data"), "--tokens", str(tokens)).start()
    yield s, tokens
    s.stop()


def status_of(fn):
    try:
        fn()
    except ApiError as e:
        return e.status, e.code
    return 200, None


def test_requests_need_a_valid_token(secured):
    s, tokens = secured
    assert "w-secret" not in tokens.read_text()  # only digests on disk
    anon, bogus = s.client(), s.client(token="nope")
    assert status_of(lambda: anon.request("GET", "/api/v1/runs"))[0] == 401
    assert status_of(lambda: bogus.request("GET", "/api/v1/runs"))[0] == 401
    assert anon.last_headers.get("WWW-Authenticate", "").startswith("Bearer")
    # Without a valid token nothing is looked up: an unknown run is 401 too,
    # so run ids cannot be probed.
    assert status_of(lambda: anon.request("GET", "/api/v1/runs/nosuchrun"))[0] == 401
    assert status_of(lambda: bogus.log("nosuchrun", {"rows": []}))[0] == 401
    # Liveness stays open so that load balancers can probe it.
    assert anon.request("GET", "/healthz") is not None


def test_scopes_and_projects(secured):
    s, _ = secured
    trainer, viewer = s.client(token="w-secret"), s.client(token="r-secret")
    rid = trainer.create_run("digits")["id"]
    assert trainer.log(rid, {"rows": [{"step": 1, "values": {"loss": 1.5}}]})["accepted"] == 1
    # Write scope, other project: forbidden, and nothing created.
    assert status_of(lambda: trainer.create_run("other")) == (403, "permission_denied")
    # Read scope can read but not write.
    assert viewer.series(rid, "loss")["values"] == [1.5]
    assert status_of(lambda: viewer.log(rid, {"rows": [{"step": 2, "values": {"loss": 1}}]}))[0] == 403
    assert viewer.series(rid, "loss")["steps"] == [1]
    # Admin routes need admin scope.
    assert status_of(lambda: trainer.request("POST", "/api/v1/admin/flush"))[0] == 403
    assert status_of(lambda: s.client(token="a-secret").request("POST", "/api/v1/admin/flush"))[0] == 200


def test_sighup_reloads_tokens_and_a_bad_file_keeps_the_old_ones(secured):
    s, tokens = secured
    good = tokens.read_text()
    tokens.write_text("[[token]]\nname = \"x\"\nscope = \"writer\"\n")  # invalid
    s.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    assert status_of(lambda: s.client(token="w-secret").request("GET", "/api/v1/runs?project=digits"))[0] == 200
    tokens.write_text(good.replace(hashlib.sha256(b"w-secret").hexdigest(),
                                   hashlib.sha256(b"rotated").hexdigest()))
    s.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while time.time() < deadline:
        if status_of(lambda: s.client(token="w-secret").request("GET", "/api/v1/runs?project=digits"))[0] == 401:
            break
        time.sleep(0.1)
    assert status_of(lambda: s.client(token="w-secret").request("GET", "/api/v1/runs?project=digits"))[0] == 401
    assert status_of(lambda: s.client(token="rotated").request("GET", "/api/v1/runs?project=digits"))[0] == 200


def test_a_bad_tokens_file_stops_the_server_from_starting(tmp_path):
    tokens = tmp_path / "tokens.toml"
    tokens.write_text("[[token]]\nname = \"t\"\nsha256 = \"abc\"\nscope = \"write\"\nprojects = [\"*\"]\n")
    with pytest.raises(RuntimeError) as e:
        Server(str(tmp_path / "data"), "--tokens", str(tokens)).start()
    assert "tokens.toml" in open(str(tmp_path / "data.log")).read() or "tokens" in str(e.value)
