"""The SMS provider is down (connection refused) while a pass has a missing wheel: the
real ``wheel-cloud run`` retries the SMS, falls back to email, and the alert is sent —
not lost."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable

import pytest
from sqlalchemy import select

from cloud.alerts.tables import DeliveryRow
from tests.faults.harness import FaultSite, wait_for


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when we return: connection refused


@pytest.mark.parametrize("passes", [pytest.param(1, id="short"),
                                    pytest.param(3, id="long", marks=pytest.mark.slow)])
def test_sms_provider_down_falls_back_to_email(make_site: Callable[..., FaultSite],
                                               passes: int) -> None:
    site = make_site(env={
        "WHEELWATCH__ALERTS__SMS_BACKEND": "twilio",
        "WHEELWATCH__ALERTS__TWILIO__BASE_URL": f"http://127.0.0.1:{_closed_port()}",
        "WHEELWATCH__ALERTS__TWILIO__TIMEOUT_S": "2",
        "WHEELWATCH__ALERTS__DELIVERY__MAX_ATTEMPTS": "2",
        "WHEELWATCH__CLOUD__MONITOR__FILE_TIMEOUT_S": "2",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "not-a-secret"})
    for n in range(passes):
        site.play(("T1", "T2")[n % 2], drop=["T1-L02", "T2-L02"])
    site.provision()
    site.start("cloud")
    site.start("edge")
    total = len(site.expected())
    assert wait_for(lambda: site.written() >= total, 180), site.states()
    assert wait_for(lambda: site.alerts().get("sent", 0) >= 1
                    and not site.alerts().get("pending", 0), 120), site.alerts()
    site.stop_all()
    with site.sessions()() as s:
        rows = s.scalars(select(DeliveryRow)).all()
    sms = [r for r in rows if r.channel == "sms"]
    email = [r for r in rows if r.channel == "email"]
    assert sms and not any(r.ok for r in sms), "the SMS provider is down"
    assert all(r.error for r in sms)
    assert any(r.ok for r in email), "fell back to email"
    outbox = site.cfg().path(site.cfg().alerts.outbox_path)
    mails = [json.loads(x) for x in outbox.read_text().splitlines() if x.strip()]
    assert any(m.get("channel") == "email" for m in mails), mails[:2]
    fig = site.figures(f"sms-down-{passes}p", sms_attempts_failed=len(sms),
                       emails_ok=sum(r.ok for r in email), sms_error=sms[0].error[:120],
                       alerts=dict(site.alerts()))
    fig.report()
    assert (fig.lost, fig.duplicates) == (0, 0)
    assert fig.alerts_sent >= 1 and site.alerts().get("failed", 0) == 0
