"""Unit tests of the batch encoder and the outbox (no server)."""

import json

from vigil.outbox import Outbox
from vigil.series_key import series
from vigil.spool import RunDir
from vigil.wire import BatchEncoder, count_points


def decode(bodies):
    out = {}
    for body, n in bodies:
        doc = json.loads(body)
        assert n == sum(len(s["steps"]) for s in doc["series"])
        for s in doc["series"]:
            key = (s["metric"], tuple(sorted(s["labels"].items())))
            cur = out.setdefault(key, [[], [], []])
            cur[0] += s["steps"]
            cur[1] += s["times"]
            cur[2] += s["values"]
    return out


def test_rows_with_changing_keys_keep_every_point_in_order():
    enc = BatchEncoder(max_points=7)
    rows = []
    for i in range(20):
        d = {"a": float(i)}
        if i % 3 == 0:
            d["b"] = -float(i)
        if i % 5 == 0:
            d[series("c", k="v")] = 1.0
        rows.append((i, 1000.0 + i / 1000, d))
    bodies = enc.pack(rows)
    assert all(n <= 14 for _, n in bodies)  # split near max_points
    got = decode(bodies)
    assert got[("a", ())][0] == list(range(20))
    assert got[("a", ())][1] == [1000000 + i for i in range(20)]
    assert got[("b", ())][2] == [-float(i) for i in range(0, 20, 3)]
    assert got[("c", (("k", "v"),))][0] == [0, 5, 10, 15]
    assert enc.last_values == {"a": 19.0, "b": -18.0}


def test_extra_labels_and_non_integer_steps():
    enc = BatchEncoder(max_points=100, extra_labels={"rank": "3"})
    got = decode(enc.pack([(2.0, 1.0, {"a": 1.0}), (2.5, 1.0, {"a": 2.0}), (3, 1.0, {"a": 3.0})]))
    assert got == {("a", (("rank", "3"),)): [[2, 3], [1000, 1000], [1.0, 3.0]]}
    assert enc.dropped_points == 1


def test_outbox_keeps_order_across_spills_and_in_flight_batches(tmp_path):
    d = RunDir(str(tmp_path / "spool" / "r1"))
    box = Outbox(d, lambda rd: rd.write_run({"project": "p", "id": "r1"}), 1 << 20)
    bodies = [b'{"series":[{"metric":"a","labels":{},"steps":[%d],"times":[0],"values":[1]}]}' % i
              for i in range(6)]
    box.put(bodies[0], 1)
    box.put(bodies[1], 1)
    in_flight = box.peek()
    assert in_flight.body == bodies[0] and not in_flight.on_disk
    box.spill("test")  # moved to disk while being sent
    box.put(bodies[2], 1)  # goes to disk too: order kept
    assert (tmp_path / "spool" / "r1" / "run.json").exists()
    box.done(in_flight)  # delivered: its line is skipped
    sent = []
    while (item := box.peek()) is not None:
        sent.append(item.body)
        box.done(item)
    assert sent == bodies[1:3]
    assert box.empty() and not (tmp_path / "spool" / "r1" / "batches.jsonl").exists()
    box.put(bodies[3], 1)  # back in memory
    assert not box.on_disk() and box.peek().body == bodies[3]


def test_outbox_adopts_an_earlier_spill_and_skips_a_torn_line(tmp_path):
    path = tmp_path / "spool" / "r2"
    path.mkdir(parents=True)
    good = b'{"series":[{"metric":"a","labels":{},"steps":[1,2],"times":[0,0],"values":[1,2]}]}'
    (path / "batches.jsonl").write_bytes(good + b"\n" + b'{"series":[{"met' + b"\n" + good + b"\n"
                                         + b'{"torn')
    box = Outbox(RunDir(str(path)), lambda rd: None, 1 << 20)
    assert box.adopt() == 4
    assert box.pending_points() == 4
    sent = []
    while (item := box.peek()) is not None:
        sent.append(item.body)
        box.done(item)
    # The unparsable middle line is sent as is (the server rejects it and the
    # sender reports it); the torn tail without a newline is skipped.
    assert sent == [good, b'{"series":[{"met', good]
    assert count_points(b"not json") == 0
