#!/usr/bin/env python3
"""One rank of a simulated distributed job, driven by the test line by
line: every stdin line is a JSON request, answered by one JSON line on
stdout (the SDK's notices go to stderr). Used by test_distributed.py to
run several ranks as separate processes (the SDK is per process).

Requests:
  {"op": "init", "at": UNIX_TIME, ...}  vigil.init(**rest) at wall time `at`
        (so that several ranks call it at the same moment) ->
        {"id", "step", "rank", "node", "distributed", "agent"}
  {"op": "log", "steps": N, "phase": NAME}  N steps, each a `phase` block of
        ~1 ms then run.log({"train/loss": ...}) -> {"step"}
  {"op": "enter", "phase": NAME}  enters the phase and stays in it -> {}
  {"op": "leave"}                 leaves it -> {}
  {"op": "commands"}  -> {"commands": [[id, type], ...]} received so far
  {"op": "finish", "state": S, "message": M}  -> {}
  {"op": "exit"}  ends the process
"""

import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

import vigil  # noqa: E402


def main():
    run = None
    held = None
    received = []
    for line in sys.stdin:
        req = json.loads(line)
        op = req.pop("op")
        out = {}
        if op == "init":
            at = req.pop("at", None)
            if at is not None:
                time.sleep(max(0.0, at - time.time()))
            run = vigil.init(**req)
            out = {"id": run.id, "step": run.step, "rank": run.rank, "node": run.node,
                   "distributed": run.distributed, "agent": run._agent is not None}
        elif op == "log":
            for _ in range(req["steps"]):
                with run.phase(req.get("phase", "forward")):
                    time.sleep(0.001)
                run.log({"train/loss": 1.0 / (run.step + 1)})
            out = {"step": run.step}
        elif op == "enter":
            held = run.phase(req["phase"])
            held.__enter__()
        elif op == "leave":
            held.__exit__(None, None, None)
            held = None
        elif op == "commands":
            received += [[c.id, c.type] for c in run.pending_commands()]
            out = {"commands": received}
        elif op == "finish":
            run.finish(state=req.get("state", "finished"), message=req.get("message"))
        elif op == "exit":
            return
        else:
            out = {"error": f"unknown op {op!r}"}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
