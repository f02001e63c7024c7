"""A generated demo site (DuckDB warehouse + SQLite store + scan images) and a client."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from cloud.dashboard.app import DashboardDeps, create_app
from cloud.dashboard.auth import SessionSigner, UserStore, hash_password
from cloud.dashboard.images import LocalScanImages
from cloud.dashboard.sql_ops import SqlOps
from cloud.dashboard.store import DashboardStore
from cloud.dashboard.synth import SynthSpec, generate_sql, generate_warehouse
from cloud.dashboard.synth_images import write_images
from cloud.dashboard.warehouse_reads import DuckDBTrends
from schemas.config.dashboard import DashboardConfig

SECRET = "test-session-secret-0123456789abcdef"
PASSWORDS = {"vera": "viewer-pass-1", "carl": "crew-pass-12"}
SPEC = SynthSpec(site="testsite", trains=2, wheels_per_side=6, days=12, cycle_min_days=6,
                 cycle_span_days=8)


@dataclass
class Site:
    """Paths and stores of the generated site."""

    root: Path
    warehouse: Path
    sql_url: str
    images: Path
    store: DashboardStore


@pytest.fixture(scope="session")
def hashes() -> dict[str, str]:
    """Password hashes of the test users (computed once)."""
    return {name: hash_password(pw) for name, pw in PASSWORDS.items()}


@pytest.fixture(scope="session")
def site_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated site, made once per session (tests work on copies)."""
    root = tmp_path_factory.mktemp("dash-site")
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    engine = create_engine(f"sqlite:///{root / 'wheelwatch.sqlite'}")
    generate_warehouse(con, SPEC)
    generate_sql(con, engine, SPEC)
    write_images(con, SPEC.site, root / "images", last_runs=2)
    con.close()
    engine.dispose()
    trends = DuckDBTrends(root / "warehouse.duckdb", SPEC.site)
    trends.install_views()
    trends.close_if_idle()
    return root


@pytest.fixture()
def site(tmp_path: Path, site_template: Path) -> Iterator[Site]:
    """A fresh copy of the generated site (12 days, 2 trains x 12 wheels) per test."""
    root = tmp_path / "site"
    shutil.copytree(site_template, root)
    engine = create_engine(f"sqlite:///{root / 'wheelwatch.sqlite'}")
    trends = DuckDBTrends(root / "warehouse.duckdb", SPEC.site)
    yield Site(root, root / "warehouse.duckdb", str(engine.url), root / "images",
               DashboardStore(trends, SqlOps(engine, SPEC.site)))
    trends.close_if_idle()
    engine.dispose()


@pytest.fixture()
def client(site: Site, hashes: dict[str, str]) -> Iterator[TestClient]:
    """A test client of the app over the generated site (nobody signed in)."""
    users = UserStore({"vera": ("viewer", hashes["vera"]), "carl": ("crew", hashes["carl"])})
    deps = DashboardDeps(queries=site.store, actions=site.store,
                         images=LocalScanImages(site.images), users=users,
                         signer=SessionSigner(SECRET, 3600), cfg=DashboardConfig(),
                         site=SPEC.site, threshold=70.0)
    with TestClient(create_app(deps), follow_redirects=False) as c:
        yield c


def sign_in(client: TestClient, name: str) -> str:
    """Sign ``name`` in through the form; returns the session's CSRF token."""
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token, form.text
    r = client.post("/login", data={"username": name, "password": PASSWORDS[name],
                                    "csrf": token.group(1), "next": "/"})
    assert r.status_code == 303, r.text
    page = client.get("/data-health")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    return csrf.group(1)
