"""Sign-in, roles, CSRF, acknowledge, labels, and hostile ids in URLs."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from cloud.dashboard.app import safe_next
from tests.cloud.dashboard.conftest import Site, sign_in


def test_wrong_password_and_missing_form_token_are_refused(client: TestClient) -> None:
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    bad = client.post("/login", data={"username": "carl", "password": "nope", "csrf": token})
    assert bad.status_code == 401 and "Wrong user name or password" in bad.text
    token = re.search(r'name="csrf" value="([^"]+)"', bad.text).group(1)  # type: ignore[union-attr]
    nobody = client.post("/login", data={"username": "zed", "password": "x", "csrf": token})
    assert nobody.status_code == 401
    client.cookies.clear()
    no_nonce = client.post("/login", data={"username": "carl", "password": "crew-pass-12",
                                           "csrf": "forged"})
    assert no_nonce.status_code == 400
    assert client.get("/").status_code == 303


def test_forged_session_cookie_is_ignored(client: TestClient) -> None:
    client.cookies.set("ww_session", "eyJ1IjoiY2FybCIsImMiOiJ4In0.forged.sig")
    assert client.get("/").status_code == 303
    assert client.get("/api/fleet").status_code == 401


def test_next_parameter_never_leaves_the_site() -> None:
    assert safe_next("//evil.example/x") == "/"
    assert safe_next("https://evil.example") == "/"
    assert safe_next("/\\evil") == "/"
    assert safe_next("/wheels/T1-L01-00?page=2") == "/wheels/T1-L01-00?page=2"


def test_crew_acknowledges_an_alert(client: TestClient, site: Site) -> None:
    csrf = sign_in(client, "carl")
    alert = site.store.alerts(open_only=True, wheel_id=None, limit=1)[0]
    page = client.get(f"/wheels/{alert.wheel_ids[0]}")
    assert f'data-alert="{alert.alert_id}"' in page.text
    no_token = client.post(f"/alerts/{alert.alert_id}/ack", data={"next": "/"})
    assert no_token.status_code == 403
    assert site.store.alert(alert.alert_id).acknowledged_at is None  # type: ignore[union-attr]
    r = client.post(f"/alerts/{alert.alert_id}/ack", data={"csrf": csrf, "next": "/"})
    assert r.status_code == 303 and r.headers["location"] == "/"
    done = site.store.alert(alert.alert_id)
    assert done is not None and done.acknowledged_by == "carl" and done.status == "acked"
    again = client.post(f"/alerts/{alert.alert_id}/ack", data={"csrf": csrf})
    assert again.status_code == 404
    assert f'id="alert-{alert.alert_id}"' not in client.get("/data-health").text


def test_viewer_may_not_act(client: TestClient, site: Site) -> None:
    csrf = sign_in(client, "vera")
    alert = site.store.alerts(open_only=True, wheel_id=None, limit=1)[0]
    r = client.post(f"/alerts/{alert.alert_id}/ack", data={"csrf": csrf})
    assert r.status_code == 403
    lab = client.post(f"/wheels/{alert.wheel_ids[0]}/labels",
                      data={"csrf": csrf, "label": "bad"})
    assert lab.status_code == 403
    api = client.post(f"/api/alerts/{alert.alert_id}/ack", headers={"X-CSRF-Token": csrf})
    assert api.status_code == 403
    assert site.store.alert(alert.alert_id).acknowledged_at is None  # type: ignore[union-attr]


def test_crew_records_labels_by_form_and_api(client: TestClient, site: Site) -> None:
    csrf = sign_in(client, "carl")
    wheel = site.store.fleet()[0]
    scans, _ = site.store.scans(wheel.wheel_id, 0, 1)
    r = client.post(f"/wheels/{wheel.wheel_id}/labels",
                    data={"csrf": csrf, "label": "bad", "note": "crack <b>x</b>",
                          "file_id": scans[0].file_id})
    assert r.status_code == 303
    labels = site.store.labels(wheel.wheel_id, 5)
    assert (labels[0].label, labels[0].created_by, labels[0].file_id) == (
        "bad", "carl", scans[0].file_id)
    page = client.get(f"/wheels/{wheel.wheel_id}").text
    assert "crack &lt;b&gt;x&lt;/b&gt;" in page and "crack <b>x</b>" not in page
    assert client.post(f"/wheels/{wheel.wheel_id}/labels",
                       data={"csrf": csrf, "label": "maybe"}).status_code == 422
    assert client.post(f"/wheels/{wheel.wheel_id}/labels",
                       data={"csrf": csrf, "label": "good", "note": "x" * 501}).status_code == 422
    api = client.post(f"/api/wheels/{wheel.wheel_id}/labels", json={"label": "good"},
                      headers={"X-CSRF-Token": csrf})
    assert api.status_code == 200 and api.json()["label"] == "good"
    assert client.post(f"/api/wheels/{wheel.wheel_id}/labels", json={"label": "good"}
                       ).status_code == 403
    assert len(site.store.labels(wheel.wheel_id, 10)) == 2 + (wheel.wheel_id == "T1-L01")


@pytest.mark.parametrize("path", [
    "/wheels/T1-L01'%20OR%20'1'='1",
    "/wheels/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "/wheels/..%2F..%2Fetc%2Fpasswd",
    "/wheels/" + "A" * 200,
    "/wheels/NO-SUCH-WHEEL",
    "/scans/..%2F..%2Fetc/heatmap.png",
    "/scans/Cam_01..x/heatmap.png",
    "/scans/x;rm/heatmap.png",
    "/scans/Cam_01-R0000001-01/passwd.png",
    "/alerts/A'--",
    "/api/wheels/x%27%3B%20DROP%20TABLE%20labels--",
    "/api/wheels/%00/scans",
])
def test_injected_ids_are_404_and_not_reflected(client: TestClient, site: Site,
                                                path: str) -> None:
    sign_in(client, "carl")
    r = client.get(path)
    assert r.status_code == 404
    assert "<script>" not in r.text and "DROP TABLE" not in r.text
    assert len(site.store.fleet()) > 0  # the tables are all still there


def test_injected_ids_in_posts_are_404(client: TestClient, site: Site) -> None:
    csrf = sign_in(client, "carl")
    assert client.post("/alerts/x'%20OR%201=1--/ack", data={"csrf": csrf}).status_code == 404
    assert client.post("/wheels/a%22%3E/labels",
                       data={"csrf": csrf, "label": "bad"}).status_code == 404
    assert all(a.acknowledged_at is None
               for a in site.store.alerts(open_only=True, wheel_id=None, limit=100))


def test_json_api(client: TestClient, site: Site) -> None:
    sign_in(client, "vera")
    fleet = client.get("/api/fleet").json()["wheels"]
    assert len(fleet) == len(site.store.fleet())
    w = fleet[0]["wheel_id"]
    one = client.get(f"/api/wheels/{w}").json()
    assert one["wheel"]["wheel_id"] == w and len(one["runs"]) == 100
    scans = client.get(f"/api/wheels/{w}/scans?offset=5&limit=3").json()
    assert len(scans["scans"]) == 3 and scans["total"] == site.store.scans(w, 0, 1)[1]
    assert client.get("/api/data-health").json()["backlog"] == 2
    assert client.get("/api/alerts").json()["alerts"]


def test_repeated_failed_sign_ins_are_throttled(client: TestClient) -> None:
    def attempt(password: str) -> int:
        form = client.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        return client.post("/login", data={"username": "carl", "password": password,
                                           "csrf": token}).status_code

    assert [attempt("guess") for _ in range(5)] == [401] * 5
    assert attempt("crew-pass-12") == 429  # even the right password, for a while


def test_sign_out_needs_the_session_token(client: TestClient) -> None:
    csrf = sign_in(client, "vera")
    assert client.post("/logout", data={"csrf": "forged"}).status_code == 403
    assert client.get("/").status_code == 200
    assert client.post("/logout", data={"csrf": csrf}).status_code == 303
    assert client.get("/").status_code == 303


class RecordingQueries:
    """Wraps the store and records every query method called (a spy)."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> object:
        attr = getattr(self.inner, name)
        if callable(attr):
            def wrapped(*a: object, **k: object) -> object:
                self.calls.append(name)
                return attr(*a, **k)
            return wrapped
        return attr


def test_invalid_ids_never_reach_a_query(client: TestClient, site: Site) -> None:
    sign_in(client, "carl")
    spy = RecordingQueries(site.store)
    deps = client.app.state.deps  # type: ignore[attr-defined]
    deps.queries = deps.actions = spy
    for path in ("/wheels/a'b", "/wheels/%3Cx%3E", "/api/wheels/..%2Fx", "/alerts/a%20b",
                 "/scans/x'y/heatmap.png"):
        assert client.get(path).status_code == 404
    assert spy.calls == []
    assert client.get("/wheels/NO-SUCH").status_code == 404 and spy.calls == ["wheel"]
