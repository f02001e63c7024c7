"""Scan images rendered on demand from the stored per-wheel CSV, cached as PNG files.

Range and intensity images come straight from the CSV's arrays (missing points dark);
the heatmap is the exported model's evidence map (``models.serving``, the same model
directory the worker scores with). A rendered image is written to the cache folder
(``dashboard.images_dir``), so it costs its rendering once.
"""

from __future__ import annotations

import io
import logging
import tempfile
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from cloud.dashboard.images import LocalScanImages
from cloud.dashboard.ports import ImageKind
from schemas.errors import WheelWatchError

log = logging.getLogger(__name__)
MAX_SIDE = 512


class BlobReader(Protocol):
    """The part of the blob store port the renderer needs."""

    def get(self, key: str) -> bytes:
        """Read an object."""
        ...


class ScanLocator(Protocol):
    """Where a scan's CSV is: (site, camera, capture time, wheel id) by file id."""

    def scan_keys(self, file_ids: list[str]) -> dict[str, tuple[str, datetime, str]]:
        """(camera, capture time, wheel id) of each known scan with a stored CSV."""
        ...


def gray_png(arr: np.ndarray) -> bytes:
    """An 8-bit PNG of a (lines, width) array: 1st-99th percentile stretch, missing black."""
    from PIL import Image

    a = np.asarray(arr, dtype=np.float64)
    valid = np.isfinite(a) & (a != 0)
    out = np.zeros(a.shape, np.uint8)
    if valid.any():
        lo, hi = np.percentile(a[valid], [1, 99])
        scaled = (np.clip(a, lo, hi) - lo) / max(hi - lo, 1e-9)
        out[valid] = (30 + 225 * scaled[valid]).astype(np.uint8)
    img = Image.fromarray(out)
    img.thumbnail((MAX_SIDE, MAX_SIDE))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


class RenderedScanImages:
    """Cached PNGs first; otherwise rendered from the blob store's CSV (+ the model)."""

    def __init__(self, cache: LocalScanImages, locate: ScanLocator, blobs: BlobReader,
                 site: str, model_dir: Path | None,
                 key_of: Callable[[str, str, datetime, str, str, str], str]) -> None:
        self._cache = cache
        self._locate = locate
        self._blobs = blobs
        self._site = site
        self._model_dir = model_dir
        self._key_of = key_of
        self._model: Any = None
        self._lock = threading.Lock()

    def available(self, file_ids: list[str]) -> set[str]:
        """Scans with a cached image or a stored CSV to render from."""
        return self._cache.available(file_ids) | set(self._locate.scan_keys(file_ids))

    def image(self, file_id: str, kind: ImageKind) -> bytes | None:
        """The PNG (rendered and cached on first use), or None."""
        png = self._cache.image(file_id, kind)
        if png is not None:
            return png
        where = self._locate.scan_keys([file_id]).get(file_id)
        if where is None:
            return None
        try:
            png = self._render(file_id, kind, *where)
        except (WheelWatchError, OSError, ValueError, KeyError) as exc:
            log.warning("cannot render %s of %s: %s", kind, file_id, exc)
            return None
        self._cache.store(file_id, kind, png)
        return png

    def _render(self, file_id: str, kind: ImageKind, camera: str, capture: datetime,
                wheel_id: str) -> bytes:
        from schemas.wheel_csv import read_wheel_csv

        with tempfile.TemporaryDirectory(prefix="ww-render-") as tmp:
            csv, meta = Path(tmp) / "wheel.csv", Path(tmp) / "wheel.meta.json"
            for path, ext in ((csv, "csv"), (meta, "meta.json")):
                path.write_bytes(self._blobs.get(
                    self._key_of(self._site, camera, capture, wheel_id, file_id, ext)))
            data = read_wheel_csv(csv, meta)
        if kind == "range":
            return gray_png(data.range)
        if kind == "intensity":
            if data.intensity is None:
                raise KeyError("the scan has no intensity")
            return gray_png(data.intensity)
        ws = self._scorer().score_wheel_data(data)
        return bytes(ws.heatmap_png())

    def _scorer(self) -> Any:
        with self._lock:
            if self._model is None:
                from models.serving.scorer import Scorer

                if self._model_dir is None:
                    raise FileNotFoundError("no model directory for heatmaps")
                self._model = Scorer.load(self._model_dir)
            return self._model
