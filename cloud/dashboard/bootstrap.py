"""Build the dashboard's dependencies from the site config (never at import time)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import Engine, create_engine

from cloud.dashboard.app import DashboardDeps
from cloud.dashboard.auth import SessionSigner, UserStore
from cloud.dashboard.bigquery_reads import BigQueryTrends
from cloud.dashboard.images import LocalScanImages
from cloud.dashboard.render import RenderedScanImages
from cloud.dashboard.sql_ops import SqlOps
from cloud.dashboard.store import DashboardStore
from cloud.dashboard.warehouse_reads import DuckDBTrends
from schemas.config import SiteConfig
from schemas.errors import ConfigError


def sql_engine(url: str, base_dir: Path) -> Engine:
    """SQLAlchemy engine; a relative SQLite path resolves against the config's folder."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        rel = url.removeprefix("sqlite:///")
        if rel and rel != ":memory:" and not Path(rel).is_absolute():
            url = f"sqlite:///{(base_dir / rel).resolve()}"
    if url.startswith("sqlite"):
        return create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
    return create_engine(url, pool_pre_ping=True)


def build_trends(cfg: SiteConfig) -> DuckDBTrends | BigQueryTrends:
    """The warehouse reader: DuckDB file (default) or BigQuery (emulator if configured)."""
    c = cfg.cloud
    if c.warehouse_kind != "bigquery":
        return DuckDBTrends(cfg.path(c.warehouse_path), cfg.site_id, ds=c.bq_dataset)
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    project = c.bq_project or cfg.transport.project
    endpoint = os.environ.get("BIGQUERY_EMULATOR_HOST")
    client = (bigquery.Client(project=project, credentials=AnonymousCredentials(),
                              client_options=ClientOptions(api_endpoint=endpoint))
              if endpoint else bigquery.Client(project=project))
    return BigQueryTrends(client, c.bq_dataset, cfg.site_id)


def _images(cfg: SiteConfig, trends: DuckDBTrends | BigQueryTrends) -> RenderedScanImages:
    """Cached images, rendered from the blob store's CSVs and the worker's model."""
    from cloud.blob import object_key
    from cloud.bootstrap import REPO_ROOT, build_blobs

    model_dir = cfg.path(cfg.cloud.model_dir) if cfg.cloud.model_dir else (
        REPO_ROOT / "models" / "default")
    return RenderedScanImages(LocalScanImages(cfg.path(cfg.dashboard.images_dir)), trends,
                              build_blobs(cfg), cfg.site_id,
                              model_dir if model_dir.exists() else None, object_key)


def build_deps(cfg: SiteConfig, environ: Mapping[str, str] | None = None) -> DashboardDeps:
    """Users, session signer, warehouse reader and SQL store for ``cfg``'s site."""
    env = os.environ if environ is None else environ
    dcfg = cfg.dashboard
    secret = env.get(dcfg.session_secret_env, "")
    if not secret:
        raise ConfigError("dashboard.session_secret_env",
                          f"set ${dcfg.session_secret_env} to a random secret (32+ chars)")
    users = UserStore.from_config(dcfg, env, cfg.base_dir)
    if len(users) == 0:
        raise ConfigError("dashboard.users",
                          "no user can sign in: give each a password hash (see --hash-password)")
    trends = build_trends(cfg)
    trends.install_views()
    store = DashboardStore(trends, SqlOps(sql_engine(cfg.cloud.sql_url, cfg.base_dir),
                                          cfg.site_id))
    return DashboardDeps(queries=store, actions=store, images=_images(cfg, trends), users=users,
                         signer=SessionSigner(secret, dcfg.session_max_age_s), cfg=dcfg,
                         site=cfg.site_id, threshold=cfg.alerts.threshold,
                         severity=cfg.alerts.severity)
