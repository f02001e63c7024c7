"""``python -m cloud.demo`` (``make demo``): the whole inspection on this machine.

Exit codes: 0 every scan scored and every alert sent, 1 the demo did not complete,
2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from schemas.errors import ConfigError, WheelWatchError


def _time(text: str) -> datetime:
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {text!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def build_parser() -> argparse.ArgumentParser:
    """The demo's command line."""
    ap = argparse.ArgumentParser(
        prog="python -m cloud.demo",
        description="Build a demo site in DIR, play ride passes through wheel-sim, "
        "wheel-edge run and wheel-cloud run on the embedded backends, print a summary.",
        epilog="A second run resets DIR (an earlier demo) unless --continue is given.")
    ap.add_argument("--dir", type=Path, default=Path("demo"), help="site folder (default demo)")
    ap.add_argument("--continue", dest="keep", action="store_true",
                    help="add passes to the earlier demo in DIR instead of resetting it")
    ap.add_argument("--passes", type=int, default=None, metavar="N",
                    help="number of passes (default 4: T1, T2, T1, T2)")
    ap.add_argument("--start", type=_time, default=None,
                    help="time of the first tag read, ISO-8601 (default: minutes ago)")
    ap.add_argument("--timeout", type=float, default=900.0, metavar="S",
                    help="give up when the work is not through after S seconds (default 900)")
    ap.add_argument("-q", "--quiet", action="store_true", help="summary only")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    from cloud.demo.plan import DemoPlan
    from cloud.demo.runner import DemoOptions, dashboard_command, run_demo
    from cloud.demo.summary import format_report

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    plan = DemoPlan()
    if args.passes is not None:
        if args.passes < 1:
            print("python -m cloud.demo: --passes must be at least 1", file=sys.stderr)
            return 2
        plan = DemoPlan(passes=tuple(plan.train_ids()[i % plan.trains]
                                     for i in range(args.passes)))
    opts = DemoOptions(root=args.dir, plan=plan, keep=args.keep, start=args.start,
                       timeout_s=args.timeout,
                       say=(lambda _t: None) if args.quiet else
                       (lambda t: print(t, flush=True)))
    try:
        report = run_demo(opts)
    except ConfigError as exc:
        print(f"python -m cloud.demo: {exc}", file=sys.stderr)
        return 2
    except WheelWatchError as exc:
        print(f"python -m cloud.demo: {exc}", file=sys.stderr)
        return 1
    print()
    print(format_report(report, args.dir / "site.toml", dashboard_command(args.dir / "site.toml")))
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
