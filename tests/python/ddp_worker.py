"""One rank of test_ddp.py's DistributedDataParallel job (started by
torch.multiprocessing.spawn, so it lives in an importable module).

Every rank: the env torchrun would set, a gloo process group on loopback,
vigil.init with the job's shared run id (rank/world_size/local_rank from
the env), an MLP on its shard of scikit-learn's digits wrapped in DDP, and a
vigil Guard that broadcasts rank 0's command decisions. Rank 0 plays the
user too: at step SET_AT it queues `set lr`, at STOP_AT `stop` (through the
HTTP API, like the dashboard). Each rank writes what it saw to
<out>/rank<r>.json.
"""

import datetime
import hashlib
import json
import os
import sys
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

MAX_STEPS = 3000
SET_AT = 40
STOP_AT = 120
NEW_LR = 0.03
BATCH = 32


def queue_command(url, run_id, body):
    req = urllib.request.Request(f"{url}/api/v1/runs/{run_id}/commands",
                                 data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())["id"]


def main(local_rank, world_size, url, run_id, port, out_dir):
    os.environ.update(RANK=str(local_rank), WORLD_SIZE=str(world_size),
                      LOCAL_RANK=str(local_rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    import torch
    import torch.distributed as dist
    import torch.nn.functional as F
    from sklearn.datasets import load_digits

    import vigil
    from vigil.guard import Guard

    torch.set_num_threads(1)
    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=60))
    rank = dist.get_rank()
    run = vigil.init(project="ddp", id=run_id, server=url, system_metrics=False,
                     config={"lr": 0.1, "batch": BATCH, "world_size": world_size})

    torch.manual_seed(0)  # the same initial weights everywhere (DDP also broadcasts them)
    X, y = load_digits(return_X_y=True)
    X = torch.tensor(X / 16.0, dtype=torch.float32)
    y = torch.tensor(y)
    perm = torch.randperm(len(X), generator=torch.Generator().manual_seed(1))
    shard = perm[rank::world_size]
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Sequential(
        torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10)))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    guard = Guard(run, model, opt, every=25, keep=2)
    g = torch.Generator().manual_seed(100 + rank)

    queued = {}
    step = 0
    for step in range(MAX_STEPS):
        if not guard.begin_step(step):
            continue
        if guard.should_stop:
            break
        with run.phase("data"):
            idx = shard[torch.randint(0, len(shard), (BATCH,), generator=g)]
            xb, yb = X[idx], y[idx]
        with run.phase("forward"):
            loss = F.cross_entropy(model(xb), yb)
        with run.phase("backward"):
            opt.zero_grad()
            loss.backward()  # DDP's all-reduce of the gradients happens here
        with run.phase("optimizer"):
            opt.step()
        run.log({"train/loss": loss.item(), "train/lr": opt.param_groups[0]["lr"]}, step=step)
        if rank == 0 and step == SET_AT:
            queued["set"] = queue_command(url, run_id, {"type": "set",
                                                        "args": {"name": "lr", "value": NEW_LR}})
        if rank == 0 and step == STOP_AT:
            queued["stop"] = queue_command(url, run_id, {"type": "stop", "args": {}})

    digest = hashlib.sha256()
    for p in model.parameters():
        digest.update(p.detach().numpy().tobytes())
    result = {"rank": rank, "stopped_at": step, "guard_stop": guard.should_stop,
              "params": digest.hexdigest(), "lr": opt.param_groups[0]["lr"],
              "received": [c.type for c in run.pending_commands()], "queued": queued,
              "node": run.node}
    run.finish()
    dist.destroy_process_group()
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
        json.dump(result, f)
