"""The convert benchmark runs end to end (tiny sizes) and the runner prints a table."""

from __future__ import annotations

import numpy as np

from bench import available
from bench.__main__ import format_table
from bench.convert import Paired, _peak_mb, _write, interleaved, realistic_arrays, run


def test_realistic_arrays_look_like_a_wheel() -> None:
    a = realistic_arrays(50, 200, ranger3=True)
    assert list(a) == ["Range", "Intensity", "Scatter", "Mark"] and a["Mark"].shape == (50, 5)
    missing = float((a["Range"] == 0).mean())
    assert 0.2 < missing < 0.4  # background columns + 2 % dropouts
    assert a["Range"].max() <= 8169
    e = realistic_arrays(10, 20, ranger3=False)
    assert list(e) == ["Mark", "Intensity", "Range"] and e["Mark"].shape == (10, 2)


def test_run_small_and_table() -> None:
    rows = run(cases=(("r3 tiny", 40, 64, True), ("e tiny", 30, 48, False)), big_read=(20, 64),
               peak=False, repeats=3)
    metrics = {(r["case"], r["metric"]) for r in rows}
    for case in ("r3 tiny", "e tiny"):
        for metric in ("read_scan", "convert", "CSV write only", "CSV throughput",
                       "CSV size", "peak memory"):
            assert (case, metric) in metrics
    size = {r["case"]: r for r in rows if r["metric"] == "CSV size"}
    for row in size.values():  # same table: polars and pandas write the same bytes count
        assert np.isclose(row["value"], row["baseline"])
    assert all(r["ratio"] > 0 for r in rows if "ratio" in r)
    for r in rows:
        if r["metric"] in ("convert", "CSV write only", "CSV throughput"):
            assert r["repeats"] == 3 and "3 interleaved runs" in r["note"]
            for key in ("value", "baseline", "ratio"):
                assert r[f"{key}_min"] <= r[key] <= r[f"{key}_max"]
    assert ("ranger3 64x20", "read_scan") in metrics
    table = format_table([{"bench": "convert", **r} for r in rows])
    assert table.splitlines()[0].split()[:4] == ["bench", "case", "metric", "value"]
    assert "convert" in available()


def test_peak_memory_measured_in_child(tmp_path) -> None:
    dat = _write(tmp_path, "Cam_01_20261127_142301_512", 200, 256, True)
    peak = _peak_mb("convert", dat, tmp_path / "out")
    assert peak is None or peak >= 0
    assert (tmp_path / "out" / f"{dat.stem}.csv").exists()


def test_interleaved_rounds_rotate_the_order() -> None:
    calls: list[str] = []
    times = interleaved({n: (lambda n=n: calls.append(n)) for n in "abc"}, repeats=4)
    assert calls == list("abc" "bca" "cab" "abc")
    assert {n: len(v) for n, v in times.items()} == {"a": 4, "b": 4, "c": 4}


def test_paired_medians_and_per_round_ratios() -> None:
    p = Paired.times([1.0, 2.0, 1.0], [10.0, 30.0, 9.0])
    f = p.fields()
    assert p.ratios == [10.0, 15.0, 9.0]
    assert (f["value"], f["baseline"], f["ratio"]) == (1.0, 10.0, 10.0)
    assert (f["ratio_min"], f["ratio_max"], f["value_max"]) == (9.0, 15.0, 2.0)
    assert "ratio 9-15" in p.note()
