"""Crash safety: clients ingest concurrently while the server is killed with
SIGKILL at random moments and restarted. Every acknowledged batch must be
present, every batch present must be whole (nothing half-written), and
re-sent batches must not duplicate points."""

import random
import threading
import time

from vigil_server import ApiError, Client, Server

KILLS = 24
CLIENTS = 4
POINTS = 50  # per metric per batch


def batch_body(batch):
    steps = list(range(batch * POINTS, (batch + 1) * POINTS))
    return {"series": [
        {"metric": "loss", "steps": steps, "times": [1_700_000_000_000 + s for s in steps],
         "values": [s * 0.5 for s in steps]},
        {"metric": "acc", "steps": steps, "times": [1_700_000_000_000 + s for s in steps],
         "values": [s / 7 for s in steps]},
    ]}


class Writer(threading.Thread):
    def __init__(self, state, run_id, seed):
        super().__init__(daemon=True)
        self.state, self.run_id, self.rng = state, run_id, random.Random(seed)
        self.acked, self.abandoned = set(), set()
        self.stop = False

    def run(self):
        batch = 0
        client, port = None, None
        while not self.stop:
            if port != self.state["port"]:
                port = self.state["port"]
                client = Client("127.0.0.1", port, timeout=10)
            try:
                client.log(self.run_id, batch_body(batch))
                self.acked.add(batch)
                batch += 1
            except ApiError as e:
                if e.status != 503:
                    raise
                time.sleep(0.05)
            except OSError:
                # The server died with this batch in flight: its fate is
                # unknown. Half the time re-send it (as the SDK does), else
                # give it up and go on.
                client = None
                port = None
                if self.rng.random() < 0.5:
                    self.abandoned.add(batch)
                    batch += 1
                time.sleep(0.05)
        self.next_batch = batch


def test_sigkill_at_random_moments_loses_no_acknowledged_batch(tmp_path):
    rng = random.Random(2024)
    data = str(tmp_path / "data")
    server = Server(data).start()
    setup = server.client()
    runs = [setup.create_run("crash", name=f"w{i}")["id"] for i in range(CLIENTS)]
    setup.close()
    state = {"port": server.port}
    writers = [Writer(state, runs[i], i) for i in range(CLIENTS)]
    for w in writers:
        w.start()
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.05, 0.6))
            server.kill()
            server = Server(data).start()
            state["port"] = server.port
        time.sleep(0.5)
    finally:
        for w in writers:
            w.stop = True
        for w in writers:
            w.join(timeout=60)
    # One more crash after the writers stopped, then a clean start.
    server.kill()
    server = Server(data).start()
    client = server.client()
    total_acked = 0
    for w in writers:
        for metric in ("loss", "acc"):
            got = client.series(w.run_id, metric)
            steps = got["steps"]
            assert len(steps) == len(set(steps)), f"{w.run_id}/{metric}: duplicated points"
            present = {}
            for s, v in zip(steps, got["values"]):
                present.setdefault(s // POINTS, []).append(s)
                expect = s * 0.5 if metric == "loss" else s / 7
                assert v == expect
            for b in w.acked:
                assert len(present.get(b, [])) == POINTS, f"acknowledged batch {b} of {w.run_id} lost"
            for b, pts in present.items():
                assert len(pts) == POINTS, f"batch {b} of {w.run_id} is half-present ({len(pts)} points)"
                assert b in w.acked or b in w.abandoned or b == w.next_batch
        total_acked += len(w.acked)
    assert total_acked > KILLS  # the test did real work between kills
    client.close()
    assert server.stop() == 0
