"""Scan images rendered from a stored per-wheel CSV (a real Ranger E55 sample)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from cloud.blob import object_key
from cloud.blob.local import LocalBlobStore
from cloud.dashboard.images import LocalScanImages
from cloud.dashboard.render import RenderedScanImages
from edge.convert import convert_scan
from tests.edge.sick_helpers import RANGER_E

WHEN = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


class Locator:
    def __init__(self, known: dict[str, tuple[str, datetime, str]]) -> None:
        self.known = known

    def scan_keys(self, file_ids: list[str]) -> dict[str, tuple[str, datetime, str]]:
        return {f: self.known[f] for f in file_ids if f in self.known}


class FakeScore:
    def heatmap_png(self) -> bytes:
        return b"\x89PNG-fake-heatmap"


class FakeScorer:
    def __init__(self) -> None:
        self.calls: list[tuple[int, ...]] = []

    def score_wheel_data(self, data: Any) -> FakeScore:
        self.calls.append(data.range.shape)
        return FakeScore()


@pytest.fixture()
def rendered(tmp_path: Path) -> tuple[RenderedScanImages, FakeScorer, Path]:
    res = convert_scan(RANGER_E / "zse_buff.dat", tmp_path / "conv")
    blobs = LocalBlobStore(tmp_path / "blobs")
    for path, ext in ((res.csv_path, "csv"), (res.meta_path, "meta.json")):
        blobs.put_if_absent(object_key("s1", "Cam_01", WHEN, "T1-L01", "F1", ext),
                            path.read_bytes(), "text/plain")
    imgs = RenderedScanImages(LocalScanImages(tmp_path / "cache"),
                              Locator({"F1": ("Cam_01", WHEN, "T1-L01")}), blobs, "s1",
                              None, object_key)
    scorer = FakeScorer()
    imgs._model = scorer
    return imgs, scorer, tmp_path / "cache"


def test_range_and_intensity_render_from_the_csv_and_are_cached(
        rendered: tuple[RenderedScanImages, FakeScorer, Path]) -> None:
    imgs, _scorer, cache = rendered
    assert imgs.available(["F1", "F2"]) == {"F1"}
    png = imgs.image("F1", "range")
    assert png is not None and png.startswith(b"\x89PNG")
    img = Image.open(cache / "F1" / "range.png")
    assert max(img.size) <= 512 and len(np.unique(np.asarray(img))) > 20  # a real picture
    assert imgs.image("F1", "intensity") is not None
    assert imgs.image("F2", "range") is None


def test_heatmap_comes_from_the_model_once(
        rendered: tuple[RenderedScanImages, FakeScorer, Path]) -> None:
    imgs, scorer, cache = rendered
    assert imgs.image("F1", "heatmap") == b"\x89PNG-fake-heatmap"
    assert imgs.image("F1", "heatmap") == b"\x89PNG-fake-heatmap"
    assert len(scorer.calls) == 1 and (cache / "F1" / "heatmap.png").exists()


def test_missing_blob_gives_no_image(tmp_path: Path) -> None:
    imgs = RenderedScanImages(LocalScanImages(tmp_path / "cache"),
                              Locator({"F9": ("Cam_01", WHEN, "T1-L09")}),
                              LocalBlobStore(tmp_path / "blobs"), "s1", None, object_key)
    assert imgs.image("F9", "range") is None
    assert imgs.image("F9", "heatmap") is None
