"""The alerts config section: the documented example loads; mistakes name the key."""

from __future__ import annotations

import tomllib

import pytest
from pydantic import ValidationError

from schemas.config import alerts as alerts_cfg
from schemas.config.alerts import AlertsConfig


def test_documented_example_validates() -> None:
    doc = (alerts_cfg.__doc__ or "").split("Example::")[1]
    text = "\n".join(line[4:] for line in doc.splitlines())
    cfg = AlertsConfig.model_validate(tomllib.loads(text)["alerts"])
    assert cfg.sms_backend == "twilio"
    assert [r.level for r in cfg.recipients] == [1, 2]
    assert cfg.twilio.account_sid_env == "TWILIO_ACCOUNT_SID"


@pytest.mark.parametrize("data, needle", [
    ({"recipients": [{"name": "a", "channels": ["sms"]}]}, "uses sms but has no phone"),
    ({"recipients": [{"name": "a", "channels": ["email"]}]}, "uses email but has no email"),
    ({"recipients": [{"name": "a"}, {"name": "a"}]}, "recipient names must be unique"),
    ({"severity": {"stop_below": 60, "inspect_below": 50}}, "stop_below <= "),
    ({"recipients": [{"name": "a", "phone": "0170 123"}]}, "phone"),
    ({"recipients": [{"name": "a", "channels": ["pager"]}]}, "channels"),
    ({"sms_backend": "nexmo"}, "sms_backend"),
    ({"twilio": {"auth_token": "secret"}}, "auth_token"),  # secrets are not config keys
])
def test_invalid_alerts_config_is_rejected(data: dict[str, object], needle: str) -> None:
    with pytest.raises(ValidationError) as err:
        AlertsConfig.model_validate(data)
    assert needle in str(err.value)
