"""The closed loop, end to end: real PyTorch training on the digits data
logs to a real `vigil serve` whose rules roll back on a loss spike or a
NaN; the test injects three faults (a corrupted batch, the learning rate
× 100 for three steps, a log of zero that makes the loss NaN); vigil
detects each, the Guard restores the checkpoint from before it and skips
the next batches, and the run ends with a test loss within a small margin
of a clean run's. The same faults without the guard ruin the run."""

import math
import time

import pytest

torch = pytest.importorskip("torch")
datasets = pytest.importorskip("sklearn.datasets")

import vigil  # noqa: E402
from conftest import url_of, wait_for  # noqa: E402
from vigil.guard import Guard  # noqa: E402
from vigil_server import Server  # noqa: E402

STEPS = 700
BATCH = 32
LR = 0.05
CORRUPT_AT = 150           # a batch of garbage inputs and shuffled labels
LR_BOOST = (300, 303)      # lr x 100 for these steps
NAN_AT = 480               # loss * (1 + 0 * log(0)): NaN
STEP_SECONDS = 0.004       # paces the loop so commands arrive within a few steps

RULES = """
[builtin]
rollback_on_loss_spike = true
rollback = { steps_back = 4, skip_batches = 8 }

[[rule]]
name = "nan-rollback"
metric = "train/loss"
detector = "non_finite"
actions = ["rollback"]
rollback = { steps_back = 4, skip_batches = 8 }
"""


def digits():
    d = datasets.load_digits()
    x = torch.tensor(d.data, dtype=torch.float32) / 16.0
    y = torch.tensor(d.target, dtype=torch.long)
    g = torch.Generator().manual_seed(0)
    perm = torch.randperm(len(x), generator=g)
    test, train = perm[:360], perm[360:]
    return (x[train], y[train]), (x[test], y[test])


def batches(train, seed=1):
    """An endless stream of shuffled batches, the same for every run."""
    x, y = train
    g = torch.Generator().manual_seed(seed)
    while True:
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x) - BATCH + 1, BATCH):
            idx = perm[i:i + BATCH]
            yield x[idx], y[idx]


def train(run=None, guard=None, faults=True):
    """Trains the MLP for STEPS steps; returns the final test loss."""
    torch.manual_seed(0)
    (train_set, test_set) = digits()
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(),
                                torch.nn.Linear(64, 10))
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
    if guard is not None:
        guard = guard(run, model, opt)
    noise = torch.Generator().manual_seed(2)
    stream = batches(train_set)
    for step in range(STEPS):
        x, y = next(stream)
        if guard is not None and not guard.begin_step(step):
            continue
        for g in opt.param_groups:
            boosted = faults and LR_BOOST[0] <= step < LR_BOOST[1]
            g["lr"] = LR * 100 if boosted else LR
        if faults and step == CORRUPT_AT:
            x = torch.randn(x.shape, generator=noise) * 300.0
            y = y[torch.randperm(len(y), generator=noise)]
        loss = torch.nn.functional.cross_entropy(model(x), y)
        if faults and step == NAN_AT:
            # 0 * log(0) = 0 * -inf = NaN, and the gradients with it.
            loss = loss * (1.0 + 0.0 * torch.log(torch.zeros(())))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if run is not None:
            run.log({"train/loss": loss.item()}, step=step)
            time.sleep(STEP_SECONDS)
    with torch.no_grad():
        return torch.nn.functional.cross_entropy(model(test_set[0]), test_set[1]).item()


@pytest.fixture
def guarded_server(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    s = Server(str(tmp_path / "data"), "--rules", str(rules)).start()
    yield s
    s.stop()


def test_guard_recovers_from_injected_faults(guarded_server):
    clean = train(faults=False)
    assert clean < 0.3, f"the clean run did not learn (test loss {clean})"

    ruined = train(faults=True)
    assert math.isnan(ruined), "without the guard the NaN should ruin the run"

    run = vigil.init(project="guard", server=url_of(guarded_server), system_metrics=False)
    guards = []

    def make_guard(r, model, opt):
        guards.append(Guard(r, model, opt, every=5, keep=40))
        return guards[0]

    final = train(run=run, guard=make_guard, faults=True)
    run.flush(timeout=10)
    guard = guards[0]

    c = guarded_server.client()
    alerts = c.request("GET", "/api/v1/alerts", query={"run": run.id, "limit": "1000"})["alerts"]
    kinds_at = sorted((a["step"], a["kind"]) for a in alerts)

    def detected(kind, lo, hi):
        return any(k == kind and lo <= s <= hi for s, k in kinds_at)

    # Each fault is detected where it happened (the lr boost shows in the
    # loss one step after it starts).
    assert detected("spike", CORRUPT_AT, CORRUPT_AT + 1), kinds_at
    assert (detected("spike", LR_BOOST[0], LR_BOOST[1] + 3)
            or detected("non_finite", LR_BOOST[0], LR_BOOST[1] + 3)), kinds_at
    assert detected("non_finite", NAN_AT, NAN_AT), kinds_at

    # ... and each queued a rollback that the guard carried out.
    def rollbacks():
        cmds = c.request("GET", f"/api/v1/runs/{run.id}/commands")["commands"]
        return [x for x in cmds if x["type"] == "rollback"]
    done = wait_for(lambda: [x for x in rollbacks() if x["state"] == "done"] or None, timeout=10)
    assert done and len(done) >= 3, rollbacks()
    assert guard.rollbacks >= 3
    assert all(x["source"].startswith("rule:") for x in rollbacks())
    run.finish()

    events = c.request("GET", f"/api/v1/runs/{run.id}/events", query={"limit": "10000"})["events"]
    assert any(e["kind"] == "command" and e["data"]["state"] == "done" for e in events)

    assert math.isfinite(final), f"guarded run ended with {final}"
    assert final <= clean + 0.1, f"guarded run's test loss {final} vs clean {clean}"
