"""A million points and more through both log forms, read back bit-exact,
again after a restart and after compaction."""

import json
import random
import struct

from vigil_server import Server, bits


def test_million_points_both_forms_survive_restart(tmp_path):
    rng = random.Random(11)
    data = str(tmp_path / "data")
    series = {}
    with Server(data) as server:
        c = server.client()
        rid = c.create_run("volume")["id"]
        # Columnar: 100 series x 10,000 points = 1,000,000 points.
        for chunk in range(10):
            body = {"series": []}
            for m in range(100):
                steps = list(range(chunk * 1000, (chunk + 1) * 1000))
                # Arbitrary finite doubles, float32-like and short decimals mixed.
                if m % 3 == 0:
                    vals = [struct.unpack("<d", struct.pack("<Q", rng.getrandbits(62)))[0] for _ in steps]
                elif m % 3 == 1:
                    vals = [struct.unpack("<f", struct.pack("<f", rng.random()))[0] for _ in steps]
                else:
                    vals = [round(rng.random(), 4) for _ in steps]
                body["series"].append({"metric": f"col/m{m}", "labels": {"rank": str(m % 4)},
                                       "steps": steps, "times": [1_700_000_000_000 + 250 * s for s in steps],
                                       "values": vals})
                series.setdefault((f"col/m{m}", str(m % 4)), []).extend(vals)
            assert c.log(rid, body)["accepted"] == 100_000
        # Rows: 20,000 rows x 10 metrics = 200,000 points.
        for chunk in range(4):
            rows = []
            for step in range(chunk * 5000, (chunk + 1) * 5000):
                vals = {f"row/m{k}": rng.gauss(0, 1) for k in range(10)}
                rows.append({"step": step, "time": 1_700_000_000_000 + step, "values": vals})
                for k, v in vals.items():
                    series.setdefault((k, None), []).append(v)
            assert c.log(rid, {"rows": rows})["accepted"] == 50_000

        def check(client):
            for (metric, rank), vals in series.items():
                got = client.series(rid, metric, labels={"rank": rank} if rank else None)
                assert [bits(v) for v in got["values"]] == [bits(v) for v in vals], metric

        check(c)
        c.close()
    with Server(data) as server:
        c = server.client()
        check(c)
        stats = c.request("POST", "/api/v1/admin/compact")
        assert stats["blocks"] == 1 and stats["block_points"] == 1_200_000
        check(c)
        c.close()
