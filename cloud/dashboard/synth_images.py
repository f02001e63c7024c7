"""Rendered scan images for generated demo data (heatmap, range, intensity PNGs)."""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
import numpy as np


def _png(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def render(score: float, along: float, across: float) -> dict[str, bytes]:
    """Three small PNGs of a synthetic wheel: a defect blob where the score says so."""
    yy, xx = np.mgrid[0:160, 0:64]
    cy, cx = int(along) % 160, int(across) % 64
    blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 40.0) * max(0.0, 100 - score) / 40
    crown = 1 - ((xx - 32) / 40.0) ** 2
    rng = np.clip((crown - blob * 0.5) * 220, 0, 255).astype(np.uint8)
    inten = np.clip(120 + 40 * np.sin(yy / 9.0) + 60 * blob, 0, 255).astype(np.uint8)
    heat = np.zeros((160, 64, 3), np.uint8)
    heat[..., 0] = np.clip(blob * 255, 0, 255).astype(np.uint8)
    heat[..., 2] = 255 - heat[..., 0]
    return {"heatmap": _png(heat), "range": _png(rng), "intensity": _png(inten)}


def write_images(con: duckdb.DuckDBPyConnection, site: str, images_dir: Path,
                 ds: str = "wheelwatch", last_runs: int = 3) -> int:
    """Write ``<images_dir>/<file_id>/<kind>.png`` for the scans of the latest runs."""
    rows = con.execute(
        f"""SELECT file_id, score, coalesce(loc_along_mm, 0), coalesce(loc_across_mm, 0)
            FROM {ds}.wheel_scores WHERE site_id = ? AND run_id IN (
              SELECT run_id FROM {ds}.wheel_scores WHERE site_id = ?
              GROUP BY run_id ORDER BY max(capture_time) DESC LIMIT ?)""",
        [site, site, last_runs]).fetchall()
    for file_id, score, along, across in rows:
        out = images_dir / file_id
        out.mkdir(parents=True, exist_ok=True)
        for kind, png in render(float(score), float(along), float(across)).items():
            (out / f"{kind}.png").write_bytes(png)
    return len(rows)
