"""The dashboard over what the real subscriber pipeline writes (DuckDB + SQLite + blobs)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cloud.blob import object_key
from cloud.blob.local import LocalBlobStore
from cloud.dashboard.app import DashboardDeps, create_app
from cloud.dashboard.auth import SessionSigner, UserStore
from cloud.dashboard.images import LocalScanImages
from cloud.dashboard.render import RenderedScanImages
from cloud.dashboard.sql_ops import SqlOps
from cloud.dashboard.store import DashboardStore
from cloud.dashboard.warehouse_reads import DuckDBTrends
from schemas.config.dashboard import DashboardConfig
from tests.cloud.dashboard.conftest import PASSWORDS, SECRET
from tests.cloud.support import SITE, Settled, delivery, make_file, make_rig, make_sample


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, dict[str, Any]]:
    return make_sample(tmp_path_factory.mktemp("sample"))


def test_pages_over_pipeline_output(tmp_path: Path, sample: tuple[bytes, dict[str, Any]],
                                    hashes: dict[str, str]) -> None:
    rig = make_rig(tmp_path)
    handler = rig.chunk_handler()
    files = [make_file(*sample, wheel=w, run=r, n=i)
             for i, (r, w) in enumerate([(r, w) for r in ("run-1", "run-2")
                                         for w in ("W01", "W02", "W03")])]
    for f in files:
        for j, (data, attrs) in enumerate(f.messages()):
            handler(delivery(data, attrs, f"{f.file_id}-{j}", settled=Settled()))
    assert len(rig.warehouse_rows("wheel_scores")) == 6

    trends = DuckDBTrends(tmp_path / "wh.duckdb", SITE)
    trends.install_views()
    store = DashboardStore(trends, SqlOps(rig.sessions.kw["bind"], SITE))
    images = RenderedScanImages(LocalScanImages(tmp_path / "img"), trends,
                                LocalBlobStore(tmp_path / "blobs"), SITE, None, object_key)
    deps = DashboardDeps(store, store, images,
                         UserStore({"vera": ("viewer", hashes["vera"])}),
                         SessionSigner(SECRET, 3600), DashboardConfig(), SITE)
    with TestClient(create_app(deps), follow_redirects=False) as c:
        token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text)
        assert token
        c.post("/login", data={"username": "vera", "password": PASSWORDS["vera"],
                               "csrf": token.group(1)})
        fleet = c.get("/")
        assert fleet.status_code == 200
        for w in ("W01", "W02", "W03"):
            assert f'href="/wheels/{w}"' in fleet.text
        wheel = c.get("/wheels/W02")
        assert wheel.status_code == 200 and "2 in all" in wheel.text
        fid = files[4].file_id  # run-2, W02
        assert f'src="/scans/{fid}/range.png"' in wheel.text
        img = c.get(f"/scans/{fid}/range.png")
        assert img.status_code == 200 and img.content.startswith(b"\x89PNG")
        health = c.get("/data-health")
        assert health.status_code == 200 and "Cam_01" in health.text
    trends.close_if_idle()
