#!/usr/bin/env python3
"""One rank of test_rank_job.py's simulated job (no torch): the real SDK,
and a step made of phases like a data-parallel step's:

    data     sleep --data-ms             (rank --hang-rank blocks here
                                          forever at step --hang-at)
    forward  sleep --forward-ms          (rank --slow-rank then sleeps
                                          (--slow - 1) x its own data+forward
                                          time more: its compute is --slow
                                          times slower, whatever the sleeps'
                                          overshoot on a loaded machine)
    comm     the job-wide barrier (also passed once before init): one byte to the test's loopback barrier
             server, then wait for its byte back (all ranks arrived)
    log      train/loss (the same curve on every rank, +-1% per-rank noise)

    rank_job_worker.py --server URL --run ID --rank R --world W --steps N
                       --barrier PORT [...]

RANK / WORLD_SIZE / LOCAL_RANK / VIGIL_NODE come from the environment the
test sets, as torchrun would.
"""

import argparse
import os
import random
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

import vigil  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--barrier", type=int, required=True)
    ap.add_argument("--data-ms", type=float, default=5.0)
    ap.add_argument("--forward-ms", type=float, default=10.0)
    ap.add_argument("--hang-rank", type=int, default=-1)
    ap.add_argument("--hang-at", type=int, default=-1)
    ap.add_argument("--slow-rank", type=int, default=-1)
    ap.add_argument("--slow", type=float, default=1.0)
    args = ap.parse_args()

    barrier = socket.create_connection(("127.0.0.1", args.barrier))
    barrier.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # The start gate: every rank's process is up (64 interpreters starting
    # on 2 cores take seconds) before any joins the run, as a launcher's
    # rendezvous does, so that start-up is not taken for a hang.
    barrier.sendall(b"x")
    if not barrier.recv(1):
        return
    run = vigil.init(project="job", id=args.run, server=args.server, system_metrics=False)
    rank = run.rank
    hang_at = args.hang_at if rank == args.hang_rank else -1
    slow = args.slow if rank == args.slow_rank else 1.0
    data_s, forward_s = args.data_ms / 1000.0, args.forward_ms / 1000.0
    noise = random.Random(rank)
    perf = time.perf_counter
    for step in range(run.step, args.steps):
        t0 = perf()
        with run.phase("data"):
            if step == hang_at:
                while True:  # a dataloader worker that never answers
                    time.sleep(3600)
            time.sleep(data_s)
        with run.phase("forward"):
            time.sleep(forward_s)
            if slow != 1.0:
                time.sleep((perf() - t0) * (slow - 1.0))
        with run.phase("comm"):
            barrier.sendall(b"x")
            if not barrier.recv(1):
                break  # the test ended the job
        loss = 2.0 / (1.0 + 0.002 * step) * (1.0 + 0.01 * (2.0 * noise.random() - 1.0))
        run.log({"train/loss": loss}, step=step)
    barrier.close()
    run.finish()


if __name__ == "__main__":
    main()
