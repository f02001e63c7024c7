"""``wheel-cloud dashboard --config F``: serve the trend dashboard.

Options: ``--demo-data DAYS`` first fills an *empty* site (no warehouse file yet) with
generated data (see ``cloud.dashboard.synth``) so the dashboard can be tried at once;
``--hash-password`` reads a password on stdin and prints the hash to put into the
user's environment variable or the users file. Exit codes: 0 ok, 1 failure, 2 usage or
configuration error. Runs standalone too: ``python -m cloud.cmd_dashboard --config F``.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from schemas.errors import ConfigError, WheelWatchError

if TYPE_CHECKING:
    from schemas.config import SiteConfig

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The dashboard subcommand's options."""
    p.add_argument("--config", help="site config TOML (required unless --hash-password)")
    p.add_argument("--host", help="override dashboard.host")
    p.add_argument("--port", type=int, help="override dashboard.port")
    p.add_argument("--demo-data", type=int, metavar="DAYS", default=0,
                   help="fill an empty site with DAYS of generated data first")
    p.add_argument("--hash-password", action="store_true",
                   help="read a password on stdin, print its hash, exit")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``dashboard`` to ``wheel-cloud``'s subcommands."""
    p = sub.add_parser("dashboard", help="serve the trend dashboard",
                       description="Serve the trend dashboard (sign-in required).")
    add_arguments(p)
    p.set_defaults(func=run)


def _hash_from_stdin() -> int:
    from cloud.dashboard.auth import hash_password

    pw = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline()
    pw = pw.rstrip("\r\n")
    if len(pw) < 8:
        raise ConfigError("--hash-password", "use a password of at least 8 characters")
    print(hash_password(pw))
    return 0


def _demo_data(cfg: SiteConfig, days: int) -> None:
    import duckdb

    from cloud.dashboard.bootstrap import sql_engine
    from cloud.dashboard.synth import SynthSpec, generate_sql, generate_warehouse
    from cloud.dashboard.synth_images import write_images

    path = cfg.path(cfg.cloud.warehouse_path)
    if path.exists():
        log.info("warehouse %s exists: no demo data generated", path)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    spec = SynthSpec(site=cfg.site_id, days=days)
    con = duckdb.connect(str(path))
    try:
        n = generate_warehouse(con, spec, cfg.cloud.bq_dataset)
        generate_sql(con, sql_engine(cfg.cloud.sql_url, cfg.base_dir), spec,
                     cfg.cloud.bq_dataset)
        write_images(con, spec.site, cfg.path(cfg.dashboard.images_dir), cfg.cloud.bq_dataset,
                     last_runs=30)
    finally:
        con.close()
    log.info("demo data: %d wheel scores over %d days", n, days)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    if args.hash_password:
        return _hash_from_stdin()
    if not args.config:
        raise ConfigError("--config", "the dashboard needs --config site.toml")
    import uvicorn

    from cloud.dashboard.app import create_app
    from cloud.dashboard.bootstrap import build_deps
    from schemas.config import load_config

    cfg = load_config(args.config)
    if args.demo_data:
        _demo_data(cfg, args.demo_data)
    deps = build_deps(cfg)
    host = args.host or cfg.dashboard.host
    port = args.port or cfg.dashboard.port
    log.info("dashboard for site %s on http://%s:%d", cfg.site_id, host, port)
    uvicorn.run(create_app(deps), host=host, port=port, log_level="warning",
                access_log=False)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point (same as ``wheel-cloud dashboard``)."""
    p = argparse.ArgumentParser(prog="wheel-cloud dashboard", description=__doc__.split("\n")[0])
    add_arguments(p)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return run(args)
    except ConfigError as exc:
        print(f"wheel-cloud dashboard: {exc}", file=sys.stderr)
        return 2
    except WheelWatchError as exc:
        print(f"wheel-cloud dashboard: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
