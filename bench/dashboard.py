"""Benchmark: dashboard page times on a year of data for 100 wheels.

Data: one train of 100 wheels (50 a side), a run every 5 minutes, 12 hours a day, for
365 days = 52,560 runs and 5,256,000 wheel-score rows in the DuckDB warehouse (plus
the files table of the same size) and the SQL store (wheels with replacement history,
a year of grouped alerts, recent runs and expected wheels). Generated once into
``bench/results/dashboard-year/`` (git-ignored) and reused.

Measured: each page and API call through the real app and adapters in process (server
time, median of 5 after one cold call), then the same pages in headless Chromium (page
load = navigation start to the load event, with plotly.min.js cached, as for a user who
has opened the dashboard once). Budget = 1000 ms a page; ``ratio`` = budget / time.
"""

from __future__ import annotations

import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import create_engine

from bench import RESULTS_DIR
from cloud.dashboard.app import DashboardDeps, create_app
from cloud.dashboard.auth import SessionSigner, UserStore, hash_password
from cloud.dashboard.images import LocalScanImages
from cloud.dashboard.sql_ops import SqlOps
from cloud.dashboard.store import DashboardStore
from cloud.dashboard.synth import SynthSpec, generate_sql, generate_warehouse
from cloud.dashboard.synth_images import write_images
from cloud.dashboard.warehouse_reads import DuckDBTrends
from schemas.config.dashboard import DashboardConfig

SPEC = SynthSpec(site="bench", trains=1, wheels_per_side=50, days=365, alert_days=365)
DATA = RESULTS_DIR / "dashboard-year"
BUDGET_MS = 1000.0
PASSWORD = "bench-crew-pass"


_TIMING_JS = """() => {
  const n = performance.getEntriesByType('navigation')[0];
  const m = performance.getEntriesByName('plots-ready')[0];
  return {response: n.responseEnd - n.startTime, dom: n.domContentLoadedEventEnd - n.startTime,
          load: n.loadEventEnd - n.startTime, plots: m ? m.startTime : null};
}"""


def ensure_data() -> tuple[Path, int, float]:
    """Generate the year once; returns (folder, score rows, generation seconds)."""
    marker = DATA / "done"
    if marker.exists():
        rows = int(marker.read_text().split()[0])
        return DATA, rows, float(marker.read_text().split()[1])
    shutil.rmtree(DATA, ignore_errors=True)
    DATA.mkdir(parents=True)
    t0 = time.perf_counter()
    con = duckdb.connect(str(DATA / "warehouse.duckdb"))
    engine = create_engine(f"sqlite:///{DATA / 'wheelwatch.sqlite'}")
    rows = generate_warehouse(con, SPEC)
    generate_sql(con, engine, SPEC)
    write_images(con, SPEC.site, DATA / "images", last_runs=12)
    con.close()
    engine.dispose()
    trends = DuckDBTrends(DATA / "warehouse.duckdb", SPEC.site)
    trends.install_views()
    trends.close_if_idle()
    took = time.perf_counter() - t0
    marker.write_text(f"{rows} {took:.1f}")
    return DATA, rows, took


def _deps(root: Path) -> DashboardDeps:
    store = DashboardStore(DuckDBTrends(root / "warehouse.duckdb", SPEC.site),
                           SqlOps(create_engine(f"sqlite:///{root / 'wheelwatch.sqlite'}"),
                                  SPEC.site))
    users = UserStore({"crew": ("crew", hash_password(PASSWORD))})
    return DashboardDeps(store, store, LocalScanImages(root / "images"), users,
                         SessionSigner("bench-secret-" + "x" * 20, 3600), DashboardConfig(),
                         SPEC.site)


def _pages(deps: DashboardDeps) -> dict[str, str]:
    wheel = deps.queries.alerts(open_only=True, wheel_id=None, limit=1)
    wid = wheel[0].wheel_ids[0] if wheel else deps.queries.fleet()[0].wheel_id
    return {"fleet": "/", "wheel": f"/wheels/{wid}", "wheel scans p200": f"/wheels/{wid}?page=200",
            "data health": "/data-health", "api fleet": "/api/fleet",
            "api wheel": f"/api/wheels/{wid}"}


def _server_rows(deps: DashboardDeps, rows_n: int) -> list[dict[str, Any]]:
    from fastapi.testclient import TestClient

    out: list[dict[str, Any]] = []
    with TestClient(create_app(deps)) as c:
        token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text)
        assert token
        c.post("/login", data={"username": "crew", "password": PASSWORD,
                               "csrf": token.group(1)})
        for name, path in _pages(deps).items():
            t0 = time.perf_counter()
            assert c.get(path).status_code == 200, path
            cold = (time.perf_counter() - t0) * 1000
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                c.get(path)
                times.append((time.perf_counter() - t0) * 1000)
            med = statistics.median(times)
            out.append({"case": f"{name} ({rows_n:,} rows)", "metric": "server ms median",
                        "value": round(med, 1), "unit": "ms", "baseline": BUDGET_MS,
                        "ratio": round(BUDGET_MS / med, 2),
                        "note": f"cold {cold:.0f} ms, max {max(times):.0f} ms"})
    return out


def _browser_rows(deps: DashboardDeps) -> list[dict[str, Any]]:
    import socket
    import threading

    import uvicorn
    from playwright.sync_api import sync_playwright

    from tests.fixtures.browser import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        return [{"case": "browser", "metric": "skipped", "value": 0, "unit": "",
                 "note": "no /usr/bin/chromium (make tools)"}]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(deps), host="127.0.0.1", port=port,
                                           log_level="warning"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    out: list[dict[str, Any]] = []
    profile = tempfile.mkdtemp(prefix="ww-bench-chromium-")
    try:
        with sync_playwright() as pw:
            ctx = pw.chromium.launch_persistent_context(
                profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
                viewport={"width": 1400, "height": 1000})
            page = ctx.pages[0] if ctx.pages else ctx.new_page()
            page.goto(url + "/login")
            page.fill("input[name=username]", "crew")
            page.fill("input[name=password]", PASSWORD)
            page.click("#login-form button[type=submit]")
            page.wait_for_url(url + "/")
            for name, path in _pages(deps).items():
                if name.startswith("api"):
                    continue
                page.goto(url + path)  # warm: plotly.min.js and images cached
                times, parts = [], []
                for _ in range(3):
                    page.goto(url + path)
                    page.wait_for_function("() => document.readyState === 'complete'")
                    t = page.evaluate(_TIMING_JS)
                    times.append(max(t["load"], t["plots"] or 0))
                    parts.append(t)
                med = statistics.median(times)
                mid = parts[times.index(med)]
                out.append({"case": name, "metric": "browser ms to load + charts drawn",
                            "value": round(med, 1), "unit": "ms", "baseline": BUDGET_MS,
                            "ratio": round(BUDGET_MS / med, 2),
                            "note": f"server+transfer {mid['response']:.0f} ms, DOM ready "
                                    f"{mid['dom']:.0f} ms, load {mid['load']:.0f} ms"})
            ctx.close()
    finally:
        server.should_exit = True
        th.join(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)
    return out


def run() -> list[dict[str, Any]]:
    """Generate (once) a year for 100 wheels and time every page."""
    root, rows_n, gen_s = ensure_data()
    deps = _deps(root)
    out = [{"case": "generate a year, 100 wheels", "metric": "rows", "value": rows_n,
            "unit": "rows", "note": f"generated once in {gen_s:.0f} s into {root}"}]
    out += _server_rows(deps, rows_n)
    out += _browser_rows(deps)
    return out


if __name__ == "__main__":
    for row in run():
        print(row)
