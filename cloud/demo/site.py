"""Build the demo site: ``site.toml``, camera folders, RFID folder, state folders.

The config written here is a complete, annotated site config (the README quotes it): a
real site changes the folders, the calibration and the wheel map, and switches each
backend to its Google Cloud service in the sections marked ``backend``.
"""

from __future__ import annotations

import json
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cloud.demo.plan import CAMERAS, DemoPlan, train_tag
from schemas.config import SiteConfig, load_config
from schemas.errors import ConfigError

MARKER = ".wheelwatch-demo"
SITE_ID = "demo-park"


@dataclass(frozen=True)
class Backends:
    """Which adapter each role uses (defaults: embedded, one machine, no account)."""

    name: str = "embedded"
    transport: str = "local"  # local | pubsub
    project: str = "wheelwatch-local"
    blob: str = "local"  # local | gcs
    bucket: str = "wheelwatch-demo-scans"
    sql_url: str = "sqlite:///state/wheelwatch.sqlite"
    warehouse: str = "duckdb"  # duckdb | bigquery
    dataset: str = "wheelwatch"
    bq_project: str | None = None  # None = transport.project
    sms: str = "outbox"  # outbox | twilio
    email: str = "outbox"  # outbox | sendgrid
    twilio_url: str | None = None  # base URL (contract mock); None = the provider
    sendgrid_url: str | None = None


def _q(value: str) -> str:
    return json.dumps(value)  # a TOML basic string is a JSON string for our values


def _cameras(plan: DemoPlan) -> str:
    out = []
    for cam_id, side, _letter in CAMERAS:
        topic = "wheelwatch-" + cam_id.lower().replace("_", "-")
        out.append(f"""[[cameras]]
id = {_q(cam_id)}              # the camera's name; scan files start with it
folder = {_q(cam_id)}          # the fixed folder Ranger Studio writes .dat + .xml into
topic = {_q(topic)}   # Pub/Sub topic of this camera
side = {_q(side)}
model = "ranger_e55"          # ranger_e55 | ranger3 | calibrated
# mm per column (across the tread), mm per sensor row (height), and the line pitch:
# lines_per_rev (profiles per revolution) or mm_per_line (encoder pitch)
calibration = {{ mm_per_col = {plan.mm_per_col}, mm_per_row = {plan.mm_per_row}, \
lines_per_rev = {plan.lines_per_rev} }}
""")
    return "\n".join(out)


def _trains(plan: DemoPlan) -> str:
    out = []
    for n, (train, cams) in enumerate(plan.wheel_map().items(), start=1):
        lines = [f"[trains.{train}]", f"tag = {_q(train_tag(n))}   # RFID tag on the train"]
        lines.append("[trains." + train + ".wheels]   # per camera: wheel ids in passing order")
        for cam, ids in cams.items():
            lines.append(f"{cam} = [{', '.join(_q(i) for i in ids)}]")
        out.append("\n".join(lines) + "\n")
    return "\n".join(out)


def _optional(key: str, value: str | None) -> str:
    return f"{key} = {_q(value)}\n" if value else ""


def render_config(plan: DemoPlan, b: Backends) -> str:
    """The annotated site config TOML of the demo site with backends ``b``."""
    return f"""# WheelWatch site config of the demo site (`make demo`; {b.name} backends).
# Relative paths resolve against this file's folder. Every key can be overridden by an
# environment variable WHEELWATCH__<SECTION>__<KEY> (e.g. WHEELWATCH__CLOUD__SQL_URL).
# Secrets never live here: sections name the environment variable that holds each one.
site_id = {_q(SITE_ID)}
ride = "Demo Coaster"

{_cameras(plan)}
[rfid]
folder = "rfid"        # the reader appends `timestamp,reader_id,tag` lines, a file per day
pass_gap_s = 60        # scans further apart than this belong to different passes
tag_window_s = 120     # a tag read at most this long before the first scan of a pass

{_trains(plan)}
[transport]            # backend: local (embedded durable queue) | pubsub
kind = {_q(b.transport)}
local_path = "state/queue.sqlite"
project = {_q(b.project)}
events_topic = "wheelwatch-events"

[edge]
edge_id = "demo-edge"
tracker_path = "state/edge/pub_tracker.sqlite"
work_dir = "state/edge/work"
quarantine_dir = "quarantine"  # unreadable scans go here with a .reason.txt
retention = "archive"          # after a confirmed publish: delete | archive | keep
archive_dir = "archive"
stable_s = 0.5                 # a file unchanged this long is complete
rescan_s = 2
heartbeat_s = 10
pass_close_s = 20              # a pass missing files closes this long after its last scan
min_free_mb = 100
warn_free_mb = 300

[cloud]                        # backends: blob local|gcs, sql sqlite|postgresql, duckdb|bigquery
blob_kind = {_q(b.blob)}
blob_dir = "state/blobs"
bucket = {_q(b.bucket)}
sql_url = {_q(b.sql_url)}
warehouse_kind = {_q(b.warehouse)}
warehouse_path = "state/warehouse.duckdb"
bq_dataset = {_q(b.dataset)}
{_optional("bq_project", b.bq_project)}work_dir = "state/cloud_work"
# model_dir = "models/my-model"  # default: the model shipped in models/default

[cloud.monitor]
interval_s = 30                # sweep: files past their deadline, silent sources
file_timeout_s = 120           # after a manifest, how long a published file may take
heartbeat_timeout_s = 120

[alerts]                       # score below threshold = bad wheel (the site's rule)
threshold = 70
outbox_path = "state/outbox.jsonl"
grace_s = 60
sms_backend = {_q(b.sms)}      # outbox | twilio
email_backend = {_q(b.email)}  # outbox | sendgrid
dashboard_url = "http://127.0.0.1:8080"

[[alerts.recipients]]
name = "shift-lead"
phone = "+15005550006"
email = "shift.lead@example.com"
channels = ["sms", "email"]

[alerts.twilio]                # secrets: TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN
from_number = "+15005550006"
{_optional("base_url", b.twilio_url)}
[alerts.sendgrid]              # secret: SENDGRID_API_KEY
from_email = "wheelwatch@example.com"
{_optional("base_url", b.sendgrid_url)}
[alerts.delivery]
backoff_s = 0.2

[dashboard]
host = "127.0.0.1"
port = 8080
images_dir = "state/scan_images"
session_secret_env = "WHEELWATCH_DASHBOARD_SECRET"  # signing key of the sessions
users_file = "state/dashboard-users"  # name:role:hash lines (demo user made by the demo)
"""


DEMO_USER = "demo"
LOGIN_FILE = "state/dashboard-login.json"
SECRET_FILE = "state/dashboard-secret"


def write_dashboard_login(root: Path) -> dict[str, str]:
    """A demo sign-in for the dashboard: users file (hash), password and session secret.

    Kept in ``state/`` of the demo site (git-ignored, mode 0600), never in the repository.
    """
    from cloud.dashboard.auth import hash_password

    login = {"user": DEMO_USER, "password": secrets.token_urlsafe(9)}
    users = root / "state" / "dashboard-users"
    users.write_text(f"{DEMO_USER}:crew:{hash_password(login['password'])}\n",
                     encoding="utf-8")
    path = root / LOGIN_FILE
    path.write_text(json.dumps(login) + "\n", encoding="utf-8")
    secret = root / SECRET_FILE
    secret.write_text(secrets.token_urlsafe(32), encoding="utf-8")
    for f in (users, path, secret):
        f.chmod(0o600)
    return login


def read_dashboard_login(root: Path) -> dict[str, str] | None:
    """The demo sign-in written by :func:`write_dashboard_login` (None if absent)."""
    try:
        data = json.loads((root / LOGIN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return {str(k): str(v) for k, v in data.items()}


def is_demo_dir(root: Path) -> bool:
    """Whether ``root`` is a demo site this module made (safe to reset)."""
    return (root / MARKER).exists()


def reset_site(root: Path) -> None:
    """Remove an earlier demo site; refuse a folder the demo did not make."""
    if not root.exists():
        return
    if not is_demo_dir(root):
        raise ConfigError(str(root), "exists but is not a demo site (no marker file); "
                          "move it away or choose another --dir")
    shutil.rmtree(root)


def build_site(root: Path, plan: DemoPlan, backends: Backends | None = None) -> SiteConfig:
    """Create the site folders and ``site.toml`` under ``root``; return the loaded config."""
    b = backends or Backends()
    root.mkdir(parents=True, exist_ok=True)
    for sub in ("rfid", "state", "logs", *(cam for cam, _s, _l in CAMERAS)):
        (root / sub).mkdir(exist_ok=True)
    (root / "site.toml").write_text(render_config(plan, b), encoding="utf-8")
    write_dashboard_login(root)
    (root / MARKER).write_text(json.dumps({
        "created": datetime.now(UTC).isoformat(timespec="seconds"), "backends": b.name,
    }) + "\n", encoding="utf-8")
    return load_config(root / "site.toml", environ={})
