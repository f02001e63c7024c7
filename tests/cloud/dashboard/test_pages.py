"""Server tests of the dashboard pages over a generated site (real embedded adapters)."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

from tests.cloud.dashboard.conftest import SECRET, SPEC, Site, sign_in


def _figs(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="figs">(.*?)</script>', html, re.S)
    assert m, "page has no figures"
    return json.loads(m.group(1))


def test_pages_need_sign_in(client: TestClient) -> None:
    for path in ("/", "/wheels/T1-L01-00", "/data-health", "/scans/x/heatmap.png"):
        r = client.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert client.get("/api/fleet").status_code == 401
    assert client.get("/healthz").json() == {"ok": True}


def test_fleet_page_shows_every_wheel_heatmaps_and_daily_counts(
        client: TestClient, site: Site) -> None:
    sign_in(client, "vera")
    r = client.get("/")
    assert r.status_code == 200
    fleet = site.store.fleet()
    assert len(fleet) == SPEC.wheels
    for tile in fleet:
        assert f'href="/wheels/{tile.wheel_id}"' in r.text
    under = sum(t.score < 70 for t in fleet)
    assert f'<span id="n-under">{under}</span>' in r.text
    figs = _figs(r.text)
    assert sorted(k for k in figs if k.startswith("heatmap-")) == ["heatmap-T1", "heatmap-T2"]
    hm = figs["heatmap-T1"]["data"][0]
    assert len(hm["y"]) == SPEC.wheels // SPEC.trains and len(hm["x"]) == 60
    days = figs["under"]["data"][0]
    assert len(days["x"]) >= SPEC.days - 1 and max(days["y"]) >= 1
    assert 'src="/static/plotly.min.js"' in r.text and "cdn" not in r.text.lower()


def test_wheel_page_trends_scans_images_alerts(client: TestClient, site: Site) -> None:
    sign_in(client, "vera")
    alert = site.store.alerts(open_only=True, wheel_id=None, limit=1)[0]
    wheel = alert.wheel_ids[0]
    r = client.get(f"/wheels/{wheel}?alert={alert.alert_id}")
    assert r.status_code == 200
    assert f'id="alert-{alert.alert_id}"' in r.text and "focus" in r.text
    figs = _figs(r.text)
    score = figs["score-runs"]["data"][0]
    assert len(score["y"]) == len(site.store.wheel_runs(wheel, 500))
    assert figs["score-runs"]["layout"]["shapes"][0]["y0"] == 70  # the threshold line
    assert {"score-days", "heights", "intensity"} <= set(figs)
    scans, total = site.store.scans(wheel, 0, 12)
    assert f"{total} in all" in r.text
    with_images = [s for s in scans if (site.images / s.file_id / "heatmap.png").exists()]
    assert 0 < len(with_images) < len(scans)
    for s in scans:
        assert (f'src="/scans/{s.file_id}/heatmap.png"' in r.text) == (s in with_images)
    assert r.text.count("No images stored for this scan.") == len(scans) - len(with_images)
    img = client.get(f"/scans/{scans[0].file_id}/range.png")
    assert img.status_code == 200 and img.content.startswith(b"\x89PNG")
    older = client.get(f"/wheels/{wheel}?page=2")
    assert older.status_code == 200 and scans[0].file_id not in older.text.split("Scans")[1]
    # viewers get no label form and no acknowledge button
    assert 'id="label-form"' not in r.text and 'class="ack"' not in r.text


def test_replacements_are_marked_on_the_position(client: TestClient, site: Site) -> None:
    sign_in(client, "vera")
    replaced = next(t for t in site.store.fleet() if site.store.replacements(t.wheel_id))
    events = site.store.replacements(replaced.wheel_id)
    r = client.get(f"/wheels/{replaced.wheel_id}")
    assert f"{events[-1].replaced} → " in r.text
    shapes = _figs(r.text)["score-days"]["layout"]["shapes"]
    assert len(shapes) == 1 + sum(1 for e in events if e.at.date() >= site.store.wheel_days(
        replaced.wheel_id, 400)[0].day)


def test_data_health_page(client: TestClient, site: Site) -> None:
    sign_in(client, "vera")
    r = client.get("/data-health")
    assert r.status_code == 200
    assert '<td id="backlog">2</td>' in r.text and '<td id="dead-letters">2</td>' in r.text
    assert "Cam_01" in r.text and "Cam_02" in r.text and "edge-testsite" in r.text
    health = site.store.data_health(20)
    assert health.passes[0].missing == 1 and health.passes[0].expected == SPEC.wheels // 2
    assert health.passes[0].received == health.passes[0].expected
    for a in site.store.alerts(open_only=True, wheel_id=None, limit=100):
        assert f'id="alert-{a.alert_id}"' in r.text


def test_alert_link_opens_its_wheel(client: TestClient, site: Site) -> None:
    sign_in(client, "vera")
    alert = site.store.alerts(open_only=True, wheel_id=None, limit=1)[0]
    r = client.get(f"/alerts/{alert.alert_id}")
    assert r.status_code == 303
    assert r.headers["location"] == f"/wheels/{alert.wheel_ids[0]}?alert={alert.alert_id}"
    assert client.get("/alerts/NOSUCH").status_code == 404


def test_no_secrets_in_pages(client: TestClient, hashes: dict[str, str]) -> None:
    sign_in(client, "carl")
    for path in ("/", "/data-health", "/api/fleet", "/api/data-health"):
        body = client.get(path).text
        assert SECRET not in body
        assert all(h not in body and h.split("$")[-1] not in body for h in hashes.values())
        assert "crew-pass-12" not in body


def test_security_headers_and_local_plotly(client: TestClient) -> None:
    r = client.get("/static/plotly.min.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    assert len(r.content) > 1_000_000 and r.headers["content-encoding"] == "gzip"
    assert r.content.startswith(b"/**") or b"plotly" in r.content[:2000].lower()
    page = client.get("/login")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"


def test_tile_colours_follow_the_alerting_severity_bands() -> None:
    from cloud.dashboard.charts import severity
    from schemas.config.alerts import SeverityConfig

    bands = SeverityConfig(stop_below=30, inspect_below=50)
    assert severity(95, "none", 70, bands) == "ok"
    assert severity(75, "none", 70, bands) == "near"
    assert severity(65, "other", 70, bands) == "watch"
    assert severity(65, "crack", 70, bands) == "inspect"  # the defect's floor
    assert severity(45, "none", 70, bands) == "inspect"
    assert severity(20, "none", 70, bands) == "stop"
