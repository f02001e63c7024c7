"""Dashboard section: where it listens, who may sign in, where its secrets come from.

Secrets never live in the site file: each user's password hash comes from the
environment variable the user names (``password_hash_env``) or from a secrets file
outside the repository (``users_file``: one ``name:role:hash`` line per user, ``#``
comments). The session signing key comes from the environment (``session_secret_env``).
Make a hash with ``wheel-cloud dashboard --hash-password`` (reads the password on stdin).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from schemas.config.base import Section

USER_NAME_PATTERN = r"^[A-Za-z0-9_.@-]{1,64}$"
ENV_NAME_PATTERN = r"^[A-Z_][A-Z0-9_]{0,127}$"


class DashboardUser(Section):
    """A person who may sign in: viewers read, crew may also acknowledge and label."""

    name: str = Field(pattern=USER_NAME_PATTERN)
    role: Literal["viewer", "crew"] = "viewer"
    password_hash_env: str = Field(
        pattern=ENV_NAME_PATTERN, description="env var holding the password hash"
    )


class DashboardConfig(Section):
    """Where the trend dashboard listens and how people sign in."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    base_url: str = Field(
        default="http://127.0.0.1:8080",
        pattern=r"^https?://[^\s\"'<>]+$",
        description="public URL of the dashboard (links in alerts)",
    )
    session_secret_env: str = Field(
        default="WHEELWATCH_DASHBOARD_SECRET", pattern=ENV_NAME_PATTERN
    )
    session_max_age_s: int = Field(default=12 * 3600, ge=60)
    secure_cookies: bool = Field(default=False, description="set when served over HTTPS")
    users: list[DashboardUser] = Field(default_factory=list)
    users_file: Path | None = Field(
        default=None, description="secrets file with name:role:hash lines (not in the repo)"
    )
    images_dir: Path = Field(
        default=Path("state/scan_images"),
        description="rendered scan images: <images_dir>/<file_id>/<heatmap|range|intensity>.png",
    )
    heatmap_runs: int = Field(default=60, ge=5, le=500)
    trend_runs: int = Field(default=500, ge=10, le=5000)
    trend_days: int = Field(default=400, ge=7, le=3660)
    scans_per_page: int = Field(default=12, ge=1, le=100)
