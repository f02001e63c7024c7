"""End to end: ``wheel-cloud dashboard --demo-data`` driven by headless Chromium.

Signs in as a crew member, opens a wheel from an open alert, acknowledges the alert,
records an inspection label, and visits every page; screenshots go to
``test-artifacts/dashboard/`` with the browser's page load times (``timings.json``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cloud.dashboard.demo_site import USERS, write_site
from tests.fixtures.service_process import free_port

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture()
def dashboard(tmp_path: Path) -> Iterator[str]:
    """The real command on a demo site (10 days of generated data); yields its URL."""
    port = free_port()
    cfg, env = write_site(tmp_path, port)
    log = (tmp_path / "dashboard.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cloud.cli", "dashboard", "--config", str(cfg),
         "--demo-data", "10"],
        cwd=REPO, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("dashboard did not start:\n"
                            + (tmp_path / "dashboard.log").read_text(errors="replace"))
            time.sleep(0.3)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _load_ms(page: Any) -> float:
    nav = page.evaluate("() => performance.getEntriesByType('navigation')[0].toJSON()")
    return round(float(nav["loadEventEnd"] - nav["startTime"]), 1)


def _wait_plots(page: Any) -> None:
    page.wait_for_selector("body[data-plots-ready='1']")
    page.wait_for_selector(".js-plotly-plot .main-svg")


def test_crew_flow_in_chromium(dashboard: str, browser_page: Any,
                               artifacts_dir: Path) -> None:
    page = browser_page
    shots = artifacts_dir / "dashboard"
    shots.mkdir(exist_ok=True)
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: problems.append(f"console: {m.text}")
            if m.type == "error" else None)
    timings: dict[str, float] = {}

    page.goto(dashboard + "/")
    assert "/login" in page.url
    page.screenshot(path=str(shots / "01-login.png"))
    page.fill("input[name=username]", "carl")
    page.fill("input[name=password]", USERS["carl"][1])
    page.click("#login-form button[type=submit]")
    page.wait_for_url(dashboard + "/")
    _wait_plots(page)
    timings["fleet"] = _load_ms(page)
    assert page.inner_text("#who") == "carl (crew)"
    assert page.locator("a.tile").count() == 32
    assert page.locator("#plot-heatmap-T1 .main-svg").count() >= 1
    page.screenshot(path=str(shots / "02-fleet.png"), full_page=True)

    first = page.locator("table.alerts tbody tr").first
    alert_id = first.get_attribute("id").removeprefix("alert-")  # type: ignore[union-attr]
    wheel = first.locator("a.wheel-link").first.inner_text()
    first.locator("a.wheel-link").first.click()
    page.wait_for_url(f"**/wheels/{wheel}?alert={alert_id}")
    _wait_plots(page)
    timings["wheel"] = _load_ms(page)
    assert page.inner_text("#wheel-id") == wheel
    assert page.locator(f"#alert-{alert_id}.focus").count() == 1
    assert page.locator("#plot-score-runs .main-svg").count() >= 1
    img = page.locator("figure.scan img").first
    img.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
    page.screenshot(path=str(shots / "03-wheel-after-alert.png"), full_page=True)

    page.click(f"button.ack[data-alert='{alert_id}']")
    page.wait_for_url(f"**/wheels/{wheel}")
    assert "acknowledged by carl" in page.inner_text(f"#alert-{alert_id}")
    page.screenshot(path=str(shots / "04-acknowledged.png"), full_page=True)

    page.check("#label-form input[value=bad]")
    page.fill("#label-form input[name=note]", "chunk confirmed at inspection")
    page.click("#label-form button[type=submit]")
    page.wait_for_url(f"**/wheels/{wheel}#labels")
    labels = page.inner_text("ul.labels")
    assert "bad" in labels and "chunk confirmed at inspection" in labels and "carl" in labels
    page.locator("#labels").screenshot(path=str(shots / "05-label-recorded.png"))

    page.goto(dashboard + "/data-health")
    timings["data-health"] = _load_ms(page)
    assert page.inner_text("#backlog") == "2"
    assert page.locator(f"#alert-{alert_id}").count() == 0  # no longer open
    page.screenshot(path=str(shots / "06-data-health.png"), full_page=True)

    (shots / "timings.json").write_text(json.dumps(timings, indent=1))
    assert not problems, problems
    assert all(ms > 0 for ms in timings.values()), timings  # recorded; speed is in make bench
