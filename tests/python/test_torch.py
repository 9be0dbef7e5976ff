"""vigil.torch in a real short training run: the logged loss curve, grad
norms, lr and P(t) are checked against values the test computes itself."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
datasets = pytest.importorskip("sklearn.datasets")

import vigil  # noqa: E402
import vigil.torch as vt  # noqa: E402
from conftest import series, url_of  # noqa: E402


def test_training_metrics_match_independent_computation(server, client, capfd):
    torch.manual_seed(0)
    X, y = datasets.load_digits(return_X_y=True)
    X = torch.tensor(X / 16.0, dtype=torch.float32)
    y = torch.tensor(y)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    opt = torch.optim.SGD([{"params": model[0].parameters()},
                           {"params": model[2].parameters(), "lr": 0.05}], lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=100, gamma=0.5)
    run = vigil.init(project="torch", server=url_of(server), system_metrics=False)
    vt.watch(run, model, opt, every=2, per_module=True)
    loss_fn = torch.nn.CrossEntropyLoss(reduction="none")
    g = torch.Generator().manual_seed(1)

    expected = {"loss": [], "grad": {}, "param": {}, "mod_grad": {}, "lr0": {}, "lr1": {},
                "P": [], "mean": [], "hist_total": []}
    steps = 300
    for step in range(steps):
        micro = 2 if step % 3 == 0 else 1  # some steps accumulate two batches
        opt.zero_grad()
        variances, means, total = [], [], 0
        for _ in range(micro):
            idx = torch.randint(0, len(X), (32,), generator=g)
            losses = loss_fn(model(X[idx]), y[idx])
            vt.loss_dispersion(run, losses)
            l64 = losses.detach().numpy().astype(np.float64)
            variances.append(float(np.mean((l64 - l64.mean()) ** 2)))
            means.append(float(l64.mean()))
            total += len(l64)
            (losses.mean() / micro).backward()
        expected["P"].append(sum(variances) / micro)
        expected["mean"].append(sum(means) / micro)
        expected["hist_total"].append(total)
        if step % 2 == 0:
            grads = [p.grad.detach().numpy().astype(np.float64).ravel() for p in model.parameters()]
            expected["grad"][step] = math.sqrt(sum(float(np.dot(a, a)) for a in grads))
            mg = [p.grad.detach().numpy().astype(np.float64).ravel() for p in model[2].parameters()]
            expected["mod_grad"][step] = math.sqrt(sum(float(np.dot(a, a)) for a in mg))
            expected["lr0"][step] = opt.param_groups[0]["lr"]
            expected["lr1"][step] = opt.param_groups[1]["lr"]
        opt.step()
        if step % 2 == 0:
            ps = [p.detach().numpy().astype(np.float64).ravel() for p in model.parameters()]
            expected["param"][step] = math.sqrt(sum(float(np.dot(a, a)) for a in ps))
        loss = float(sum(means) / micro)
        expected["loss"].append(loss)
        run.log({"train/loss": loss})
        sched.step()
    vt.cuda_memory(run)
    timer = vt.StepTimer(run)
    with timer:
        pass
    run.finish()

    st, _, vals = series(client, run.id, "train/loss")
    assert st == list(range(steps)) and vals == expected["loss"]

    st, _, vals = series(client, run.id, "train/grad_norm")
    assert st == sorted(expected["grad"])
    np.testing.assert_allclose(vals, [expected["grad"][s] for s in st], rtol=1e-9)
    st, _, vals = series(client, run.id, "train/grad_norm", {"module": "2"})
    np.testing.assert_allclose(vals, [expected["mod_grad"][s] for s in st], rtol=1e-9)
    info = client.request("GET", f"/api/v1/runs/{run.id}")
    modules = {m["labels"].get("module") for m in info["metrics"] if m["metric"] == "train/grad_norm"}
    assert modules == {None, "0", "2"}  # the ReLU (module 1) has no parameters
    st, _, vals = series(client, run.id, "train/param_norm")
    np.testing.assert_allclose(vals, [expected["param"][s] for s in st], rtol=1e-9)
    st, _, vals = series(client, run.id, "train/lr", {"group": "0"})
    assert vals == [expected["lr0"][s] for s in st] and vals[0] == 0.1 and vals[-1] == 0.025
    st, _, vals = series(client, run.id, "train/lr", {"group": "1"})
    assert vals == [expected["lr1"][s] for s in st]

    st, _, vals = series(client, run.id, "train/loss_dispersion")
    assert st == list(range(steps))
    np.testing.assert_allclose(vals, expected["P"], rtol=1e-9)
    st, _, vals = series(client, run.id, "train/loss_mean")
    np.testing.assert_allclose(vals, expected["mean"], rtol=1e-9)
    totals = np.zeros(steps)
    for label in vt.HIST_LABELS:
        st, _, vals = series(client, run.id, "train/loss_hist", {"bucket": label})
        assert st == list(range(steps))
        totals += np.array(vals)
    assert totals.tolist() == [float(t) for t in expected["hist_total"]]

    # No CUDA here: one notice each, nothing logged.
    metrics = {m["metric"] for m in info["metrics"]}
    assert not any(m.startswith("cuda/") or m == "time/step_gpu" for m in metrics)
    if not torch.cuda.is_available():
        err = capfd.readouterr().err
        assert "cuda_memory: CUDA is not available" in err
        assert "StepTimer: CUDA is not available" in err


def test_histogram_buckets_are_fixed_and_log_spaced():
    edges = vt.HIST_EDGES
    assert edges[0] == pytest.approx(1e-4) and edges[-1] == pytest.approx(1e2)
    ratios = [b / a for a, b in zip(edges, edges[1:])]
    assert all(r == pytest.approx(10 ** 0.25) for r in ratios)
    assert vt.HIST_LABELS[-1] == "+Inf" and len(vt.HIST_LABELS) == len(edges) + 1
