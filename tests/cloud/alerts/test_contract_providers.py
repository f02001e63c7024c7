"""The real Twilio / SendGrid SDKs against the providers' published contracts (Prism),
and against a scripted provider answering 429, then 500, then success.

Includes the issue's "done when": a pass with two bad wheels and one missing file gives
exactly one grouped SMS and one email per recipient that pass the contracts, then nothing
until the repeat interval, then an escalation when nobody acknowledges.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image as PILImage

from cloud.alerts.bootstrap import build_sendgrid_client, build_service, build_twilio_client
from cloud.alerts.channels.sendgrid_email import SendGridEmail
from cloud.alerts.channels.twilio_sms import TwilioSms
from cloud.alerts.gsm7 import is_gsm7, septets
from cloud.alerts.model import Image, Rendered
from cloud.alerts.service import AlertService
from cloud.alerts.store import AlertStore
from cloud.domain_events import WheelScored
from schemas.config.alerts import RecipientConfig, SendGridConfig, TwilioConfig
from schemas.errors import NotifierError
from tests.cloud.alerts.conftest import make_cfg
from tests.cloud.alerts.flaky_provider import flaky_provider
from tests.cloud.alerts.helpers import ManualClock, Sleeps, a_pass
from tests.fixtures.prism import PrismMock, free_port

pytestmark = pytest.mark.integration

ENV = {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "test-token",
       "SENDGRID_API_KEY": "SG.test-key"}
ANN = RecipientConfig(name="ann", phone="+15551230001", email="ann@example.com",
                      channels=["sms", "email"])


def _png(color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    PILImage.new("RGB", (64, 32), color).save(buf, format="PNG")
    return buf.getvalue()


def _message() -> Rendered:
    return Rendered(alert_id="K7Q2MX", sms="STOP Thunder T2: T2-L03 L3 28 crack 14:02Z ack K7Q2MX",
                    subject="[WheelWatch STOP] Thunder train T2: 1 bad wheel", text="table",
                    html="<p>table</p>", images=(Image("heatmap-1", "h.png", _png((255, 0, 0))),))


def _sms(url: str, env: dict[str, str] = ENV) -> TwilioSms:
    return TwilioSms(build_twilio_client(TwilioConfig(base_url=url, timeout_s=5), env),
                     "+15005550006")


def _email(url: str, from_email: str = "wheelwatch@example.com") -> SendGridEmail:
    return SendGridEmail(build_sendgrid_client(SendGridConfig(base_url=url), ENV, timeout_s=5),
                         from_email, "WheelWatch")


def _validated(log: str) -> tuple[int, int]:
    return (log.count("The request passed the validation rules"),
            log.count("Request did not pass the validation rules"))


# --- adapters vs contracts -------------------------------------------------------------
def test_twilio_sms_passes_the_contract(prism_twilio: PrismMock) -> None:
    mark = len(prism_twilio.log_text())
    sid = _sms(prism_twilio.url).send(ANN, _message())
    assert sid.startswith("SM")
    assert _validated(prism_twilio.log_text()[mark:]) == (1, 0)


def test_twilio_mock_rejects_a_broken_request_with_422(prism_twilio: PrismMock) -> None:
    bad_env = {**ENV, "TWILIO_ACCOUNT_SID": "not-an-account-sid"}
    with pytest.raises(NotifierError) as err:
        _sms(prism_twilio.url, bad_env).send(ANN, _message())
    assert "HTTP 422" in str(err.value)
    assert err.value.retryable is False


def test_sendgrid_email_with_inline_heatmap_passes_the_contract(
    prism_sendgrid: PrismMock
) -> None:
    mark = len(prism_sendgrid.log_text())
    assert _email(prism_sendgrid.url).send(ANN, _message()) == "http-202"
    assert _validated(prism_sendgrid.log_text()[mark:]) == (1, 0)


def test_sendgrid_mock_rejects_a_broken_request(prism_sendgrid: PrismMock) -> None:
    with pytest.raises(NotifierError) as err:
        _email(prism_sendgrid.url, from_email="not-an-email").send(ANN, _message())
    assert "HTTP 400" in str(err.value) or "HTTP 422" in str(err.value)
    assert err.value.retryable is False
    assert "Violation: request.body" in prism_sendgrid.log_text()


def test_unreachable_provider_is_a_retryable_error() -> None:
    with pytest.raises(NotifierError) as err:
        _sms(f"http://127.0.0.1:{free_port()}").send(ANN, _message())
    assert err.value.retryable is True
    with pytest.raises(NotifierError) as err:
        _email(f"http://127.0.0.1:{free_port()}").send(ANN, _message())
    assert err.value.retryable is True


# --- retries and fallback with a scripted provider --------------------------------------
def _service(store: AlertStore, clock: ManualClock, sleeps: Sleeps, tmp_path: Path,
             sms_url: str, email_url: str, **over: Any) -> AlertService:
    cfg = make_cfg(sms_backend="twilio", email_backend="sendgrid",
                   twilio={"base_url": sms_url, "timeout_s": 5},
                   sendgrid={"base_url": email_url}, **over)
    heat = {"T2-L03": _png((200, 30, 30)), "T2-R05": None}
    uri = tmp_path / "heatmap_R05.png"
    uri.write_bytes(_png((30, 30, 200)))

    def heatmap(ev: WheelScored) -> bytes | str | None:
        return heat[ev.wheel_id] or uri.as_uri()

    return build_service(cfg, store, outbox_path=tmp_path / "outbox.jsonl", ride="Thunder",
                         clock=clock, sleep=sleeps, environ=ENV, heatmap=heatmap)


@pytest.mark.parametrize("channel, delays", [
    ("sms", [1.0, 2.0]),  # the twilio SDK does not expose Retry-After: our backoff
    ("email", [7.0, 2.0]),  # SendGrid's Retry-After: 7 is honoured on the 429
])
def test_429_then_500_then_success_is_retried_with_backoff(
    channel: str, delays: list[float], store: AlertStore, clock: ManualClock, tmp_path: Path
) -> None:
    sleeps = Sleeps()
    with flaky_provider([429, 500], retry_after="7") as (url, script):
        svc = _service(store, clock, sleeps, tmp_path, url, url, recipients=[
            {"name": "ann", "phone": "+15551230001", "email": "ann@example.com",
             "channels": [channel]}])
        for ev in a_pass():
            svc.handle(ev)
    rows = [(d.attempt, d.ok, d.retryable) for d in store.deliveries()]
    assert rows == [(1, False, True), (2, False, True), (3, True, None)]
    errors = [d.error or "" for d in store.deliveries()]
    assert "429" in errors[0] and "500" in errors[1]
    provider_id = store.deliveries()[-1].provider_id or ""
    assert provider_id.startswith("SM" if channel == "sms" else "flaky-")
    assert sleeps.delays == delays
    assert len(script.requests) == 3
    assert store.alerts("undeliverable") == []


def test_sms_provider_down_falls_back_to_email_that_passes_the_contract(
    prism_sendgrid: PrismMock, store: AlertStore, clock: ManualClock, tmp_path: Path
) -> None:
    with flaky_provider([], then=500) as (url, _script):
        svc = _service(store, clock, Sleeps(), tmp_path, url, prism_sendgrid.url, recipients=[
            {"name": "ann", "phone": "+15551230001", "email": "ann@example.com",
             "channels": ["sms"]}])
        for ev in a_pass():
            svc.handle(ev)
    rows = [(d.channel, d.ok) for d in store.deliveries()]
    assert rows == [("sms", False)] * 4 + [("email", True)]
    assert store.alerts("pass")[0].dispatch == "sent"
    assert store.alerts("undeliverable") == []


# --- the "done when" ---------------------------------------------------------------
def test_done_when_one_grouped_sms_and_email_per_recipient_then_quiet_then_escalation(
    prism_twilio: PrismMock, prism_sendgrid: PrismMock, store: AlertStore,
    clock: ManualClock, tmp_path: Path,
) -> None:
    svc = _service(store, clock, Sleeps(), tmp_path, prism_twilio.url, prism_sendgrid.url,
                   repeat_interval_s=3600, escalate_after_s=3600)
    tw0, sg0 = len(prism_twilio.log_text()), len(prism_sendgrid.log_text())

    for ev in a_pass("run-17"):  # 2 bad wheels (L03 crack 28, R05 flat 61) + R07 missing
        svc.handle(ev)
    sent = sorted((d.recipient, d.channel) for d in store.deliveries() if d.ok)
    assert sent == [("ann", "email"), ("ann", "sms"), ("bob", "email"), ("bob", "sms")]
    assert all(d.attempt == 1 and d.provider_id for d in store.deliveries())
    assert all((d.provider_id or "").startswith("SM") for d in store.deliveries()
               if d.channel == "sms")
    [alert] = store.alerts()
    assert is_gsm7(alert.sms_text) and septets(alert.sms_text) <= 160
    for text in ("T2-L03", "T2-R05", "T2-R07", "NO FILE", f"ack {alert.id}"):
        assert text in alert.sms_text
    assert alert.body_html.count('src="cid:heatmap-') == 2  # bytes + blob URI heatmaps
    assert _validated(prism_twilio.log_text()[tw0:]) == (2, 0)
    assert _validated(prism_sendgrid.log_text()[sg0:]) == (2, 0)

    # nothing more until the repeat interval: redelivery, another pass, ticks
    for ev in a_pass("run-17"):
        svc.handle(ev)
    clock.advance(minutes=20)
    for ev in a_pass("run-18", at=clock.now):
        svc.handle(ev)
    clock.advance(minutes=39, seconds=59)
    svc.tick()
    assert len(store.deliveries()) == 4

    # then an escalation, since nobody acknowledged
    clock.advance(seconds=1)
    svc.tick()
    esc = [(d.recipient, d.channel, d.purpose, d.ok) for d in store.deliveries()[4:]]
    assert sorted(esc) == [("chief", "email", "escalation", True),
                           ("chief", "sms", "escalation", True)]
    assert _validated(prism_twilio.log_text()[tw0:]) == (3, 0)
    assert _validated(prism_sendgrid.log_text()[sg0:]) == (3, 0)
