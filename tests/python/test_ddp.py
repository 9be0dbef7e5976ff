"""A real PyTorch DistributedDataParallel job on CPU (4 processes started by
torch.multiprocessing.spawn, gloo on loopback, the env torchrun sets) logs
into ONE vigil run (tests/python/ddp_worker.py). Checked against the
server: every rank's loss and time/* phase series, finite and decreasing
losses, /ranks listing every rank with its node; and the Guard's broadcast
of rank 0's decisions: a `set lr` and a `stop` queued while training reach
rank 0 only, yet every rank applies them at the same step (the replicas
stay bit-identical and all stop together)."""

import json
import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn.datasets")

import ddp_worker  # noqa: E402
from conftest import free_port, series, url_of  # noqa: E402

WORLD = 4
PHASES = ("data", "forward", "backward", "optimizer")


def test_ddp_job_logs_one_run_and_acts_on_commands_together(server, client, tmp_path):
    import torch.multiprocessing as mp

    run_id = "ddp4"
    mp.spawn(ddp_worker.main, args=(WORLD, url_of(server), run_id, free_port(), str(tmp_path)),
             nprocs=WORLD, join=True)
    results = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(WORLD)]

    # The commands went to rank 0 only, and every rank acted on them at once.
    assert results[0]["received"] == ["set", "stop"]
    assert [r["received"] for r in results[1:]] == [[]] * (WORLD - 1)
    stopped = {r["stopped_at"] for r in results}
    assert len(stopped) == 1, results
    stopped_at = stopped.pop()
    assert ddp_worker.STOP_AT < stopped_at < ddp_worker.MAX_STEPS - 1
    assert all(r["guard_stop"] for r in results)
    assert {r["lr"] for r in results} == {ddp_worker.NEW_LR}
    assert len({r["params"] for r in results}) == 1  # the replicas never diverged
    cmds = {c["id"]: c for c in client.request("GET", f"/api/v1/runs/{run_id}/commands")[
        "commands"]}
    assert cmds[results[0]["queued"]["set"]]["state"] == "done"
    assert cmds[results[0]["queued"]["stop"]]["state"] == "done"

    info = client.request("GET", f"/api/v1/runs/{run_id}")
    assert info["state"] == "finished" and info["world_size"] == WORLD and info["resumed"] == 0
    node = results[0]["node"]
    lr_series = []
    for r in range(WORLD):
        labels = {"rank": str(r), "node": node}
        steps, _, losses = series(client, run_id, "train/loss", labels)
        assert steps == list(range(stopped_at)), r
        assert all(math.isfinite(v) for v in losses)
        first, last = sum(losses[:20]) / 20, sum(losses[-20:]) / 20
        assert last < 0.6 * first, (r, first, last)
        for phase in PHASES:
            psteps, _, seconds = series(client, run_id, f"time/{phase}", labels)
            assert psteps == steps, (r, phase)
            assert all(0.0 <= s < 5.0 for s in seconds)
        lr_steps, _, lrs = series(client, run_id, "train/lr", labels)
        lr_series.append(list(zip(lr_steps, lrs)))
    # The lr changed at the same step on every rank, after rank 0 queued it.
    assert all(s == lr_series[0] for s in lr_series)
    changed = next(step for step, lr in lr_series[0] if lr == ddp_worker.NEW_LR)
    assert ddp_worker.SET_AT < changed < stopped_at
    assert {lr for step, lr in lr_series[0] if step < changed} == {0.1}

    ranks = client.request("GET", f"/api/v1/runs/{run_id}/ranks")
    assert ranks["world_size"] == WORLD and ranks["known"] == WORLD
    assert [x["rank"] for x in ranks["ranks"]] == list(range(WORLD))
    assert all(x["state"] in ("finished", "alive") and x["node"] == node for x in ranks["ranks"])
    assert ranks["hang"] is None
