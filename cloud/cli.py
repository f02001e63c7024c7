"""``wheel-cloud``: the cloud entry point (a dispatcher of subcommands).

Built in: ``run``, ``provision``, ``status``, ``validate-config``, ``label``.
Other parts add their own subcommands as modules listed in :data:`PLUGINS`; each such
module defines ``register(subparsers) -> None`` that adds its parser and sets
``func=callable(args) -> int`` on it (``args.config`` is the config path).
Exit codes: 0 ok, 1 failure, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from schemas.config import SiteConfig, load_config
from schemas.errors import ConfigError, WheelWatchError

log = logging.getLogger(__name__)
PLUGINS = ("cloud.alerts.cli", "cloud.dashboard.cli")


def _config(args: argparse.Namespace) -> SiteConfig:
    return load_config(args.config)


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate the config and print a summary."""
    cfg = _config(args)
    print(f"ok: site {cfg.site_id}, cameras {[c.id for c in cfg.cameras]}, transport "
          f"{cfg.transport.kind}, blobs {cfg.cloud.blob_kind}, warehouse "
          f"{cfg.cloud.warehouse_kind}, sql {cfg.cloud.sql_url.split(':')[0]}")
    return 0


def cmd_provision(args: argparse.Namespace) -> int:
    """Create topics, subscriptions, bucket, database schema, dataset, tables, views."""
    from cloud import bootstrap as b
    from cloud.provision import provision
    cfg = _config(args)
    b.build_db(cfg)
    transport = b.build_transport(cfg)
    try:
        report = provision(cfg, transport, b.build_blobs(cfg), b.build_warehouse(cfg))
    finally:
        transport.close()
    for what in report.created:
        print(f"created  {what}")
    for what in report.existing:
        print(f"exists   {what}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Print backlog, last file per camera, tracker counts and dead letters."""
    from cloud import bootstrap as b
    from cloud.status import collect, render
    cfg = _config(args)
    _, sessions = b.build_db(cfg)
    transport = b.build_transport(cfg)
    try:
        st = collect(cfg, transport, sessions)
    finally:
        transport.close()
    print(json.dumps(st, indent=1) if args.json else render(st))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run a worker until SIGINT/SIGTERM."""
    from cloud import bootstrap as b
    from cloud.worker import Topology, Worker, WorkerParts
    cfg = _config(args)
    _, sessions = b.build_db(cfg)
    pipe, mon, flow = b.settings(cfg)
    blobs = b.build_blobs(cfg)
    parts = WorkerParts(
        sessions=sessions, transport=b.build_transport(cfg), blobs=blobs,
        warehouse=b.build_warehouse(cfg), scorer=b.build_scorer(cfg),
        sink=b.build_sink(cfg, b.utc_now, blobs), clock=b.utc_now, pipeline_settings=pipe,
        monitor_settings=mon, flow=flow, file_timeout_s=cfg.cloud.monitor.file_timeout_s,
        disk_low_mb=cfg.edge.warn_free_mb,
        monitor_interval_s=cfg.cloud.monitor.interval_s,
        sides={c.id: c.side for c in cfg.cameras}, positions=b.positions(cfg))
    topo = Topology([(s.name, s.topic, s.camera) for s in b.subscriptions(cfg)],
                    cfg.cloud.dead_letter_suffix)
    worker = Worker(parts, topo)

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        worker.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("worker %s starting", pipe.owner)
    try:
        worker.run()
    finally:
        parts.transport.close()
    return 0


def cmd_label(args: argparse.Namespace) -> int:
    """Record an inspection label, or export labels for retraining."""
    from cloud import labels
    cfg = _config(args)
    if args.target == "export":
        if not args.out:
            raise ConfigError("--out", "label export needs --out FILE.csv")
        n = labels.export(cfg, Path(args.out))
        print(f"wrote {n} labels to {args.out}")
        return 0
    if args.verdict not in ("good", "bad") or not args.who:
        raise ConfigError("label", "usage: label WHEEL good|bad --who NAME [--note TEXT]")
    label_id = labels.record(cfg, args.target, args.verdict, args.who, args.note or "",
                             args.file_id)
    print(f"label {label_id}: {args.target} {args.verdict} by {args.who}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every built-in and plug-in subcommand."""
    p = argparse.ArgumentParser(prog="wheel-cloud", description=__doc__.split("\n")[0])
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    def add(name: str, fn: object, help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.add_argument("--config", required=True, help="site config TOML")
        sp.set_defaults(func=fn)
        return sp

    add("run", cmd_run, "pull, reassemble, store, score and write until stopped")
    add("provision", cmd_provision, "create topics, subscriptions, bucket, tables (idempotent)")
    st = add("status", cmd_status, "backlog, last file per camera, tracker counts, dead letters")
    st.add_argument("--json", action="store_true", help="machine-readable output")
    add("validate-config", cmd_validate, "check the config file and exit")
    lb = add("label", cmd_label,
             "record an inspection label (WHEEL good|bad --who NAME) or 'label export --out F'")
    lb.add_argument("target", help="wheel id, or 'export'")
    lb.add_argument("verdict", nargs="?", help="good | bad")
    lb.add_argument("--who", help="inspector's name")
    lb.add_argument("--note", help="free text")
    lb.add_argument("--file-id", help="the scan the verdict is about (default: latest)")
    lb.add_argument("--out", help="labels CSV to write (export)")
    for mod in PLUGINS:
        try:
            importlib.import_module(mod).register(sub)
        except ImportError:
            continue
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``wheel-cloud``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"wheel-cloud: {exc}", file=sys.stderr)
        return 2
    except WheelWatchError as exc:
        print(f"wheel-cloud: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
