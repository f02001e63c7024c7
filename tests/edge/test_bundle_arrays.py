"""The bundle's .npy array sidecar on the edge: made from the converter's arrays,
deterministic, round-trips; ``edge.bundle_arrays = false`` gives CSV-only bundles."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
import zstandard

from edge.bootstrap import build_uploader
from edge.bundle import make_bundle, read_bundle
from edge.convert import convert_scan
from edge.simulator.site import SiteSimulator
from schemas.wheel_arrays import wheel_from_arrays
from schemas.wheel_csv import parse_metadata, read_wheel_csv
from tests.edge.sick_helpers import write_ranger3
from tests.edge.sitekit import make_site, pass_start

SIDECAR = ["arrays/Intensity.npy", "arrays/Range.npy", "arrays/Scatter.npy"]


def _members(path: Path) -> dict[str, bytes]:
    raw = zstandard.ZstdDecompressor().decompressobj().decompress(path.read_bytes())
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
        out = {}
        for m in tar.getmembers():
            f = tar.extractfile(m)
            assert f is not None and m.mtime == 0 and m.mode == 0o644
            out[m.name] = f.read()
        return out


def test_bundle_carries_the_sidecar_and_it_round_trips(tmp_path: Path) -> None:
    dat = write_ranger3(tmp_path / "in" / "Cam_01_20261127_142301_512.dat", 30, 40,
                        scatter=True)
    res = convert_scan(dat, tmp_path / "out", in_memory_max_rows=10**6)
    assert res.csv_data is not None and res.meta_data is not None and res.arrays is not None
    b1 = make_bundle(res.csv_data, res.meta_data, tmp_path / "1.tar.zst", res.arrays)
    b2 = make_bundle(res.csv_data, res.meta_data, tmp_path / "2.tar.zst", dict(res.arrays))
    assert b1.sha256 == b2.sha256 and b1.path.read_bytes() == b2.path.read_bytes()
    members = _members(b1.path)
    assert list(members) == ["wheel.csv", "wheel.json", *SIDECAR]
    assert b1.raw_bytes > len(res.csv_data) + sum(len(members[m]) for m in SIDECAR)
    assert read_bundle(b1.path.read_bytes(), b1.raw_bytes) == (res.csv_data, res.meta_data)
    meta = parse_metadata(members["wheel.json"])
    back = wheel_from_arrays(meta, {m: members[m] for m in SIDECAR})
    on_disk = convert_scan(dat, tmp_path / "disk")  # the streamed path has them too
    assert on_disk.arrays is not None and list(on_disk.arrays) == list(res.arrays)
    csv = read_wheel_csv(on_disk.csv_path, on_disk.meta_path)
    assert list(back.arrays) == list(csv.arrays) == ["Range", "Intensity", "Scatter"]
    for name, want in csv.arrays.items():
        np.testing.assert_array_equal(back[name], want)
        assert back[name].dtype == want.dtype


def test_without_arrays_the_bundle_is_csv_only(tmp_path: Path) -> None:
    dat = write_ranger3(tmp_path / "in" / "x.dat", 5, 6)
    res = convert_scan(dat, tmp_path / "out", in_memory_max_rows=10**6)
    assert res.csv_data is not None and res.meta_data is not None
    b = make_bundle(res.csv_data, res.meta_data, tmp_path / "b.tar.zst")
    assert list(_members(b.path)) == ["wheel.csv", "wheel.json"]


@pytest.mark.parametrize("on", [True, False])
def test_uploader_bundles_the_sidecar_unless_switched_off(tmp_path: Path, on: bool) -> None:
    _, cfg = make_site(tmp_path, edge={"bundle_arrays": on})
    assert cfg.edge.bundle_arrays is on
    SiteSimulator.from_config(cfg, seed=4, width=60).run_pass("T1", pass_start(0))
    up = build_uploader(cfg)
    try:
        up.discover(up.clock())
        up.closer.close_ready(up.clock())
        while up.convert_ready():
            pass
        rows = up.tracker.files("state = 'converted'")
        assert len(rows) == 8
        for row in rows:
            assert row.bundle_path is not None
            members = _members(row.bundle_path)
            names = list(members)
            assert names[:2] == ["wheel.csv", "wheel.json"]
            assert names[2:] == (["arrays/Intensity.npy", "arrays/Range.npy"] if on else [])
            assert row.raw_bytes == len(zstandard.ZstdDecompressor().decompressobj()
                                        .decompress(row.bundle_path.read_bytes()))
    finally:
        up.tracker.close()
