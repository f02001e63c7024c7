"""``wheel-cloud ack ID [--by NAME]`` and ``wheel-cloud alerts-check`` (escalation check).

``ack`` acknowledges an alert so it stops escalating. ``alerts-check`` runs one pass of
the time-driven work (flush passes past their grace time, escalate unacknowledged alerts,
send what a crash left unsent) — for cron, or when no worker is running.

Exit codes: 0 ok, 1 failure (unknown alert, store or provider error), 2 usage/config.
Runs standalone too: ``python -m cloud.cmd_ack ack ABC123 --config site.toml``.
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
    from cloud.alerts.service import AlertService

log = logging.getLogger(__name__)


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``ack`` and ``alerts-check`` on a ``wheel-cloud`` subparsers object."""
    ack = sub.add_parser("ack", help="acknowledge an alert (stops its escalation)",
                         description="Acknowledge alert ID (the code in the SMS/email).")
    ack.add_argument("alert_id", metavar="ID", help="alert code, e.g. K7Q2MX")
    ack.add_argument("--by", default=None, help="who acknowledges (default: login name)")
    ack.add_argument("--config", required=True, help="site config TOML")
    ack.set_defaults(func=run_ack)
    chk = sub.add_parser("alerts-check", help="escalate unacknowledged alerts now",
                         description="Flush passes past grace, escalate, resend leftovers.")
    chk.add_argument("--config", required=True, help="site config TOML")
    chk.set_defaults(func=run_check)


def _service(config: str) -> AlertService:
    from cloud.alerts.bootstrap import build_from_site
    from schemas.config import load_config

    return build_from_site(load_config(config), ticker=False)


def run_ack(args: argparse.Namespace) -> int:
    """Acknowledge one alert; print what was acknowledged."""
    from cloud.alerts.service import UnknownAlertError

    by = args.by or getpass.getuser()
    try:
        alert = _service(args.config).ack(args.alert_id, by)
    except UnknownAlertError as exc:
        print(f"wheel-cloud ack: {exc}", file=sys.stderr)
        return 1
    print(f"{alert.id} acknowledged by {alert.acked_by} at {alert.acked_at:%Y-%m-%d %H:%M}Z "
          f"({alert.kind}, {alert.title})")
    return 0


def run_check(args: argparse.Namespace) -> int:
    """One pass of grace flush + escalation; print alerts still open."""
    service = _service(args.config)
    service.tick()
    open_alerts = [a for a in service.store.alerts() if a.status == "open"]
    for a in open_alerts:
        print(f"{a.id} open level {a.level} next escalation {a.next_escalation_at}: {a.title}")
    print(f"{len(open_alerts)} alert(s) open, not acknowledged")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point (the same subcommands as ``wheel-cloud``)."""
    parser = argparse.ArgumentParser(prog="wheel-cloud", description=__doc__.split("\n")[0])
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"wheel-cloud {args.command}: {exc}", file=sys.stderr)
        return 2
    except WheelWatchError as exc:
        print(f"wheel-cloud {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
