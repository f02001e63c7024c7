"""Wire the alerting service from the site config: provider clients, channels, store.

Provider SDK clients are built here (never at import time) from the environment
variables the config names. ``base_url`` settings point them at contract mocks.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cloud.alerts.channels.outbox import OutboxChannel
from cloud.alerts.channels.ports import Channel
from cloud.alerts.channels.sendgrid_email import SendGridEmail
from cloud.alerts.channels.twilio_sms import TwilioSms
from cloud.alerts.delivery import Deliverer
from cloud.alerts.dispatch import BlobFetcher, Dispatcher, fetch_local
from cloud.alerts.rules import HeatmapLookup, RuleContext, WheelLocator
from cloud.alerts.service import AlertService
from cloud.alerts.store import AlertStore
from cloud.domain_events import WheelScored
from schemas.config.alerts import AlertsConfig, SendGridConfig, TwilioConfig
from schemas.errors import ConfigError

if TYPE_CHECKING:
    from schemas.config.site import SiteConfig

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


def _secret(environ: Mapping[str, str], var: str, key: str) -> str:
    value = environ.get(var, "")
    if not value:
        raise ConfigError(key, f"environment variable {var} is not set")
    return value


def build_twilio_client(cfg: TwilioConfig, environ: Mapping[str, str] | None = None) -> Any:
    """A ``twilio.rest.Client`` from the env vars the config names (and its base URL)."""
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    env = os.environ if environ is None else environ
    sid = _secret(env, cfg.account_sid_env, "alerts.twilio.account_sid_env")
    token = _secret(env, cfg.auth_token_env, "alerts.twilio.auth_token_env")
    client = Client(sid, token, http_client=TwilioHttpClient(timeout=cfg.timeout_s))
    if cfg.base_url:
        client.api.base_url = cfg.base_url.rstrip("/")
    return client


def build_sendgrid_client(cfg: SendGridConfig, environ: Mapping[str, str] | None = None,
                          timeout_s: float = 10.0) -> Any:
    """A ``sendgrid.SendGridAPIClient`` from the env var the config names."""
    from sendgrid import SendGridAPIClient

    env = os.environ if environ is None else environ
    key = _secret(env, cfg.api_key_env, "alerts.sendgrid.api_key_env")
    kwargs: dict[str, Any] = {"api_key": key}
    if cfg.base_url:
        kwargs["host"] = cfg.base_url.rstrip("/")
    client = SendGridAPIClient(**kwargs)
    client.client.timeout = timeout_s
    return client


def build_channels(cfg: AlertsConfig, outbox_path: Path, clock: Clock,
                   environ: Mapping[str, str] | None = None) -> dict[str, Channel]:
    """``sms``, ``email`` and ``outbox`` channels as the config chooses them."""
    channels: dict[str, Channel] = {"outbox": OutboxChannel(outbox_path, "outbox", clock)}
    if cfg.sms_backend == "twilio":
        channels["sms"] = TwilioSms(build_twilio_client(cfg.twilio, environ),
                                    cfg.twilio.from_number)
    else:
        channels["sms"] = OutboxChannel(outbox_path, "sms", clock)
    if cfg.email_backend == "sendgrid":
        channels["email"] = SendGridEmail(build_sendgrid_client(cfg.sendgrid, environ),
                                          cfg.sendgrid.from_email, cfg.sendgrid.from_name)
    else:
        channels["email"] = OutboxChannel(outbox_path, "email", clock)
    return channels


def wheel_locator(site: SiteConfig) -> WheelLocator:
    """(train, camera, wheel) -> (side, position) from the site's wheel map."""
    def locate(train_id: str, camera: str, wheel_id: str) -> tuple[str, int] | None:
        train = site.trains.get(train_id)
        if train is None or wheel_id not in train.wheels.get(camera, []):
            return None
        try:
            side = site.camera(camera).side
        except KeyError:
            return None
        return side, train.wheels[camera].index(wheel_id) + 1
    return locate


def build_service(
    cfg: AlertsConfig,
    store: AlertStore,
    *,
    outbox_path: Path,
    ride: str = "ride",
    clock: Clock = utc_now,
    sleep: Callable[[float], None] = time.sleep,
    channels: Mapping[str, Channel] | None = None,
    locate: WheelLocator | None = None,
    heatmap: HeatmapLookup | None = None,
    fetch_blob: BlobFetcher = fetch_local,
    environ: Mapping[str, str] | None = None,
    dashboard_url: str = "http://127.0.0.1:8080",
) -> AlertService:
    """The alerting service; ``channels`` overrides the config's (tests, fakes)."""
    chans = dict(channels) if channels is not None else build_channels(
        cfg, outbox_path, clock, environ)
    deliverer = Deliverer(chans, cfg.delivery, store, clock, sleep)
    dispatcher = Dispatcher(cfg, store, deliverer, ride, fetch_blob, dashboard_url)
    ctx = RuleContext(cfg, locate=locate, heatmap=heatmap)
    return AlertService(ctx, store, dispatcher, clock)


def images_dir_heatmaps(images_dir: Path) -> HeatmapLookup:
    """Heatmaps rendered as ``<images_dir>/<file_id>/heatmap.png`` (the dashboard's layout)."""
    def lookup(ev: WheelScored) -> str | None:
        path = images_dir / ev.file_id / "heatmap.png"
        return path.resolve().as_uri() if "/" not in ev.file_id and path.is_file() else None
    return lookup


class BlobStoreLike(Protocol):
    """The two methods of ``cloud.ports.BlobStore`` a heatmap fetch needs."""

    def get(self, key: str) -> bytes:
        """Object bytes."""
        ...

    def uri(self, key: str) -> str:
        """URI of an object."""
        ...


def blob_fetcher(make_store: Callable[[], BlobStoreLike]) -> BlobFetcher:
    """Fetch ``file://`` URIs directly and the blob store's own URIs (``gs://...``) through
    it; the store is built on first use only."""
    made: list[BlobStoreLike] = []

    def fetch(uri: str) -> bytes:
        if uri.startswith("file:") or "://" not in uri:
            return fetch_local(uri)
        if not made:
            made.append(make_store())
        prefix = made[0].uri("k")[:-1]
        if not uri.startswith(prefix):
            raise ValueError(f"{uri} is not in the blob store ({prefix}...)")
        return made[0].get(uri[len(prefix):])
    return fetch


def build_from_site(site: SiteConfig, *, clock: Clock = utc_now,
                    heatmap: HeatmapLookup | None = None,
                    fetch_blob: BlobFetcher | None = None,
                    ticker: bool = True) -> AlertService:
    """The alerting service of a site: SQL store of ``cloud.sql_url``, paths via base_dir.

    Heatmaps default to the PNGs under ``dashboard.images_dir``; links to
    ``dashboard.base_url`` unless ``alerts.dashboard_url`` is set. With ``ticker`` a
    daemon thread runs ``tick()`` every ``alerts.tick_s`` (grace flush, escalation).
    """
    store = AlertStore.from_url(site.cloud.sql_url, site.base_dir)
    store.create_schema()
    heatmap = heatmap or images_dir_heatmaps(site.path(site.dashboard.images_dir))
    if fetch_blob is None:
        from cloud.bootstrap import build_blobs

        fetch_blob = blob_fetcher(lambda: build_blobs(site))
    service = build_service(site.alerts, store, outbox_path=site.path(site.alerts.outbox_path),
                            ride=site.ride, clock=clock, locate=wheel_locator(site),
                            heatmap=heatmap, fetch_blob=fetch_blob,
                            dashboard_url=site.dashboard.base_url)
    if ticker and site.alerts.enabled:
        service.start_ticker(site.alerts.tick_s)
    return service
