"""Runs examples/cpp/sdk_driver.cc (the C++ SDK's test driver) for the tests.

The binary comes from $VIGIL_SDK_DRIVER, else the build tree next to the
vigil binary (build/release/examples/cpp/vigil_sdk_driver or
build/release/vigil_sdk_driver). Build it with
`cmake --build build/release --target vigil_sdk_driver`.
"""

import json
import os
import subprocess

from vigil_server import REPO, vigil_binary


def driver_binary():
    env = os.environ.get("VIGIL_SDK_DRIVER")
    if env:
        return env
    build = os.path.dirname(os.environ.get("VIGIL_BIN") or os.path.join(REPO, "build", "release", "vigil"))
    for path in (os.path.join(build, "examples", "cpp", "vigil_sdk_driver"),
                 os.path.join(build, "vigil_sdk_driver")):
        if os.path.exists(path):
            return path
    raise RuntimeError(f"vigil_sdk_driver not found under {build}: "
                       "cmake --build <build dir> --target vigil_sdk_driver")


def run_driver(*args, check=True, env=None, timeout=300):
    """Runs the driver; returns (stats dict, completed process)."""
    p = subprocess.run([driver_binary(), *map(str, args)], capture_output=True, text=True,
                       timeout=timeout, env=env)
    if check:
        assert p.returncode == 0, p.stderr
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    assert lines, f"no stats line; stdout={p.stdout!r} stderr={p.stderr!r}"
    return json.loads(lines[-1]), p


def vigil(*args, check=True, timeout=300):
    p = subprocess.run([vigil_binary(), *map(str, args)], capture_output=True, text=True,
                       timeout=timeout)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def expected_series(threads, points):
    """(metric, labels) -> list of (step, value) the driver logs."""
    out = {}
    for t in range(threads):
        out[("drv/value", (("thread", str(t)),))] = [(i, t * 1e6 + i) for i in range(points)]
        out[(f"drv/t{t}", ())] = [(i, i * 0.5) for i in range(points)]
        out[("drv/handle", (("thread", str(t)),))] = [(i, -float(i)) for i in range(points)]
    return out


def stored_series(client, run_id, metric, labels):
    s = client.series(run_id, metric, labels=dict(labels))
    return s
